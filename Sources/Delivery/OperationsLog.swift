import Foundation
import Kafka
import Logging
import RegistryEvents

/// Operational events: what happened to the endpoints and the deliveries
/// rather than in the registries. Written to `<prefix>.operations` as
/// CloudEvents 1.0 JSON (type `RegistryEvents.Operations.<Name>`, source the
/// target's path), keyed by target, for any Kafka tool or an alerting
/// consumer. Writing one never holds up a delivery: a failure is logged.
public struct OperationsLog: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The health rule disabled an endpoint (a webhook).
        case endpointDisabled = "EndpointDisabled"
        /// An endpoint that had been failing answered again.
        case endpointRecovered = "EndpointRecovered"
        case subscriptionValidationFailed = "SubscriptionValidationFailed"
        case signingSecretRotated = "SigningSecretRotated"
        case deadLettered = "DeadLettered"
    }

    let producer: KafkaProducer
    let topic: String
    let logger: Logger

    public init(producer: KafkaProducer, layout: TopicLayout, logger: Logger) {
        self.producer = producer
        topic = layout.operations
        self.logger = logger
    }

    public static func type(of kind: Kind) -> String { "RegistryEvents.Operations.\(kind.rawValue)" }

    /// Writes one event about `source` (e.g. `/registries/r/webhooks/h`);
    /// returns once Kafka took it, or logged why not.
    public func record(_ kind: Kind, source: String, subject: String, data: [String: JSONValue]) async {
        let event: JSONValue = .object([
            "specversion": "1.0", "type": .string(Self.type(of: kind)), "source": .string(source), "subject": .string(subject),
            "id": .string(UUID().uuidString.lowercased()), "time": .string(DeadLetterFields.timestamp(Date())),
            "datacontenttype": "application/json", "data": .object(data),
        ])
        do {
            _ = try await producer.send(
                KafkaProducerRecord(
                    topic: topic, key: Array(source.utf8), value: event.jsonBytes,
                    headers: [KafkaHeader(key: KafkaRecordFormat.Header.contentType, value: Array("application/cloudevents+json".utf8))]))
        } catch {
            logger.error(
                "Cannot write an operational event", metadata: ["type": "\(kind.rawValue)", "source": "\(source)", "error": "\(error)"])
        }
        logger.notice("Operational event", metadata: ["type": "\(kind.rawValue)", "source": "\(source)"])
    }

    public static func webhookSource(registry: String, name: String) -> String { "/registries/\(registry)/webhooks/\(name)" }

    public static func subscriptionSource(_ scope: SubscriptionScope, name: String) -> String {
        "/\(scope.kind == .registry ? "registries" : "topics")/\(scope.name)/eventSubscriptions/\(name)"
    }
}
