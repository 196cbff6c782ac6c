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
        await produceDurably(durable + [auditRecord(record, outcome: outcome, result: result, at: nowMilliseconds, extra: extra)])
        Counter(label: "regevents_delivery_attempts_total", dimensions: [("kind", record.targetKind.rawValue), ("result", result.rawValue)])
            .increment()
        logger.log(
            level: result == .delivered ? .debug : .notice, "Delivery attempt",
            metadata: [
                "kind": "\(record.targetKind.rawValue)", "scope": "\(record.scopeDescription)", "target": "\(record.target)",
                "event": "\(record.eventID)", "attempt": "\(record.attempt)",
                "status": "\(outcome.statusCode.map(String.init) ?? "none")", "result": "\(result.rawValue)",
            ])
        return Settled(result: result, deadLetters: result == .deadLettered ? durable : [])
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

    /// Keeps trying until Kafka acknowledges (or the task is cancelled).
    func produceDurably(_ records: [KafkaProducerRecord]) async {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                _ = try await producer.send(contentsOf: records)
                return
            } catch {
                logger.error("Cannot record a delivery outcome in Kafka; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }
}
