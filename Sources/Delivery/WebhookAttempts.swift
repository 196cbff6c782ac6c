import Foundation
import Kafka
import Logging
import RegistryEvents
import Store

/// One delivery attempt to a webhook and its durable outcome (see
/// `DeliverySettlement`), under the webhook policy. Every attempt is also
/// written to the webhook's delivery log.
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

    public typealias Result = DeliverySettlement.Result

    var settlement: DeliverySettlement { DeliverySettlement(producer: producer, layout: layout, logger: logger) }
    var policy: WebhookPolicy { WebhookPolicy(schedule: settings.schedule, deadLetterTopic: layout.deadLetter) }

    /// Delivers `record.body` to `webhook` as attempt `record.attempt`.
    @discardableResult
    public func attempt(_ record: DeliveryRecord, webhook: Webhook) async -> Result {
        let outcome = await sender.send(body: record.body, to: webhook, eventID: record.eventID)
        await log(record, webhook: webhook, outcome: outcome)
        return await settlement.settle(record, outcome: outcome, policy: policy).result
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
        let body = String(decoding: JSONRendering.encode(ACRPayload.ping(id: id, timestamp: DeadLetterFields.timestamp(Date()))), as: UTF8.self)
        let record = DeliveryRecord(
            targetKind: .webhook, registry: webhook.registry, target: webhook.name, eventID: id, attempt: 1,
            dueAtMilliseconds: 0, firstAttemptAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), body: body,
            originTopic: "", originPartition: -1, originOffset: -1)
        let outcome = await sender.send(body: body, to: webhook, eventID: id)
        await log(record, webhook: webhook, outcome: outcome)
        return (id, outcome)
    }
}
