import Foundation
import Synchronization

/// What a consumer owns right now and where each partition should continue.
///
/// Updated from the rebalance callback (on the poll thread) and read by
/// commits and by retention-loss detection; a lock because the C callback
/// cannot suspend.
final class ConsumerPartitionTracker: Sendable {
    private struct State {
        var assigned: Set<KafkaTopicPartition> = []
        /// Counts assignments, so a revoke and re-assign between two looks
        /// is still seen.
        var generation = 0
        /// Counts assignments and revocations: any rebalance callback.
        var rebalances = 0
        /// The offset the next record of a partition should have, when known.
        var nextExpected: [KafkaTopicPartition: Int64] = [:]
    }

    private let state = Mutex(State())
    /// Held by a commit while it runs and by the rebalance callback while it
    /// revokes, so no commit for a partition goes out after it was taken away.
    /// Recursive because closing the consumer revokes on the same thread.
    let revocationGate = NSRecursiveLock()
    /// Called after partitions are assigned, so the consumer can compare their
    /// committed offsets with the log start. Set once, before the first poll.
    let onAssigned = Mutex<(@Sendable (ConsumerPartitionTracker, [KafkaTopicPartition]) -> Void)?>(nil)
    /// What the rebalance callback commits for partitions it revokes, and
    /// whom it tells what Kafka confirmed (`KafkaConsumer.commitOnRevocation`).
    let revocationCommits = Mutex<RevocationCommits?>(nil)

    struct RevocationCommits: Sendable {
        let offsets: @Sendable ([KafkaTopicPartition]) -> [KafkaCommitOffset]
        let confirmed: @Sendable ([KafkaCommitOffset]) -> Void
    }

    var assigned: Set<KafkaTopicPartition> { state.withLock { $0.assigned } }

    var generation: Int { state.withLock { $0.generation } }

    var rebalances: Int { state.withLock { $0.rebalances } }

    func assign(_ partitions: [KafkaTopicPartition]) {
        state.withLock { state in
            state.generation += 1
            state.rebalances += 1
            for partition in partitions {
                state.assigned.insert(partition)
                state.nextExpected[partition] = nil
            }
        }
        if let onAssigned = onAssigned.withLock({ $0 }) { onAssigned(self, partitions) }
    }

    func revoke(_ partitions: [KafkaTopicPartition]) {
        state.withLock { state in
            state.rebalances += 1
            for partition in partitions {
                state.assigned.remove(partition)
                state.nextExpected[partition] = nil
            }
        }
    }

    func revokeAll() {
        state.withLock { state in
            let generation = state.generation
            state = State()
            state.generation = generation
        }
    }

    /// Notes a received record; returns the offset that was expected instead
    /// when the record skips ahead of it (a possible retention loss).
    func observe(_ topicPartition: KafkaTopicPartition, offset: Int64) -> Int64? {
        state.withLock { state in
            let expected = state.nextExpected[topicPartition]
            state.nextExpected[topicPartition] = offset + 1
            if let expected, offset > expected { return expected }
            return nil
        }
    }

    /// Sets where a freshly assigned partition continues, unless records have
    /// already told us. Returns false when it was already known.
    func setStart(_ topicPartition: KafkaTopicPartition, offset: Int64) -> Bool {
        state.withLock { state in
            guard state.assigned.contains(topicPartition), state.nextExpected[topicPartition] == nil else { return false }
            state.nextExpected[topicPartition] = offset
            return true
        }
    }
}
