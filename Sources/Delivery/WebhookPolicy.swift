import Foundation
import Kafka
import RegistryEvents

/// ACR webhooks: any 2xx delivers; every failure follows the schedule (ACR
/// itself never retries, so there is no status it gives up on at once).
struct WebhookPolicy: DeliveryPolicy {
    let schedule: RetrySchedule
    let deadLetterTopic: String
    var jitter: Double { 0 }

    func isDelivered(_ outcome: AttemptOutcome) -> Bool { outcome.isSuccess }

    func terminalReason(_ outcome: AttemptOutcome) -> String? { nil }

    /// Event Grid's dead-letter fields, plus what is needed to replay.
    func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord] {
        let value = WebhookDeadLetterValue(
            deadLetterReason: reason, deliveryAttempts: record.attempt,
            lastDeliveryOutcome: outcome.statusCode.map { "HTTP \($0)" } ?? (outcome.error ?? "no response"),
            lastHttpStatusCode: outcome.statusCode,
            publishTime: DeadLetterFields.timestamp(milliseconds: record.startMilliseconds),
            lastDeliveryAttemptTime: DeadLetterFields.timestamp(now), registry: record.registry, webhook: record.target,
            eventID: record.eventID, body: record.body, originTopic: record.originTopic,
            originPartition: record.originPartition, originOffset: record.originOffset)
        return [
            KafkaProducerRecord(
                topic: deadLetterTopic, key: Array(record.partitionKey.utf8), value: SettlementValues.encode(value),
                headers: DeadLetterHeaders(.webhook(registry: record.registry, webhook: record.target), reason: reason)
                    .headers.map(KafkaHeader.init))
        ]
    }
}
