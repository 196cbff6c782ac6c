import Foundation
import Kafka
import RegistryEvents

extension DeliverySettlement {
    /// Sends a dead letter back to its target with a fresh attempt count: a
    /// retry record due now (the retry dispatcher attempts it at once, and
    /// the target's schedule, lane and breaker apply from there), and an
    /// audit record on `.deliveries` that says who redrove which dead letter.
    /// Returns once Kafka acknowledged both.
    /// - Throws: `DeadLetterRedriveError.notRedrivable` for an ingest or
    ///   undeliverable dead letter; Kafka's error when it refused them.
    public func redrive(_ letter: DeadLetter, by actor: String) async throws {
        guard let record = letter.redriveRecord(at: Date()) else { throw DeadLetterRedriveError.notRedrivable(letter.id) }
        let audit = RedriveAuditValue(
            kind: record.targetKind.rawValue, registry: record.registry, eventID: record.eventID, result: "redriven",
            at: record.firstAttemptAtMilliseconds, webhook: record.targetKind == .webhook ? record.target : nil,
            target: record.targetKind == .webhook ? nil : record.target, scope: record.scope, deadLetter: letter.id, by: actor)
        _ = try await producer.send(contentsOf: [
            retryRecord(record, wait: .zero),
            KafkaProducerRecord(
                topic: layout.deliveries, key: Array(record.partitionKey.utf8), value: SettlementValues.encode(audit),
                headers: KafkaRecordFormat.attemptHeaders.map(KafkaHeader.init)),
        ])
    }
}

extension DeadLetter {
    /// The delivery a redrive starts: attempt 1, due now, its time to live
    /// counted from now; its origin is the dead letter itself.
    func redriveRecord(at now: Date) -> DeliveryRecord? {
        guard canRedrive, let target, let event else { return nil }
        let milliseconds = DeliveryRecord.milliseconds(now)
        switch kind {
        case .webhook:
            guard let registry else { return nil }
            return DeliveryRecord(
                targetKind: .webhook, registry: registry, target: target, eventID: eventID ?? "", attempt: 1,
                dueAtMilliseconds: milliseconds, firstAttemptAtMilliseconds: milliseconds,
                body: String(decoding: event.jsonBytes, as: UTF8.self), originTopic: topic, originPartition: partition,
                originOffset: offset)
        case .subscription:
            let rendered = SubscriptionBody.render([event], schema: schema ?? .eventGrid)
            return DeliveryRecord(
                targetKind: .subscription, registry: registry ?? "", target: target, eventID: eventID ?? "", attempt: 1,
                dueAtMilliseconds: milliseconds, firstAttemptAtMilliseconds: milliseconds, body: rendered.body, originTopic: topic,
                originPartition: partition, originOffset: offset, scope: scope,
                contentType: rendered.contentType, eventCount: 1)
        case .ingest, .undeliverable:
            return nil
        }
    }
}

/// A redrive on `.deliveries`: who sent which dead letter back.
struct RedriveAuditValue: Encodable {
    var kind: String
    var registry: String
    var eventID: String
    var result: String
    var at: Int64
    var webhook: String?
    var target: String?
    var scope: String?
    var deadLetter: String
    var by: String
}

public enum DeadLetterRedriveError: Error, CustomStringConvertible {
    case notRedrivable(String)

    public var description: String {
        switch self {
        case .notRedrivable(let id): "dead letter \(id) is not a delivery (an ingest refusal or a pointer), so it has no target to go back to"
        }
    }
}
