import Foundation
import Kafka
import Logging
import Metrics
import RegistryEvents

/// Turns an attempt's outcome into its durable consequence, the same way for
/// every kind of target: delivered; or the next attempt produced to its
/// retry tier; or dead-lettered. The attempt itself always goes to
/// `.deliveries`. Returns once Kafka has acknowledged, so the caller may
/// then commit; or, asked not to wait, with an acknowledgement to wait on.
public struct DeliverySettlement: Sendable {
    /// A delivery's named outcome. `skipped`: its target was deleted or
    /// disabled while it waited; the audit record says so.
    public enum Result: String, Sendable {
        case delivered, retrying, deadLettered, skipped
    }

    let producer: KafkaProducer
    let layout: TopicLayout
    /// Where Kafka's refusals are reported (readiness); `nil` in tools.
    let health: DeliveryHealth?
    let logger: Logger
    /// `regevents_delivery_attempts_total` by kind and result, looked up
    /// once each (a lookup per attempt was a lock and a hash of its labels).
    let attemptCounters: [DeliveryRecord.TargetKind: [Result: LazyCounter]]

    public init(producer: KafkaProducer, layout: TopicLayout, health: DeliveryHealth? = nil, logger: Logger) {
        self.producer = producer
        self.layout = layout
        self.health = health
        self.logger = logger
        var counters: [DeliveryRecord.TargetKind: [Result: LazyCounter]] = [:]
        for kind in [DeliveryRecord.TargetKind.webhook, .subscription, .handler] {
            for result in [Result.delivered, .retrying, .deadLettered, .skipped] {
                counters[kind, default: [:]][result] = LazyCounter(
                    label: "regevents_delivery_attempts_total", dimensions: [("kind", kind.rawValue), ("result", result.rawValue)])
            }
        }
        attemptCounters = counters
    }

    private func countAttempt(_ kind: DeliveryRecord.TargetKind, _ result: Result) {
        attemptCounters[kind]?[result]?.increment()
    }

    /// What became of an attempt, with the dead letters written (if any).
    public struct Settled: Sendable {
        public var result: Result
        public var deadLetters: [KafkaProducerRecord]
        /// False when cancelled before Kafka acknowledged: do not commit.
        /// Provisional while `acknowledgement` is set: the records are handed
        /// to Kafka, and only `acknowledgement.whenDurable` says whether they
        /// got there (`RecordLifecycle.record` waits for it).
        public var isDurable: Bool
        /// Retried in place (ordered targets): the next attempt and its wait.
        public var retryInPlace: (next: DeliveryRecord, after: Duration)? = nil
        /// Settled without waiting for Kafka: `isDurable` is known only once
        /// this resolves (`RecordLifecycle` waits for it before completing).
        public internal(set) var acknowledgement: SettlementAcknowledgement? = nil

        public init(result: Result, deadLetters: [KafkaProducerRecord], isDurable: Bool) {
            self.result = result
            self.deadLetters = deadLetters
            self.isDurable = isDurable
        }
    }

    /// - Parameter events: how many events the attempt carried (a
    ///   subscription's batch), for its audit record.
    /// - Parameter inPlace: for ordered targets: a retry is not written to a
    ///   tier (later events of its key would overtake it) but handed back
    ///   in `retryInPlace` for the caller to wait out; the attempt is still
    ///   audited.
    /// - Parameter waitForKafka: false: a delivered attempt returns once its
    ///   audit record is handed to Kafka, with `acknowledgement` to wait on
    ///   (for callers that hand the result to a `RecordLifecycle`). Retries,
    ///   dead letters and `inPlace` are always waited for.
    @discardableResult
    public func settle(
        _ record: DeliveryRecord, outcome: AttemptOutcome, policy: some DeliveryPolicy, events: Int? = nil, inPlace: Bool = false,
        waitForKafka: Bool = true
    ) async -> Settled {
        let now = Date()
        let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        let result: Result
        var durable: [KafkaProducerRecord] = []
        var retryInPlace: (next: DeliveryRecord, after: Duration)?
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
                result = .retrying
                if inPlace {
                    retryInPlace = (next, wait)
                } else {
                    durable = [retryRecord(next, wait: wait)]
                }
            case .deadLetter(let reason):
                result = .deadLettered
                durable = policy.deadLetters(record, outcome: outcome, reason: reason, at: now)
            }
        }
        let records = durable + [auditRecord(record, outcome: outcome, result: result, at: nowMilliseconds, events: events)]
        var acknowledgement: SettlementAcknowledgement?
        let isDurable: Bool
        // Only a delivery's audit record goes without waiting: a retry or a
        // dead letter is waited for (its callers act on it being in Kafka).
        if waitForKafka || inPlace || result != .delivered {
            isDurable = await produceDurably(records, for: record)
        } else {
            let batch = await producer.enqueue(contentsOf: records)
            acknowledgement = SettlementAcknowledgement(batch, records: records, for: record, settlement: self)
            isDurable = true
        }
        countAttempt(record.targetKind, result)
        if result == .deadLettered, isDurable {
            await announceDeadLettered(record, outcome: outcome.statusCode.map { "HTTP \($0)" } ?? outcome.error ?? "no response")
        }
        logger.log(
            level: result == .delivered ? .debug : .notice, "Delivery attempt",
            metadata: [
                "kind": "\(record.targetKind.rawValue)", "scope": "\(record.scopeDescription)", "target": "\(record.target)",
                "event": "\(record.eventID)", "attempt": "\(record.attempt)",
                "status": "\(outcome.statusCode.map(String.init) ?? "none")", "result": "\(result.rawValue)",
            ])
        var settled = Settled(result: result, deadLetters: result == .deadLettered ? durable : [], isDurable: isDurable)
        settled.retryInPlace = retryInPlace
        settled.acknowledgement = acknowledgement
        return settled
    }

    /// A delivery not attempted now (its lane is full or its breaker open):
    /// written to a retry tier as it is, the attempt number unchanged, due
    /// after `wait`; dead-lettered instead when that would pass its time to
    /// live. Returns once durable (false only when cancelled first).
    public func `defer`(
        _ record: DeliveryRecord, wait: Duration, reason: String, policy: some DeliveryPolicy
    ) async -> Settled {
        let now = Date()
        let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        let elapsed = Duration.milliseconds(nowMilliseconds - record.startMilliseconds)
        let remaining = policy.schedule.timeToLive - elapsed
        // Each deferral of the same delivery waits twice as long (capped at
        // the shortest tier, 10 s, so a merely slow target's backlog is not
        // starved for minutes), spread by up to a half, so a lane that stays
        // full or a breaker's reopening does not make its deliveries bounce
        // in lockstep.
        let deferrals = record.deferrals ?? 0
        let backoff = min(wait * Double(1 << min(deferrals, 6)), max(wait, .seconds(10)))
        let wait = min(backoff + backoff * Double.random(in: 0...0.5), remaining)
        guard remaining > .zero else {
            // The dead letter tells the last real attempt's answer (Event
            // Grid's lastHttpStatusCode), not this deferral's.
            var lastAttempt = AttemptOutcome.failure(record.lastError ?? "not attempted: \(reason)")
            lastAttempt.statusCode = record.lastStatusCode
            let deadLetters = policy.deadLetters(
                record, outcome: lastAttempt,
                reason: "TimeToLiveExceeded: not attempted (\(reason)) within the time to live (\(policy.schedule.timeToLive))", at: now)
            let notAttempted = AttemptOutcome.failure("not attempted: \(reason)")
            let audit = auditRecord(record, outcome: notAttempted, result: .deadLettered, at: nowMilliseconds)
            let durable = await produceDurably(deadLetters + [audit], for: record)
            if durable { await announceDeadLettered(record, outcome: "not attempted: \(reason)") }
            return Settled(result: .deadLettered, deadLetters: deadLetters, isDurable: durable)
        }
        var next = record
        next.dueAtMilliseconds = nowMilliseconds + wait.wholeMilliseconds
        next.deferrals = deferrals + 1
        let durable = await produceDurably([retryRecord(next, wait: wait)], for: record)
        logger.debug(
            "Delivery deferred", metadata: ["target": "\(record.laneKey)", "event": "\(record.eventID)", "reason": "\(reason)"])
        return Settled(result: .retrying, deadLetters: [], isDurable: durable)
    }

    /// A retry whose target is gone or disabled: not attempted, and said so
    /// on `.deliveries` (nothing leaves silently).
    public func skip(_ record: DeliveryRecord, reason: String) async -> Settled {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let audit = auditRecord(record, outcome: .failure(reason), result: .skipped, at: now)
        let durable = await produceDurably([audit], for: record)
        countAttempt(record.targetKind, .skipped)
        logger.notice(
            "Retry skipped", metadata: ["target": "\(record.laneKey)", "event": "\(record.eventID)", "reason": "\(reason)"])
        return Settled(result: .skipped, deadLetters: [], isDurable: durable)
    }

    /// A tier record that has waited its tier's delay but is due later
    /// still: written again to the tier that fits what is left.
    func reenqueue(_ record: DeliveryRecord, remaining: Duration) async -> Bool {
        await produceDurably([retryRecord(record, wait: remaining)], for: record)
    }

    /// `record` (already carrying its due time) on the tier for `wait`.
    func retryRecord(_ record: DeliveryRecord, wait: Duration) -> KafkaProducerRecord {
        let tier = DeliveryRecord.tier(for: wait, tiers: TopicLayout.retryTierDelays) ?? .seconds(10)
        return KafkaProducerRecord(
            topic: layout.retryTier(tier), key: Array(record.partitionKey.utf8),
            value: SettlementValues.encode(record),
            headers: KafkaRecordFormat.retryHeaders.map(KafkaHeader.init))
    }

    /// A `DeadLettered` operational event, after the dead letter is in Kafka.
    private func announceDeadLettered(_ record: DeliveryRecord, outcome: String) async {
        var data: [String: JSONValue] = [
            "kind": .string(record.targetKind.rawValue), "registry": .string(record.registry), "target": .string(record.target),
            "eventID": .string(record.eventID), "deliveryAttempts": .number(Double(record.attempt)), "lastOutcome": .string(outcome),
        ]
        if let scope = record.scope { data["scope"] = .string(scope) }
        let source = record.targetKind == .webhook
            ? OperationsLog.webhookSource(registry: record.registry, name: record.target)
            : "/\(record.scopeDescription.replacingOccurrences(of: "registry/", with: "registries/").replacingOccurrences(of: "topic/", with: "topics/"))"
                + "/\(record.targetKind == .handler ? "handlers" : "eventSubscriptions")/\(record.target)"
        await OperationsLog(producer: producer, layout: layout, logger: logger).record(
            .deadLettered, source: source, subject: record.eventID, data: data)
    }

    /// The attempt on `.deliveries`, where every attempt is visible.
    private func auditRecord(
        _ record: DeliveryRecord, outcome: AttemptOutcome, result: Result, at now: Int64, events: Int? = nil
    ) -> KafkaProducerRecord {
        let isWebhook = record.targetKind == .webhook
        let value = DeliveryAttemptValue(
            kind: record.targetKind.rawValue, registry: record.registry, eventID: record.eventID, attempt: record.attempt,
            statusCode: outcome.statusCode, error: outcome.error, result: result.rawValue, at: now,
            webhook: isWebhook ? record.target : nil, target: isWebhook ? nil : record.target, scope: record.scope, events: events)
        return KafkaProducerRecord(
            topic: layout.deliveries, key: Array(record.partitionKey.utf8), value: value.jsonBytes,
            headers: KafkaRecordFormat.attemptHeaders.map(KafkaHeader.init))
    }

    /// Keeps trying until Kafka acknowledges; false only when cancelled
    /// first (the caller must then not commit).
    ///
    /// A record Kafka refuses for good is never taken as durable. One too
    /// large, or for a topic that does not exist, is replaced by a dead
    /// letter on `<prefix>.deadletter` that points at the event's origin
    /// (topic, partition, offset), where the event still is. Any other
    /// refusal (an ACL, a fatal producer error: the producer recreates
    /// itself) is reported to `health` (readiness turns 503, a metric
    /// counts it, a log line a minute says so) and tried again with backoff:
    /// the record stays in flight, so its partition is not committed past it.
    func produceDurably(_ records: [KafkaProducerRecord], for delivery: DeliveryRecord) async -> Bool {
        var pending = records
        var delay = Duration.milliseconds(200)
        var refused: Set<String> = []
        while !Task.isCancelled {
            do {
                _ = try await producer.send(contentsOf: pending)
                for topic in refused { health?.clear(.kafkaRefuses(topic: topic)) }
                return true
            } catch let error as KafkaError where error.code == .shutdown {
                // Nothing more reaches Kafka through this producer: not
                // durable, so the attempt's record is read again on restart.
                return false
            } catch let error as KafkaError where !error.isRetriable {
                pending = await producingWhatKafkaTakes(pending, for: delivery, refused: &refused)
                if pending.isEmpty {
                    for topic in refused { health?.clear(.kafkaRefuses(topic: topic)) }
                    return true
                }
            } catch {
                logger.error("Cannot record a delivery outcome in Kafka; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(10))
        }
        return false
    }

    /// Sends the records one by one; returns what is left to send, with
    /// each record too large (or for a missing topic) replaced by its
    /// pointer dead letter.
    private func producingWhatKafkaTakes(
        _ records: [KafkaProducerRecord], for delivery: DeliveryRecord, refused: inout Set<String>
    ) async -> [KafkaProducerRecord] {
        var left: [KafkaProducerRecord] = []
        for record in records {
            do {
                _ = try await producer.send(record)
            } catch let error as KafkaError where !error.isRetriable {
                let isPointer = KafkaRecordFormat.isPointerDeadLetter(record.recordHeaders)
                // A subscription's own dead-letter topic is the user's: any
                // refusal there is replaced by a pointer on ours, rather than
                // holding the dispatcher. Our own topics hold (see above).
                let ours = record.topic.hasPrefix("\(layout.prefix).")
                guard Self.pointerCanReplace(error) || !ours, !isPointer else {
                    refused.insert(record.topic)
                    health?.report(.kafkaRefuses(topic: record.topic), reason: error.description)
                    left.append(record)
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

    /// Refusals about the record itself or its topic's existence, which a
    /// small record on our own dead-letter topic can stand in for.
    static func pointerCanReplace(_ error: KafkaError) -> Bool {
        guard let name = error.rdKafkaName else { return false }
        return name.hasSuffix("SIZE_TOO_LARGE") || name == "_UNKNOWN_TOPIC" || name == "RECORD_LIST_TOO_LARGE"
            || name == "INVALID_RECORD" || name == "TOPIC_EXCEPTION"
    }

    private func pointerDeadLetter(_ delivery: DeliveryRecord, refused: KafkaProducerRecord, error: KafkaError) -> KafkaProducerRecord {
        let value = PointerDeadLetterValue(
            kafkaError: error.reason, refusedTopic: refused.topic, refusedBytes: refused.value.count,
            kind: delivery.targetKind.rawValue, scope: delivery.scopeDescription, target: delivery.target, eventID: delivery.eventID,
            deliveryAttempts: delivery.attempt, originTopic: delivery.originTopic, originPartition: delivery.originPartition,
            originOffset: delivery.originOffset)
        return KafkaProducerRecord(
            topic: layout.deadLetter, key: Array(delivery.partitionKey.utf8), value: SettlementValues.encode(value),
            headers: DeadLetterHeaders(.pointer, reason: "UndeliverableRecord: \(error.reason)").headers.map(KafkaHeader.init))
    }
}
