import Kafka
import Synchronization

/// One Kafka record's way through a dispatcher, as one named thing:
/// received (its offset is now in flight and holds its partition's commit),
/// then one outcome per target it goes to (delivered, retrying,
/// dead-lettered, skipped), then settled once every outcome is durable, and
/// so committable. It owns the start/complete pairing of the record's
/// offset; nothing else completes an offset.
///
/// An outcome that is not durable (the work was cancelled before Kafka
/// acknowledged) never settles the record: its offset stays in flight, so
/// nothing past it is committed and the record is read again after a restart.
final class RecordLifecycle: Sendable {
    private struct State {
        var waiting: Int
        var outcomes: [DeliverySettlement.Result] = []
        var failedDurability = false
        var settled = false
    }

    let record: KafkaConsumerRecord
    private let commits: CommitCoordinator
    private let state: Mutex<State>

    /// Receives `record`; `targets` outcomes will settle it. With no targets
    /// (nothing matched, or not an event) it is settled at once.
    init(_ record: KafkaConsumerRecord, targets: Int, commits: CommitCoordinator) {
        self.record = record
        self.commits = commits
        state = Mutex(State(waiting: targets))
        commits.start(record)
        commits.pendingDeliveries.add(targets, ordering: .relaxed)
        if targets == 0 { settleNow() }
    }

    /// One more target found after receiving (a batch the record joins).
    func expectOneMore() {
        state.withLock { $0.waiting += 1 }
        commits.pendingDeliveries.add(1, ordering: .relaxed)
    }

    /// One target's outcome; one still waiting for Kafka counts once Kafka
    /// acknowledged it (and stays pending, within the dispatcher's bound,
    /// until then).
    func record(_ settled: DeliverySettlement.Settled) {
        if let acknowledgement = settled.acknowledgement {
            acknowledgement.whenDurable { [self] durable in
                var known = settled
                known.acknowledgement = nil
                known.isDurable = durable
                record(known)
            }
            return
        }
        commits.pendingDeliveries.subtract(1, ordering: .relaxed)
        let done = state.withLock { state -> Bool in
            state.outcomes.append(settled.result)
            if !settled.isDurable { state.failedDurability = true }
            state.waiting -= 1
            guard state.waiting == 0, !state.failedDurability, !state.settled else { return false }
            state.settled = true
            return true
        }
        if done { commits.complete(record) }
    }

    /// What the record came to so far, for tests and logs.
    var outcomes: [DeliverySettlement.Result] { state.withLock { $0.outcomes } }

    private func settleNow() {
        state.withLock { $0.settled = true }
        commits.complete(record)
    }
}
