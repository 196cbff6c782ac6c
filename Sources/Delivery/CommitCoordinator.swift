import Kafka
import Synchronization

/// The offset trackers of every partition a dispatcher reads, and what has
/// become committable since the last commit.
final class CommitCoordinator: Sendable {
    private struct State {
        var trackers: [KafkaTopicPartition: OffsetTracker] = [:]
        var committed: [KafkaTopicPartition: Int64] = [:]
    }

    private let state = Mutex(State())

    func start(_ record: KafkaConsumerRecord) {
        state.withLock { $0.trackers[record.topicPartition, default: OffsetTracker()].start(record.offset) }
    }

    func complete(_ record: KafkaConsumerRecord) {
        state.withLock { $0.trackers[record.topicPartition]?.complete(record.offset) }
    }

    var inFlight: Int { state.withLock { $0.trackers.values.reduce(0) { $0 + $1.inFlightCount } } }

    /// Offsets that moved since the last call; they are taken as committed.
    func takeCommittable() -> [KafkaCommitOffset] {
        state.withLock { state in
            var offsets: [KafkaCommitOffset] = []
            for (partition, tracker) in state.trackers {
                guard let offset = tracker.committable, offset != state.committed[partition] else { continue }
                state.committed[partition] = offset
                offsets.append(KafkaCommitOffset(topicPartition: partition, offset: offset))
            }
            return offsets
        }
    }

    /// Forgets partitions this consumer no longer owns.
    func retain(only owned: Set<KafkaTopicPartition>) {
        state.withLock { state in
            state.trackers = state.trackers.filter { owned.contains($0.key) }
            state.committed = state.committed.filter { owned.contains($0.key) }
        }
    }
}
