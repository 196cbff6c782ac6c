import Kafka
import Synchronization

/// The offset trackers of every partition a dispatcher reads, and what has
/// become committable since Kafka last confirmed a commit.
final class CommitCoordinator: Sendable {
    private struct State {
        var trackers: [KafkaTopicPartition: OffsetTracker] = [:]
        /// Offsets Kafka confirmed (never one merely sent).
        var committed: [KafkaTopicPartition: Int64] = [:]
    }

    private let state = Mutex(State())
    /// Deliveries (record × target) received and not yet settled: what the
    /// dispatch loop bounds, so a record going to 100 targets weighs 100.
    let pendingDeliveries = Atomic<Int>(0)

    func start(_ record: KafkaConsumerRecord) {
        state.withLock { $0.trackers[record.topicPartition, default: OffsetTracker()].start(record.offset) }
    }

    func complete(_ record: KafkaConsumerRecord) {
        state.withLock { $0.trackers[record.topicPartition]?.complete(record.offset) }
    }

    var inFlight: Int { state.withLock { $0.trackers.values.reduce(0) { $0 + $1.inFlightCount } } }

    /// Offsets that moved past what Kafka last confirmed. A commit that fails
    /// leaves them here, so the next pass tries again.
    func committable() -> [KafkaCommitOffset] {
        state.withLock { state in
            state.trackers.compactMap { partition, tracker in
                guard let offset = tracker.committable, offset != state.committed[partition] else { return nil }
                return KafkaCommitOffset(topicPartition: partition, offset: offset)
            }
        }
    }

    /// What Kafka confirmed.
    func confirm(_ offsets: [KafkaCommitOffset]) {
        state.withLock { state in
            for offset in offsets { state.committed[offset.topicPartition] = offset.offset }
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
