import Foundation
import Kafka
import Logging
import RegistryEvents
import Store

/// One delivery attempt to an event subscription and its durable outcome
/// (see `DeliverySettlement`), under Event Grid's policy. Dead letters also
/// go to the subscription's HTTP dead-letter endpoint when it has one.
public struct SubscriptionAttempts: Sendable {
    public struct Settings: Sendable {
        /// The retry ladder (Event Grid's unless tests shorten it).
        public var delays: [Duration]
        /// How long one minute of `eventTimeToLiveInMinutes` lasts (tests shorten it).
        public var minute: Duration
        public var jitter: Double

        public init(delays: [Duration] = RetrySchedule.eventGridDefault.delays, minute: Duration = .seconds(60), jitter: Double = 0.1) {
            self.delays = delays
            self.minute = minute
            self.jitter = jitter
        }
    }

    public let sender: WebhookSender
    public let settlement: DeliverySettlement
    /// Each subscription's lane (in-flight limit and circuit breaker).
    public let lanes: DeliveryLanes
    let layout: TopicLayout
    let settings: Settings
    /// Where the health rule disables a failing subscription; `nil` never does.
    let store: (any SubscriptionStore)?
    let operations: OperationsLog
    let logger: Logger

    public init(
        sender: WebhookSender, producer: KafkaProducer, layout: TopicLayout, settings: Settings,
        lanes: DeliveryLanes = DeliveryLanes(), health: DeliveryHealth? = nil, store: (any SubscriptionStore)? = nil, logger: Logger
    ) {
        self.sender = sender
        settlement = DeliverySettlement(producer: producer, layout: layout, health: health, logger: logger)
        self.lanes = lanes
        self.layout = layout
        self.settings = settings
        self.store = store
        operations = OperationsLog(producer: producer, layout: layout, logger: logger)
        self.logger = logger
    }

    /// Delivers `record.body` to `subscription` as attempt `record.attempt`,
    /// if its lane has room and its breaker lets it; otherwise the delivery
    /// waits in a retry tier, not here.
    @discardableResult
    public func deliver(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled {
        let policy = policy(for: subscription)
        let settled: DeliverySettlement.Settled
        switch await lanes.admitOrWait(record.laneKey, limit: subscription.maxConcurrentDeliveries, generation: subscription.laneGeneration) {
        case .deferred(let wait, let reason):
            settled = await settlement.defer(record, wait: wait, reason: reason, policy: policy)
        case .admitted(let ticket):
            let outcome = await send(record, to: subscription)
            let change = ticket.finish(outcome)
            settled = await settlement.settle(
                record, outcome: outcome, policy: policy, events: record.eventCount ?? 1, waitForKafka: false)
            if let change { await healthChanged(change, subscription: subscription, outcome: outcome) }
        }
        afterSettling(settled, subscription: subscription)
        return settled
    }

    /// Delivers in order (`ordering: perKey`): waits for a slot instead of
    /// deferring, and retries in place. The caller serializes per key.
    public func deliverInOrder(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled {
        let policy = policy(for: subscription)
        let settled = await OrderedDelivery.run(
            record, lanes: lanes, limit: subscription.maxConcurrentDeliveries, generation: subscription.laneGeneration,
            attempt: { current in await send(current, to: subscription) },
            settle: { current, outcome in
                await settlement.settle(current, outcome: outcome, policy: policy, events: current.eventCount ?? 1, inPlace: true)
            },
            healthChanged: { change, outcome in await healthChanged(change, subscription: subscription, outcome: outcome) })
        afterSettling(settled, subscription: subscription)
        return settled
    }

    /// The health rule, as for webhooks: a subscription failing past it is
    /// set `Failed` with the reason, so every node stops matching it (an
    /// update validates and enables it again, as after a failed handshake);
    /// either way it is said on `<prefix>.operations`.
    func healthChanged(_ change: DeliveryLanes.HealthChange, subscription: EventSubscription, outcome: AttemptOutcome) async {
        let source = OperationsLog.subscriptionSource(subscription.scope, name: subscription.name)
        let identity: [String: JSONValue] = ["scope": .string(subscription.scope.description), "subscription": .string(subscription.name)]
        switch change {
        case .failing(let since, let attempts):
            guard let store else { return }
            let failingSince = Date().addingTimeInterval(-((ContinuousClock.now - since) / .seconds(1)))
            let rule = WebhookAttempts.describe(lanes.settings.health)
            do {
                guard var current = try await store.subscription(scope: subscription.scope, name: subscription.name),
                    current.provisioningState == .succeeded, current.createdAt == subscription.createdAt,
                    // Changed meanwhile (a new endpoint): the failures were the old one's.
                    current.updatedAt == subscription.updatedAt
                else { return }
                current.provisioningState = .failed
                current.provisioningMessage =
                    "Disabled by the endpoint health rule (\(rule)): failing since \(DeadLetterFields.timestamp(failingSince)). "
                    + "Update the subscription to validate its endpoint and enable it again."
                current.updatedAt = Date()
                _ = try await store.putSubscription(current, quota: .max)
            } catch {
                logger.error("Cannot disable a failing subscription", metadata: ["subscription": "\(source)", "error": "\(error)"])
                return
            }
            logger.warning("Event subscription disabled by the health rule", metadata: ["subscription": "\(source)", "attempts": "\(attempts)"])
            await operations.record(
                .endpointDisabled, source: source, subject: subscription.name,
                data: identity.merging([
                    "failingSince": .string(DeadLetterFields.timestamp(failingSince)), "attempts": .number(Double(attempts)),
                    "lastOutcome": .string(outcome.statusCode.map { "HTTP \($0)" } ?? outcome.error ?? "no response"),
                    "rule": .string(rule),
                ]) { $1 })
        case .recovered(let failures):
            await operations.record(
                .endpointRecovered, source: source, subject: subscription.name,
                data: identity.merging(["failuresBefore": .number(Double(failures))]) { $1 })
        }
    }

    private func policy(for subscription: EventSubscription) -> SubscriptionPolicy {
        let schedule = RetrySchedule(
            delays: settings.delays, maxAttempts: subscription.maxDeliveryAttempts,
            timeToLive: settings.minute * subscription.eventTimeToLiveInMinutes)
        return SubscriptionPolicy(
            subscription: subscription, schedule: schedule, jitter: settings.jitter, defaultDeadLetterTopic: layout.deadLetter)
    }

    /// A retry whose subscription has since moved to an endpoint that has not
    /// consented is not sent there; it fails and follows the policy.
    private func send(_ record: DeliveryRecord, to subscription: EventSubscription) async -> AttemptOutcome {
        subscription.isActive
            ? await DeliveryTracing.attempt(record) { await sender.send(Self.request(record, subscription: subscription)) }
            : .failure("the subscription's endpoint is not validated (\(subscription.provisioningState.rawValue))")
    }

    private func afterSettling(_ settled: DeliverySettlement.Settled, subscription: EventSubscription) {
        if settled.result == .deadLettered, let destination = subscription.deadLetterDestination,
            destination.endpointType == .webHook, let url = destination.properties.endpointUrl
        {
            // The dead letters are durable on Kafka already; the endpoint's
            // copy must not hold this record's completion.
            let deadLetters = settled.deadLetters
            Task { await postDeadLetters(deadLetters, to: url, subscription: subscription) }
        }
    }

    /// The lane of `subscription`, for `subscription show` and metrics.
    public func lane(of subscription: EventSubscription) -> DeliveryLanes.Snapshot {
        lanes.snapshot(
            DeliveryLanes.key(kind: .subscription, scope: subscription.scope.description, target: subscription.name),
            limit: subscription.maxConcurrentDeliveries)
    }

    /// Event Grid's request: the body, its content type, the `aeg-*` headers
    /// and the subscription's delivery attributes (dynamic ones from the
    /// first event of a batch).
    static func request(_ record: DeliveryRecord, subscription: EventSubscription) -> OutboundRequest {
        var headers: [(String, String)] = [
            ("Content-Type", record.contentType ?? SubscriptionBody.eventGridContentType),
            ("aeg-event-type", "Notification"),
            ("aeg-subscription-name", subscription.name.uppercased()),
            ("aeg-delivery-count", String(record.attempt - 1)),
            ("aeg-metadata-version", "1"),
        ]
        let events = SubscriptionBody.events(in: record.body)
        if events.count == 1, let version = events[0]["dataVersion"]?.stringValue { headers.append(("aeg-data-version", version)) }
        if let first = events.first {
            for mapping in subscription.deliveryAttributeMappings {
                if let value = mapping.value(for: first) { headers.append((mapping.name, value)) }
            }
        }
        return OutboundRequest(url: subscription.endpointURL, headers: headers, body: record.body)
    }

    /// Best effort, a few tries: the dead letters are already durable on
    /// Kafka; the endpoint is a convenience copy.
    private func postDeadLetters(_ records: [KafkaProducerRecord], to url: String, subscription: EventSubscription) async {
        let events = records.compactMap { JSONValue(parsing: $0.value) }
        let (body, contentType) = SubscriptionBody.render(events, schema: subscription.eventDeliverySchema)
        let request = OutboundRequest(
            url: url, headers: [("Content-Type", contentType), ("aeg-event-type", "DeadLetter"),
                                ("aeg-subscription-name", subscription.name.uppercased())], body: body)
        for attempt in 1...3 {
            let outcome = await sender.send(request)
            if outcome.isSuccess { return }
            logger.warning(
                "Dead-letter endpoint refused; the dead letters stay on Kafka",
                metadata: ["subscription": "\(subscription.name)", "attempt": "\(attempt)",
                           "status": "\(outcome.statusCode.map(String.init) ?? outcome.error ?? "none")"])
            try? await Task.sleep(for: .seconds(attempt))
        }
    }
}

extension EventSubscription {
    /// What its lane starts afresh on (`DeliveryLanes.admit`): any change
    /// an operator makes, a new endpoint or a re-validation among them.
    var laneGeneration: Double { updatedAt.timeIntervalSince1970 }
}
