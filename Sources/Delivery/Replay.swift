import Foundation
import Kafka
import Logging
import RegistryEvents

/// Re-delivers the events of a time window to one webhook or subscription:
/// reads `.acr` (webhooks), `.cloudevents` or a custom topic (subscriptions)
/// between two times, keeps what the target matches now, and writes each as
/// a retry record with a fresh attempt count and the event's original id.
/// The records are due one after another at `ratePerSecond`, so the retry
/// dispatcher sends them at that rate, through the target's lane and
/// breaker, with its retries and dead-lettering, however large the window.
public struct Replayer: Sendable {
    public enum Target: Sendable {
        case webhook(Webhook)
        case subscription(EventSubscription)
    }

    /// What a replay did: what it read and what it scheduled.
    public struct Outcome: Codable, Sendable, Equatable {
        /// Records of the window read.
        public var scanned: Int
        /// Events the target matched: one delivery each.
        public var replayed: Int
        /// When the last of them is due.
        public var lastDueAt: Date?
        /// False when the window held more than `maximumEvents` for the
        /// target: the first ones found were replayed, the rest were not.
        public var complete: Bool
    }

    let window: TopicWindow
    let settlement: DeliverySettlement
    let layout: TopicLayout

    public init(admin: KafkaAdmin, client: KafkaClientConfiguration, settlement: DeliverySettlement, layout: TopicLayout, logger: Logger) {
        window = TopicWindow(admin: admin, client: client, logger: logger)
        self.settlement = settlement
        self.layout = layout
    }

    /// The biggest window one replay takes, in events matched: a larger
    /// one is replayed in several calls with narrower windows.
    public static let maximumEvents = 100_000

    /// - Parameter progress: called after every batch written, with the outcome so far.
    /// - Throws: `TopicWindowError`, or Kafka's error (the deliveries
    ///   written before it stay scheduled).
    public func replay(
        _ target: Target, since: Date, until: Date?, ratePerSecond: Int, progress: @Sendable (Outcome) -> Void = { _ in }
    ) async throws -> Outcome {
        let topic: String
        switch target {
        case .webhook: topic = layout.acr
        case .subscription(let subscription):
            topic = subscription.scope.kind == .registry ? layout.cloudEvents : layout.customTopic(subscription.scope.name)
        }
        guard let ranges = try await window.ranges(of: topic, since: since, until: until) else { throw TopicWindowError.noSuchTopic(topic) }
        let reader = SubscriptionEventReader(layout: layout)
        let start = Date()
        let spacing = 1000.0 / Double(max(1, ratePerSecond))
        var outcome = Outcome(scanned: 0, replayed: 0, lastDueAt: nil, complete: true)
        var pending: [KafkaProducerRecord] = []
        func flush() async throws {
            guard !pending.isEmpty else { return }
            _ = try await settlement.producer.send(contentsOf: pending)
            pending.removeAll(keepingCapacity: true)
            progress(outcome)
        }
        for range in ranges where outcome.complete {
            _ = try await window.read(range.partition, from: range.start, to: range.end) { record in
                outcome.scanned += 1
                guard TopicWindow.contains(record, since: since, until: until) else { return true }
                let due = start.addingTimeInterval(Double(outcome.replayed) * spacing / 1000)
                guard let delivery = Self.delivery(of: record, to: target, reader: reader, due: due) else { return true }
                guard outcome.replayed < Self.maximumEvents else {
                    outcome.complete = false
                    return false
                }
                outcome.replayed += 1
                outcome.lastDueAt = due
                pending.append(settlement.retryRecord(delivery, wait: .milliseconds(max(0, Int64(due.timeIntervalSince(start) * 1000)))))
                if pending.count >= 500 { try await flush() }
                return true
            }
        }
        try await flush()
        return outcome
    }

    /// The delivery `record` makes for `target`, due at `due`; `nil` when the target does not take it.
    static func delivery(of record: KafkaConsumerRecord, to target: Target, reader: SubscriptionEventReader, due: Date) -> DeliveryRecord? {
        let dueMilliseconds = DeliveryRecord.milliseconds(due)
        switch target {
        case .webhook(let webhook):
            guard let event = WebhookDispatcher.event(from: record), event.registry == webhook.registry, webhook.matches(event) else { return nil }
            var delivery = DeliveryRecord(
                targetKind: .webhook, registry: event.registry, target: webhook.name, eventID: event.id, attempt: 1,
                dueAtMilliseconds: dueMilliseconds, firstAttemptAtMilliseconds: dueMilliseconds,
                body: String(decoding: record.value, as: UTF8.self), originTopic: record.topic, originPartition: record.partition,
                originOffset: record.offset)
            delivery.targetCreatedAtMilliseconds = DeliveryRecord.milliseconds(webhook.createdAt)
            delivery.traceparent = DeliveryTracing.traceparent(of: record)
            return delivery
        case .subscription(let subscription):
            guard let (scope, event) = reader.event(from: record), scope == subscription.scope, subscription.isActive,
                subscription.matches(event.envelope)
            else { return nil }
            let rendered = event.rendered(as: subscription.eventDeliverySchema)
            let (body, contentType) = SubscriptionBody.render([rendered], schema: subscription.eventDeliverySchema)
            var delivery = DeliveryRecord(
                targetKind: .subscription, registry: scope.kind == .registry ? scope.name : "", target: subscription.name,
                eventID: rendered["id"]?.stringValue ?? "", attempt: 1, dueAtMilliseconds: dueMilliseconds,
                firstAttemptAtMilliseconds: dueMilliseconds, body: body, originTopic: record.topic, originPartition: record.partition,
                originOffset: record.offset, scope: scope.description, contentType: contentType, eventCount: 1)
            delivery.targetCreatedAtMilliseconds = DeliveryRecord.milliseconds(subscription.createdAt)
            delivery.traceparent = DeliveryTracing.traceparent(of: record)
            return delivery
        }
    }
}
