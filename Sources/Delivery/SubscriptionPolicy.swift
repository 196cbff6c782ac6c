import Foundation
import Kafka
import RegistryEvents

/// Event Grid's delivery rules: only 200–204 deliver; 400, 401, 403 and 413
/// are not retried; the rest follows the subscription's retry policy
/// (attempts and time to live) on Event Grid's ladder, with jitter. 404 is
/// retried (Event Grid's documents disagree; a route that is briefly
/// missing during a deploy should not lose events).
struct SubscriptionPolicy: DeliveryPolicy {
    static let deliveredStatuses: ClosedRange<Int> = 200...204
    static let terminalStatuses: Set<Int> = [400, 401, 403, 413]

    let subscription: EventSubscription
    let schedule: RetrySchedule
    let jitter: Double
    let defaultDeadLetterTopic: String

    init(subscription: EventSubscription, schedule: RetrySchedule, jitter: Double, defaultDeadLetterTopic: String) {
        self.subscription = subscription
        self.schedule = schedule
        self.jitter = jitter
        self.defaultDeadLetterTopic = defaultDeadLetterTopic
    }

    func isDelivered(_ outcome: AttemptOutcome) -> Bool {
        outcome.statusCode.map(Self.deliveredStatuses.contains) ?? false
    }

    func terminalReason(_ outcome: AttemptOutcome) -> String? {
        guard let status = outcome.statusCode, Self.terminalStatuses.contains(status) else { return nil }
        return "NonRetriableStatusCode: HTTP \(status) is not retried"
    }

    /// One dead letter per event: the event as it was delivered, plus Event
    /// Grid's dead-letter properties (camelCase in Event Grid schema, lower
    /// case extension attributes in CloudEvents).
    func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord] {
        let topic = subscription.deadLetterDestination?.properties.topic ?? defaultDeadLetterTopic
        return Self.deadLetteredEvents(record, schema: subscription.eventDeliverySchema, outcome: outcome, reason: reason, at: now)
            .map { event in
                KafkaProducerRecord(
                    topic: topic, key: Array(record.partitionKey.utf8), value: event.jsonBytes,
                    headers: DeadLetterHeaders(
                        .subscription(
                            scope: subscription.scope.description, subscription: subscription.name,
                            schema: subscription.eventDeliverySchema),
                        reason: reason
                    ).headers.map(KafkaHeader.init))
            }
    }

    static func deadLetteredEvents(
        _ record: DeliveryRecord, schema: EventDeliverySchema, outcome: AttemptOutcome, reason: String, at now: Date
    ) -> [JSONValue] {
        let fields: [(String, JSONValue?)] = [
            ("deadLetterReason", .string(DeadLetterFields.reasonCode(reason))),
            ("deliveryAttempts", .number(Double(record.attempt))),
            ("lastDeliveryOutcome", .string(DeadLetterFields.outcomeName(outcome))),
            ("lastHttpStatusCode", outcome.statusCode.map { .number(Double($0)) }),
            ("publishTime", .string(DeadLetterFields.timestamp(milliseconds: record.startMilliseconds))),
            ("lastDeliveryAttemptTime", .string(DeadLetterFields.timestamp(now))),
        ]
        return SubscriptionBody.events(in: record.body).map { event in
            guard case .object(var members) = event else { return event }
            for (name, value) in fields {
                guard let value else { continue }
                members[schema == .cloudEvents ? name.lowercased() : name] = value
            }
            return .object(members)
        }
    }
}

/// The body of a subscription delivery: Event Grid schema is always an
/// array; CloudEvents is one object alone or an array as a batch.
enum SubscriptionBody {
    static let eventGridContentType = "application/json"
    static let cloudEventContentType = "application/cloudevents+json; charset=utf-8"
    static let cloudEventBatchContentType = "application/cloudevents-batch+json; charset=utf-8"

    static func render(_ events: [JSONValue], schema: EventDeliverySchema) -> (body: String, contentType: String) {
        switch (schema, events.count) {
        case (.cloudEvents, 1): (String(decoding: events[0].jsonBytes, as: UTF8.self), cloudEventContentType)
        case (.cloudEvents, _): (String(decoding: JSONValue.array(events).jsonBytes, as: UTF8.self), cloudEventBatchContentType)
        case (.eventGrid, _): (String(decoding: JSONValue.array(events).jsonBytes, as: UTF8.self), eventGridContentType)
        }
    }

    static func events(in body: String) -> [JSONValue] {
        switch JSONValue(parsing: Array(body.utf8)) {
        case .array(let events): events
        case .some(let event): [event]
        case nil: []
        }
    }
}
