import Foundation
import Kafka
import RegistryEvents

/// A dead letter as the API shows it: where it is (its id), who gave it up
/// and why, and what it carries. Read from a record of a dead-letter topic,
/// whose headers (`DeadLetterHeaders`) say which kind it is.
public struct DeadLetter: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A webhook delivery past its last attempt or its time to live.
        case webhook
        /// One event of a subscription's delivery.
        case subscription
        /// Malformed events of a Distribution envelope, refused at ingest.
        case ingest
        /// A record Kafka refused, replaced by a pointer to the event's origin.
        case undeliverable
    }

    /// `<partition>-<offset>` on the server's dead-letter topic;
    /// `<topic>:<partition>-<offset>` on a subscription's own one.
    public var id: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// When Kafka took it.
    public var deadLetteredAt: Date
    public var kind: Kind
    public var registry: String?
    /// A subscription's scope: `registry/<r>` or `topic/<t>`.
    public var scope: String?
    /// The schema a subscription's event was delivered in.
    public var schema: EventDeliverySchema?
    /// The webhook or subscription it was for.
    public var target: String?
    public var eventID: String?
    /// Event Grid's reason code and our explanation, e.g.
    /// `MaxDeliveryAttemptsExceeded: …`.
    public var reason: String
    public var deliveryAttempts: Int?
    public var lastDeliveryOutcome: String?
    public var lastHttpStatusCode: Int?
    /// What a redrive sends again: the webhook's payload, or the
    /// subscription's event (without the dead-letter fields). `nil` for
    /// ingest and undeliverable ones, which cannot be redriven.
    public var event: JSONValue?

    /// Whether it can go back to its target.
    public var canRedrive: Bool { (kind == .webhook || kind == .subscription) && target != nil && event != nil }

    public static func id(topic: String, partition: Int32, offset: Int64, defaultTopic: String) -> String {
        topic == defaultTopic ? "\(partition)-\(offset)" : "\(topic):\(partition)-\(offset)"
    }

    /// The topic, partition and offset an id names; `nil` when malformed.
    public static func location(of id: String, defaultTopic: String) -> (topic: String, partition: Int32, offset: Int64)? {
        let (topic, position): (String, Substring) =
            if let colon = id.lastIndex(of: ":") { (String(id[..<colon]), id[id.index(after: colon)...]) } else { (defaultTopic, id[...]) }
        let parts = position.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, !topic.isEmpty, let partition = Int32(parts[0]), let offset = Int64(parts[1]), partition >= 0,
            offset >= 0
        else { return nil }
        return (topic, partition, offset)
    }
}

extension DeadLetter {
    /// The fields Event Grid adds to a dead-lettered event, as the
    /// subscription policy writes them (camelCase, or lower case in CloudEvents).
    static let eventGridFields = [
        "deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "lastHttpStatusCode", "publishTime", "lastDeliveryAttemptTime",
    ]

    /// Reads a dead-letter record; `nil` when it is not one of ours.
    public init?(_ record: KafkaConsumerRecord, defaultTopic: String) {
        guard let headers = DeadLetterHeaders(headers: record.recordHeaders) else { return nil }
        let value = JSONValue(parsing: record.value)
        self.init(
            id: Self.id(topic: record.topic, partition: record.partition, offset: record.offset, defaultTopic: defaultTopic),
            topic: record.topic, partition: record.partition, offset: record.offset,
            deadLetteredAt: Date(timeIntervalSince1970: Double(record.timestampMilliseconds ?? 0) / 1000),
            kind: .ingest, reason: headers.reason)
        switch headers.origin {
        case .ingest(let registry, _):
            kind = .ingest
            self.registry = registry
        case .webhook(let registry, let webhook):
            kind = .webhook
            self.registry = registry
            target = webhook
            eventID = value?["eventID"]?.stringValue
            deliveryAttempts = value?["deliveryAttempts"]?.intValue
            lastDeliveryOutcome = value?["lastDeliveryOutcome"]?.stringValue
            lastHttpStatusCode = value?["lastHttpStatusCode"]?.intValue
            event = value?["body"]?.stringValue.flatMap { JSONValue(parsing: Array($0.utf8)) }
        case .subscription(let scope, let subscription, let schema):
            kind = .subscription
            self.scope = scope
            self.schema = schema
            target = subscription
            if scope.hasPrefix("registry/") { registry = String(scope.dropFirst("registry/".count)) }
            let name = { (field: String) in schema == .cloudEvents ? field.lowercased() : field }
            eventID = value?["id"]?.stringValue
            deliveryAttempts = value?[name("deliveryAttempts")]?.intValue
            lastDeliveryOutcome = value?[name("lastDeliveryOutcome")]?.stringValue
            lastHttpStatusCode = value?[name("lastHttpStatusCode")]?.intValue
            if case .object(var members) = value {
                for field in Self.eventGridFields { members[name(field)] = nil }
                event = .object(members)
            }
        case .pointer:
            kind = .undeliverable
            registry = nil
            scope = value?["scope"]?.stringValue
            target = value?["target"]?.stringValue
            eventID = value?["eventID"]?.stringValue
            deliveryAttempts = value?["deliveryAttempts"]?.intValue
        }
    }
}

extension JSONValue {
    /// A whole number's value.
    var intValue: Int? {
        if case .number(let number) = self, number.rounded() == number, abs(number) < 1e15 { return Int(number) }
        return nil
    }
}
