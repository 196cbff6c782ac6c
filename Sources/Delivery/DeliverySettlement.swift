import Foundation
import Kafka
import Logging
import Metrics
import RegistryEvents

/// Turns an attempt's outcome into its durable consequence, the same way for
/// every kind of target: delivered; or the next attempt produced to its
/// retry tier; or dead-lettered. The attempt itself always goes to
/// `.deliveries`. Returns only once Kafka has acknowledged, so the caller
/// may then commit.
public struct DeliverySettlement: Sendable {
    public enum Result: String, Sendable {
        case delivered, retrying, deadLettered
    }

    let producer: KafkaProducer
    let layout: TopicLayout
    let logger: Logger

    public init(producer: KafkaProducer, layout: TopicLayout, logger: Logger) {
        self.producer = producer
        self.layout = layout
        self.logger = logger
    }

    /// What became of an attempt, with the dead letters written (if any).
    public struct Settled: Sendable {
        public var result: Result
        public var deadLetters: [KafkaProducerRecord]
        /// False when cancelled before Kafka acknowledged: do not commit.
        public var isDurable: Bool
    }

    @discardableResult
    public func settle(
        _ record: DeliveryRecord, outcome: AttemptOutcome, policy: some DeliveryPolicy, audit extra: [String: any Sendable] = [:]
    ) async -> Settled {
        let now = Date()
        let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        let result: Result
        var durable: [KafkaProducerRecord] = []
        if policy.isDelivered(outcome) {
            result = .delivered
        } else if let reason = policy.terminalReason(outcome) {
            result = .deadLettered
            durable = policy.deadLetters(record, outcome: outcome, reason: reason, at: now)
        } else {
            let elapsed = Duration.milliseconds(nowMilliseconds - record.startMilliseconds)
            switch policy.schedule.decision(afterAttempt: record.attempt, elapsed: elapsed) {
            case .retry(let delay):
                let remaining = policy.schedule.timeToLive - elapsed
                // Jitter never carries a retry past the time to live (the schedule's delay fits).
                let spread = policy.jitter > 0 ? delay * Double.random(in: 0...policy.jitter) : .zero
                let wait = max(min(delay + spread, remaining), outcome.retryAfter ?? .zero)
                // A Retry-After past the time to live ends it now, not after.
                guard wait <= remaining else {
                    result = .deadLettered
                    durable = policy.deadLetters(
                        record, outcome: outcome,
                        reason: "TimeToLiveExceeded: the endpoint asked to wait past the time to live (\(policy.schedule.timeToLive))", at: now)
                    break
                }
                var next = record
                next.attempt += 1
                next.dueAtMilliseconds = nowMilliseconds + wait.wholeMilliseconds
                next.lastStatusCode = outcome.statusCode
                next.lastError = outcome.error
                let tier = DeliveryRecord.tier(for: wait, tiers: TopicLayout.retryTierDelays) ?? .seconds(10)
                result = .retrying
                durable = [
                    KafkaProducerRecord(
                        topic: layout.retryTier(tier), key: Array(record.partitionKey.utf8),
                        value: Array((try? JSONEncoder().encode(next)) ?? Data()),
                        headers: [KafkaHeader(key: "content-type", string: "application/json")])
                ]
            case .deadLetter(let reason):
                result = .deadLettered
                durable = policy.deadLetters(record, outcome: outcome, reason: reason, at: now)
            }
        }
        let isDurable = await produceDurably(
            durable + [auditRecord(record, outcome: outcome, result: result, at: nowMilliseconds, extra: extra)], for: record)
        Counter(label: "regevents_delivery_attempts_total", dimensions: [("kind", record.targetKind.rawValue), ("result", result.rawValue)])
            .increment()
        logger.log(
            level: result == .delivered ? .debug : .notice, "Delivery attempt",
            metadata: [
                "kind": "\(record.targetKind.rawValue)", "scope": "\(record.scopeDescription)", "target": "\(record.target)",
                "event": "\(record.eventID)", "attempt": "\(record.attempt)",
                "status": "\(outcome.statusCode.map(String.init) ?? "none")", "result": "\(result.rawValue)",
            ])
        return Settled(result: result, deadLetters: result == .deadLettered ? durable : [], isDurable: isDurable)
    }

    /// The attempt on `.deliveries`, where every attempt is visible.
    private func auditRecord(
        _ record: DeliveryRecord, outcome: AttemptOutcome, result: Result, at now: Int64, extra: [String: any Sendable]
    ) -> KafkaProducerRecord {
        var value: [String: Any?] = [
            "kind": record.targetKind.rawValue, "registry": record.registry, "eventID": record.eventID,
            "attempt": record.attempt, "statusCode": outcome.statusCode, "error": outcome.error, "result": result.rawValue,
            "at": now,
        ]
        // Webhook attempts have always named their target `webhook`.
        value[record.targetKind == .webhook ? "webhook" : "target"] = record.target
        if let scope = record.scope { value["scope"] = scope }
        for (key, extraValue) in extra { value[key] = extraValue }
        let data = (try? JSONSerialization.data(withJSONObject: value.compactMapValues { $0 }, options: [.sortedKeys])) ?? Data()
        return KafkaProducerRecord(
            topic: layout.deliveries, key: Array(record.partitionKey.utf8), value: Array(data),
            headers: [KafkaHeader(key: "content-type", string: "application/json")])
    }

    /// Keeps trying until Kafka acknowledges; false only when cancelled
    /// first (the caller must then not commit). A record Kafka can never
    /// take (too large, no such topic, refused) does not stall the
    /// dispatcher: it is replaced by a dead letter on `<prefix>.deadletter`
    /// that points at the event's origin (topic, partition, offset), where
    /// the event still is.
    func produceDurably(_ records: [KafkaProducerRecord], for delivery: DeliveryRecord) async -> Bool {
        var pending = records
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                _ = try await producer.send(contentsOf: pending)
                return true
            } catch let error as KafkaError where !error.isRetriable {
                pending = await producingWhatKafkaTakes(pending, for: delivery, refusal: error)
                if pending.isEmpty { return true }
            } catch {
                logger.error("Cannot record a delivery outcome in Kafka; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
        return false
    }

    /// Sends the records one by one; returns what is left to send, with
    /// each record Kafka refuses for good replaced by its pointer dead letter.
    private func producingWhatKafkaTakes(
        _ records: [KafkaProducerRecord], for delivery: DeliveryRecord, refusal: KafkaError
    ) async -> [KafkaProducerRecord] {
        var left: [KafkaProducerRecord] = []
        for record in records {
            do {
                _ = try await producer.send(record)
            } catch let error as KafkaError where !error.isRetriable {
                if record.headers.contains(where: { $0.key == "regevents-pointer" }) {
                    logger.critical(
                        "Kafka refuses even the pointer dead letter; the event stays only at its origin",
                        metadata: ["origin": "\(delivery.originTopic)/\(delivery.originPartition)@\(delivery.originOffset)", "error": "\(error)"])
                    continue
                }
                logger.error(
                    "Kafka refuses a delivery record for good; writing a pointer dead letter instead",
                    metadata: ["topic": "\(record.topic)", "bytes": "\(record.value.count)", "error": "\(error.reason)"])
                left.append(pointerDeadLetter(delivery, refused: record, error: error))
            } catch {
                left.append(record)
            }
        }
        return left
    }

    private func pointerDeadLetter(_ delivery: DeliveryRecord, refused: KafkaProducerRecord, error: KafkaError) -> KafkaProducerRecord {
        let value: [String: Any?] = [
            "deadLetterReason": "UndeliverableRecord", "kafkaError": error.reason, "refusedTopic": refused.topic,
            "refusedBytes": refused.value.count, "kind": delivery.targetKind.rawValue, "scope": delivery.scopeDescription,
            "target": delivery.target, "eventID": delivery.eventID, "deliveryAttempts": delivery.attempt,
            "originTopic": delivery.originTopic, "originPartition": delivery.originPartition, "originOffset": delivery.originOffset,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: value.compactMapValues { $0 }, options: [.sortedKeys])) ?? Data()
        return KafkaProducerRecord(
            topic: layout.deadLetter, key: Array(delivery.partitionKey.utf8), value: Array(data),
            headers: [
                KafkaHeader(key: "content-type", string: "application/json"), KafkaHeader(key: "regevents-pointer", string: "true"),
                KafkaHeader(key: "regevents-reason", string: "UndeliverableRecord: \(error.reason)"),
            ])
    }
}
