import Foundation
import RegistryEvents

/// The JSON values settlement writes to Kafka, as `Encodable` structs: one
/// shared encoder, no dictionaries of `Any` (what `JSONSerialization` of
/// the same records cost was a seventh of a busy dispatcher's CPU). Keys
/// are sorted and absent values left out, as the records always were;
/// slashes are not escaped, as in every other record we write.
enum SettlementValues {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ value: some Encodable) -> [UInt8] {
        Array((try? encoder.encode(value)) ?? Data())
    }
}

/// One attempt on `.deliveries`. Webhook attempts name their target
/// `webhook`, every other kind `target`.
struct DeliveryAttemptValue: Encodable {
    var kind: String
    var registry: String
    var eventID: String
    var attempt: Int
    var statusCode: Int?
    var error: String?
    var result: String
    var at: Int64
    var webhook: String?
    var target: String?
    var scope: String?
    /// How many events a subscription's batch carried.
    var events: Int?
}

/// One per attempt, so written by hand (keys sorted, as the encoder did).
extension DeliveryAttemptValue: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("at", at)
            w.member("attempt", attempt)
            w.member("error", error)
            w.member("eventID", eventID)
            w.member("events", events)
            w.member("kind", kind)
            w.member("registry", registry)
            w.member("result", result)
            w.member("scope", scope)
            w.member("statusCode", statusCode)
            w.member("target", target)
            w.member("webhook", webhook)
        }
    }
}

/// A webhook delivery given up: Event Grid's dead-letter fields, plus what
/// is needed to replay it.
struct WebhookDeadLetterValue: Encodable {
    var deadLetterReason: String
    var deliveryAttempts: Int
    var lastDeliveryOutcome: String
    var lastHttpStatusCode: Int?
    var publishTime: String
    var lastDeliveryAttemptTime: String
    var registry: String
    var webhook: String
    var eventID: String
    var body: String
    var originTopic: String
    var originPartition: Int32
    var originOffset: Int64
}

/// Stands in on `<prefix>.deadletter` for a record Kafka refused for good:
/// where the event still is (its origin), and why.
struct PointerDeadLetterValue: Encodable {
    var deadLetterReason = "UndeliverableRecord"
    var kafkaError: String
    var refusedTopic: String
    var refusedBytes: Int
    var kind: String
    var scope: String
    var target: String
    var eventID: String
    var deliveryAttempts: Int
    var originTopic: String
    var originPartition: Int32
    var originOffset: Int64
}
