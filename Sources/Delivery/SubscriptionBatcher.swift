import Kafka
import RegistryEvents
import Synchronization

/// Gathers each subscription's events into batches as Event Grid makes them:
/// at most `maxEventsPerBatch` events, within `preferredBatchSizeInKilobytes`
/// (an event larger than that goes alone), sent once full or once the first
/// event has waited `linger`.
final class SubscriptionBatcher: Sendable {
    struct Batch {
        var subscription: EventSubscription
        var events: [JSONValue] = []
        /// The size of the batch as a JSON array.
        var bytes = 0
        var completions: [RecordLifecycle] = []
        /// The first event's record: where the batch came from, for the audit trail.
        var origin: KafkaConsumerRecord
        var startedAt: ContinuousClock.Instant
        /// For ordered (`perKey`) subscriptions: the one key every event of
        /// the batch has.
        var orderingKey: String? = nil
    }

    /// Batches close at this size whatever the preferred size: a batch that
    /// fails is kept, escaped, inside a retry record, which must stay under
    /// Kafka's usual 1 MB record limit.
    static let maxBatchBytes = 512 * 1024

    private let linger: Duration
    private let pending = Mutex<[String: Batch]>([:])

    init(linger: Duration) {
        self.linger = linger
    }

    /// Adds `event` (already in the subscription's schema); returns the
    /// batches that are ready because of it.
    /// - Parameter orderingKey: for ordered subscriptions, the record's key:
    ///   a batch then holds one key's events only.
    func add(
        _ event: JSONValue, to subscription: EventSubscription, completion: RecordLifecycle, origin: KafkaConsumerRecord,
        orderingKey: String? = nil
    ) -> [Batch] {
        let key = "\(subscription.scope)/\(subscription.name)" + (orderingKey.map { "|\($0)" } ?? "")
        let size = event.jsonBytes.count
        let limit = min(subscription.preferredBatchSizeInKilobytes * 1024, Self.maxBatchBytes)
        return pending.withLock { pending in
            var ready: [Batch] = []
            if var batch = pending[key] {
                // A changed subscription, or an event that would overfill, closes the open batch.
                if batch.subscription != subscription || batch.bytes + size + 1 > limit {
                    ready.append(batch)
                    pending[key] = nil
                } else {
                    batch.events.append(event)
                    batch.bytes += size + 1
                    batch.completions.append(completion)
                    pending[key] = batch
                    if batch.events.count >= subscription.maxEventsPerBatch {
                        ready.append(batch)
                        pending[key] = nil
                    }
                    return ready
                }
            }
            let batch = Batch(
                subscription: subscription, events: [event], bytes: size + 2, completions: [completion], origin: origin,
                startedAt: .now, orderingKey: orderingKey)
            if subscription.maxEventsPerBatch <= 1 || size + 2 >= limit {
                ready.append(batch)
            } else {
                pending[key] = batch
            }
            return ready
        }
    }

    /// The batches whose first event has waited long enough (all of them
    /// when `everything`, at shutdown).
    func due(everything: Bool = false) -> [Batch] {
        let now = ContinuousClock.now
        return pending.withLock { pending in
            let ready = pending.filter { everything || now - $0.value.startedAt >= linger }
            for key in ready.keys { pending[key] = nil }
            return Array(ready.values)
        }
    }
}
