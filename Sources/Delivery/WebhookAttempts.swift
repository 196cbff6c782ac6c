import Foundation
import Kafka
import Logging
import RegistryEvents
import Store

/// One delivery attempt to a webhook and its durable outcome (see
/// `DeliverySettlement`), under the webhook policy. Every attempt is also
/// handed to the webhook's delivery log, which is written behind it
/// (`DeliveryLogWriter`).
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
    public let settlement: DeliverySettlement
    /// Each webhook's lane (in-flight limit and circuit breaker).
    public let lanes: DeliveryLanes
    /// Where attempts go for `list-events`; run it as a service (before
    /// the dispatchers) so what waits is written on shutdown.
    public let deliveryLog: DeliveryLogWriter
    let layout: TopicLayout
    let settings: Settings
    let store: any WebhookStore
    /// Where the health rule's decisions are said (`<prefix>.operations`).
    public let operations: OperationsLog
    let logger: Logger

    public init(
        sender: WebhookSender, producer: KafkaProducer, store: any WebhookStore, layout: TopicLayout, settings: Settings,
        lanes: DeliveryLanes = DeliveryLanes(), health: DeliveryHealth? = nil, logger: Logger
    ) {
        self.sender = sender
        settlement = DeliverySettlement(producer: producer, layout: layout, health: health, logger: logger)
        self.lanes = lanes
        deliveryLog = DeliveryLogWriter(store: store, settings: .init(keep: settings.logSize), logger: logger)
        self.layout = layout
        self.settings = settings
        self.store = store
        operations = OperationsLog(producer: producer, layout: layout, logger: logger)
        self.logger = logger
    }

    var policy: WebhookPolicy { WebhookPolicy(schedule: settings.schedule, deadLetterTopic: layout.deadLetter) }

    /// Delivers `record.body` to `webhook` as attempt `record.attempt`, if
    /// its lane has room (or will have within the lane's short queue wait)
    /// and its breaker lets it; otherwise the delivery waits in a retry
    /// tier, not here.
    @discardableResult
    public func attempt(_ record: DeliveryRecord, webhook: Webhook) async -> DeliverySettlement.Settled {
        switch await lanes.admitOrWait(record.laneKey, limit: webhook.maxConcurrentDeliveries, generation: webhook.laneGeneration) {
        case .deferred(let wait, let reason):
            return await settlement.defer(record, wait: wait, reason: reason, policy: policy)
        case .admitted(let ticket):
            let outcome = await send(record, to: webhook)
            let change = ticket.finish(outcome)
            log(record, webhook: webhook, outcome: outcome)
            let settled = await settlement.settle(record, outcome: outcome, policy: policy, waitForKafka: false)
            if let change { await healthChanged(change, webhook: webhook, outcome: outcome) }
            return settled
        }
    }

    /// Delivers in order (`ordering: perKey`): waits for a slot instead of
    /// deferring, and retries in place. The caller serializes per key.
    public func attemptInOrder(_ record: DeliveryRecord, webhook: Webhook) async -> DeliverySettlement.Settled {
        await OrderedDelivery.run(
            record, lanes: lanes, limit: webhook.maxConcurrentDeliveries, generation: webhook.laneGeneration,
            attempt: { current in
                let outcome = await send(current, to: webhook)
                log(current, webhook: webhook, outcome: outcome)
                return outcome
            },
            settle: { current, outcome in await settlement.settle(current, outcome: outcome, policy: policy, inPlace: true) },
            healthChanged: { change, outcome in await healthChanged(change, webhook: webhook, outcome: outcome) })
    }

    /// One attempt, in its own span of the event's trace.
    private func send(_ record: DeliveryRecord, to webhook: Webhook) async -> AttemptOutcome {
        let request = WebhookSender.request(body: record.body, to: webhook, eventID: record.eventID)
        return await DeliveryTracing.attempt(record) { await sender.send(request) }
    }

    /// What the health rule decided: a webhook failing past the rule is
    /// disabled (once, through the store, so every node stops using it);
    /// either way it is said on `<prefix>.operations`. Re-enabling is
    /// `webhook update --status enabled` (or the console's Enable).
    func healthChanged(_ change: DeliveryLanes.HealthChange, webhook: Webhook, outcome: AttemptOutcome) async {
        let source = OperationsLog.webhookSource(registry: webhook.registry, name: webhook.name)
        switch change {
        case .failing(let since, let attempts):
            let failingSince = Date().addingTimeInterval(-((ContinuousClock.now - since) / .seconds(1)))
            do {
                guard var current = try await store.webhook(registry: webhook.registry, name: webhook.name), current.status == .enabled,
                    current.createdAt == webhook.createdAt, current.updatedAt == webhook.updatedAt
                else { return }
                current.status = .disabled
                current.updatedAt = Date()
                _ = try await store.put(current, quota: .max)
            } catch {
                logger.error("Cannot disable a failing webhook", metadata: ["webhook": "\(source)", "error": "\(error)"])
                return
            }
            logger.warning(
                "Webhook disabled by the health rule", metadata: ["webhook": "\(source)", "attempts": "\(attempts)"])
            await operations.record(
                .endpointDisabled, source: source, subject: webhook.name,
                data: [
                    "registry": .string(webhook.registry), "webhook": .string(webhook.name),
                    "failingSince": .string(DeadLetterFields.timestamp(failingSince)), "attempts": .number(Double(attempts)),
                    "lastOutcome": .string(outcome.statusCode.map { "HTTP \($0)" } ?? outcome.error ?? "no response"),
                    "rule": .string(Self.describe(lanes.settings.health)),
                ])
        case .recovered(let failures):
            await operations.record(
                .endpointRecovered, source: source, subject: webhook.name,
                data: ["registry": .string(webhook.registry), "webhook": .string(webhook.name), "failuresBefore": .number(Double(failures))])
        }
    }

    /// The rule in words, as the docs state it.
    static func describe(_ rule: DeliveryLanes.HealthRule) -> String {
        guard let after = rule.disableAfter else { return "never disabled" }
        return "disabled after failing without a single success for \(Int(after / .seconds(1))) s, with at least \(rule.minimumAttempts) attempts"
    }

    /// The lane of `webhook`, for `webhook show` and metrics.
    public func lane(of webhook: Webhook) -> DeliveryLanes.Snapshot {
        lanes.snapshot(
            DeliveryLanes.key(kind: .webhook, scope: webhook.registry, target: webhook.name), limit: webhook.maxConcurrentDeliveries)
    }

    /// The attempt in the webhook's delivery log, custom header values masked.
    func log(_ record: DeliveryRecord, webhook: Webhook, outcome: AttemptOutcome) {
        var headers: [String: String] = [:]
        for (name, value) in WebhookSender.headers(for: webhook) {
            headers[name] = webhook.customHeaders[name] == nil ? value : "***"
        }
        let milliseconds = outcome.duration.map { Int($0.wholeMilliseconds) }
        let entry = DeliveryLogEntry(
            registry: record.registry, webhook: webhook.name, eventID: record.eventID, attempt: record.attempt,
            request: .init(method: "POST", requestUri: webhook.serviceURI, headers: headers, content: record.body),
            response: outcome.statusCode == nil && outcome.error != nil
                ? .init(statusCode: "", reasonPhrase: outcome.error ?? "", headers: [:], content: "", durationMilliseconds: milliseconds)
                : .init(
                    statusCode: outcome.statusCode.map(String.init) ?? "", reasonPhrase: outcome.reasonPhrase,
                    headers: outcome.responseHeaders, content: outcome.responseBody, durationMilliseconds: milliseconds))
        deliveryLog.append(entry)
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
        log(record, webhook: webhook, outcome: outcome)
        // The caller's next list-events shows the ping.
        await deliveryLog.flush()
        return (id, outcome)
    }
}

extension Webhook {
    /// What its lane starts afresh on (`DeliveryLanes.admit`): any change
    /// an operator makes, a new endpoint or re-enabling among them.
    var laneGeneration: Double { updatedAt.timeIntervalSince1970 }
}
