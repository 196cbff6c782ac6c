import Foundation
import Kafka
import Logging
import RegistryEvents
import Store

/// One delivery attempt to a webhook and its durable outcome: delivered; or
/// its next attempt produced to a retry tier; or dead-lettered. Every attempt
/// is written to `.deliveries` and the webhook's delivery log. Returns only
/// once the outcome is durable, so the caller may then commit.
public struct WebhookAttempts: Sendable {
    public struct Settings: Sendable {
        public var schedule: RetrySchedule
        /// Delivery-log entries kept per webhook.
        public var logSize: Int

        public init(schedule: RetrySchedule = .webhookDefault, logSize: Int = 1000) {
            self.schedule = schedule
            self.logSize = logSize
        }
    }

    public let sender: WebhookSender
    let producer: KafkaProducer
    let store: any WebhookStore
    let layout: TopicLayout
    let settings: Settings
    let logger: Logger

    public init(
        sender: WebhookSender, producer: KafkaProducer, store: any WebhookStore, layout: TopicLayout, settings: Settings,
        logger: Logger
    ) {
        self.sender = sender
        self.producer = producer
        self.store = store
        self.layout = layout
        self.settings = settings
        self.logger = logger
    }

    public enum Result: String, Sendable {
        case delivered, retrying, deadLettered
    }

    /// Delivers `record.body` to `webhook` as attempt `record.attempt`.
    @discardableResult
    public func attempt(_ record: DeliveryRecord, webhook: Webhook) async -> Result {
        let outcome = await sender.send(body: record.body, to: webhook, eventID: record.eventID)
        await log(record, webhook: webhook, outcome: outcome)
        let now = Date()
        let result: Result
        let durable: KafkaProducerRecord?
        if outcome.isSuccess {
            result = .delivered
            durable = nil
        } else {
            let elapsed = Duration.milliseconds(Int64(now.timeIntervalSince1970 * 1000) - record.firstAttemptAtMilliseconds)
            switch settings.schedule.decision(afterAttempt: record.attempt, elapsed: elapsed) {
            case .retry(let delay):
                let wait = max(delay, outcome.retryAfter ?? .zero)
                var next = record
                next.attempt += 1
                next.dueAtMilliseconds = Int64(now.timeIntervalSince1970 * 1000) + wait.wholeMilliseconds
                next.lastStatusCode = outcome.statusCode
                next.lastError = outcome.error
                let tier = DeliveryRecord.tier(for: wait, tiers: TopicLayout.retryTierDelays) ?? .seconds(10)
                result = .retrying
                durable = KafkaProducerRecord(
                    topic: layout.retryTier(tier), key: Array("\(record.registry)/\(record.target)".utf8),
                    value: Array((try? JSONEncoder().encode(next)) ?? Data()),
                    headers: [KafkaHeader(key: "content-type", string: "application/json")])
            case .deadLetter(let reason):
                result = .deadLettered
                durable = deadLetter(record, outcome: outcome, reason: reason, at: now)
            }
        }
        await produceDurably(durable.map { [$0] } ?? [], plus: deliveriesRecord(record, outcome: outcome, result: result, at: now))
        logger.log(
            level: outcome.isSuccess ? .debug : .notice, "Webhook attempt",
            metadata: [
                "registry": "\(record.registry)", "webhook": "\(record.target)", "event": "\(record.eventID)",
                "attempt": "\(record.attempt)", "status": "\(outcome.statusCode.map(String.init) ?? "none")",
                "result": "\(result.rawValue)",
            ])
        return result
    }

    /// Event Grid's dead-letter fields, plus what is needed to replay.
    private func deadLetter(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> KafkaProducerRecord {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let value: [String: Any?] = [
            "deadLetterReason": reason, "deliveryAttempts": record.attempt,
            "lastDeliveryOutcome": outcome.statusCode.map { "HTTP \($0)" } ?? (outcome.error ?? "no response"),
            "lastHttpStatusCode": outcome.statusCode,
            "publishTime": formatter.string(from: Date(timeIntervalSince1970: Double(record.firstAttemptAtMilliseconds) / 1000)),
            "lastDeliveryAttemptTime": formatter.string(from: now), "registry": record.registry, "webhook": record.target,
            "eventID": record.eventID, "body": record.body, "originTopic": record.originTopic,
            "originPartition": record.originPartition, "originOffset": record.originOffset,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: value.compactMapValues { $0 }, options: [.sortedKeys])) ?? Data()
        return KafkaProducerRecord(
            topic: layout.deadLetter, key: Array("\(record.registry)/\(record.target)".utf8), value: Array(data),
            headers: [
                KafkaHeader(key: "content-type", string: "application/json"), KafkaHeader(key: "registry", string: record.registry),
                KafkaHeader(key: "regevents-source", string: "webhook"), KafkaHeader(key: "webhook", string: record.target),
                KafkaHeader(key: "regevents-reason", string: reason),
            ])
    }

    private func deliveriesRecord(_ record: DeliveryRecord, outcome: AttemptOutcome, result: Result, at now: Date) -> KafkaProducerRecord {
        let value: [String: Any?] = [
            "kind": "webhook", "registry": record.registry, "webhook": record.target, "eventID": record.eventID,
            "attempt": record.attempt, "statusCode": outcome.statusCode, "error": outcome.error, "result": result.rawValue,
            "at": Int64(now.timeIntervalSince1970 * 1000),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: value.compactMapValues { $0 }, options: [.sortedKeys])) ?? Data()
        return KafkaProducerRecord(
            topic: layout.deliveries, key: Array("\(record.registry)/\(record.target)".utf8), value: Array(data),
            headers: [KafkaHeader(key: "content-type", string: "application/json")])
    }

    /// Keeps trying until Kafka acknowledges (or the task is cancelled): the
    /// caller commits only behind this.
    private func produceDurably(_ records: [KafkaProducerRecord], plus audit: KafkaProducerRecord) async {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                _ = try await producer.send(contentsOf: records + [audit])
                return
            } catch {
                logger.error("Cannot record a delivery outcome in Kafka; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    /// The attempt in the webhook's delivery log, custom header values masked.
    func log(_ record: DeliveryRecord, webhook: Webhook, outcome: AttemptOutcome) async {
        var headers: [String: String] = [:]
        for (name, value) in WebhookSender.headers(for: webhook) {
            headers[name] = webhook.customHeaders[name] == nil ? value : "***"
        }
        let entry = DeliveryLogEntry(
            registry: record.registry, webhook: webhook.name, eventID: record.eventID, attempt: record.attempt,
            request: .init(method: "POST", requestUri: webhook.serviceURI, headers: headers, content: record.body),
            response: outcome.statusCode == nil && outcome.error != nil
                ? .init(statusCode: "", reasonPhrase: outcome.error ?? "", headers: [:], content: "")
                : .init(
                    statusCode: outcome.statusCode.map(String.init) ?? "", reasonPhrase: outcome.reasonPhrase,
                    headers: outcome.responseHeaders, content: outcome.responseBody))
        do {
            try await store.appendDeliveryLog(entry, keep: settings.logSize)
        } catch {
            logger.error("Cannot write the delivery log", metadata: ["error": "\(error)"])
        }
    }

    /// A ping: the ping payload POSTed now, logged like a delivery, never retried.
    public func ping(_ webhook: Webhook) async -> (id: String, outcome: AttemptOutcome) {
        let id = UUID().uuidString.lowercased()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body = String(decoding: JSONRendering.encode(ACRPayload.ping(id: id, timestamp: formatter.string(from: Date()))), as: UTF8.self)
        let record = DeliveryRecord(
            targetKind: .webhook, registry: webhook.registry, target: webhook.name, eventID: id, attempt: 1,
            dueAtMilliseconds: 0, firstAttemptAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), body: body,
            originTopic: "", originPartition: -1, originOffset: -1)
        let outcome = await sender.send(body: body, to: webhook, eventID: id)
        await log(record, webhook: webhook, outcome: outcome)
        return (id, outcome)
    }
}
