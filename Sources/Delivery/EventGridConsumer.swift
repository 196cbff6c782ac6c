import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle

/// Event Grid subscriptions without HTTP: a Swift program reads the
/// registries' events (or a custom topic's) in its own consumer group, with
/// the same filters, and its `async` handler is called once per event. A
/// handler that throws is retried on the retry tiers on Event Grid's
/// schedule and dead-lettered to `<prefix>.deadletter` when the policy gives
/// up; an event is committed only after the handler returned or its retry or
/// dead letter is durable.
///
/// ```swift
/// let consumer = EventGridConsumer(
///     configuration: .init(brokers: "localhost:9092", group: "scanner",
///                          filter: EventFilter(includedEventTypes: ["Microsoft.ContainerRegistry.ImagePushed"])),
///     logger: logger
/// ) { event in
///     let pushed = try event.decode(EventGridEvent.self)
///     try await scan(pushed.data.target.repository, pushed.data.target.digest)
/// }
/// try await ServiceGroup(services: [consumer], logger: logger).run()
/// ```
public final class EventGridConsumer: Service, Sendable {
    public enum Source: Sendable, Hashable {
        /// Every registry's events.
        case registries
        case registry(String)
        /// A custom topic's events.
        case topic(String)
    }

    public struct Configuration: Sendable {
        public var client: KafkaClientConfiguration
        /// The consumer group; also names this consumer's retries.
        public var group: String
        public var topicPrefix: String
        public var source: Source
        public var filter: EventFilter
        public var schema: EventDeliverySchema
        /// Delays, attempts and time to live (Event Grid's by default).
        public var retry: RetrySchedule
        public var jitter: Double

        public init(
            brokers: String, group: String, topicPrefix: String = TopicLayout.defaultPrefix, source: Source = .registries,
            filter: EventFilter = EventFilter(), schema: EventDeliverySchema = .eventGrid,
            retry: RetrySchedule = .eventGridDefault, jitter: Double = 0.1
        ) {
            client = KafkaClientConfiguration(bootstrapServers: brokers, clientID: "regevents-\(group)")
            self.group = group
            self.topicPrefix = topicPrefix
            self.source = source
            self.filter = filter
            self.schema = schema
            self.retry = retry
            self.jitter = jitter
        }
    }

    public typealias Handler = @Sendable (DeliveredEvent) async throws -> Void

    let configuration: Configuration
    let logger: Logger
    let handler: Handler

    public init(configuration: Configuration, logger: Logger, handler: @escaping Handler) {
        self.configuration = configuration
        self.logger = logger
        self.handler = handler
    }

    /// Runs the producer (for retries and dead letters), the event consumer
    /// and the retry consumer; on graceful shutdown they stop in reverse, so
    /// every outcome is produced before the producer flushes.
    public func run() async throws {
        let layout = TopicLayout(prefix: configuration.topicPrefix)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: configuration.client), logger: logger)
        let routing = HandlerRouting(configuration: configuration)
        let settlement = DeliverySettlement(producer: producer, layout: layout, logger: logger)
        let deliverer = HandlerAttempts(
            handler: handler, settlement: settlement, schedule: configuration.retry, jitter: configuration.jitter,
            deadLetterTopic: layout.deadLetter)
        // Retention losses of both groups are logged, counted and kept, as the server's are.
        let lossMonitor = DataLossMonitor(logger: logger)
        let dispatcher = SubscriptionDispatcher(
            client: configuration.client, group: configuration.group, layout: layout, routing: routing, deliverer: deliverer,
            targetKind: .handler, linger: .zero, lossMonitor: lossMonitor, logger: logger)
        let retries = RetryDispatcher(
            client: configuration.client, group: "\(configuration.group).retry", layout: layout,
            targets: [
                SubscriptionRetryTarget(
                    routing: routing, deliverer: deliverer, settlement: settlement, kind: .handler, target: configuration.group,
                    logger: logger)
            ], lossMonitor: lossMonitor, logger: logger)
        // Warns while a lagging group can still catch up, before retention drops its records.
        let watch = try RetentionWatch(
            configuration: RetentionWatch.Configuration(
                client: configuration.client,
                groups: [
                    .init(group: configuration.group, topics: dispatcher.topics),
                    .init(group: "\(configuration.group).retry", topics: layout.retryTiers),
                ]),
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [producer, retries, dispatcher, watch], gracefulShutdownSignals: [], logger: logger))
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: {
            Task { await group.triggerGracefulShutdown() }
        }
    }
}

/// The one subscription an in-process consumer stands for, on its source.
struct HandlerRouting: SubscriptionRouting {
    let configuration: EventGridConsumer.Configuration

    func matches(_ event: PublishedEvent, in scope: SubscriptionScope) -> [EventSubscription] {
        guard covers(scope), let subscription = subscription(scope: scope, name: configuration.group),
            subscription.matches(event.envelope)
        else { return [] }
        return [subscription]
    }

    func subscription(scope: SubscriptionScope, name: String) -> EventSubscription? {
        guard name == configuration.group, covers(scope) else { return nil }
        return EventSubscription(
            scope: scope, name: configuration.group, endpointURL: "", maxEventsPerBatch: 1, filter: configuration.filter,
            eventDeliverySchema: configuration.schema, provisioningState: .succeeded)
    }

    var topicNames: [String] {
        if case .topic(let name) = configuration.source { return [name] }
        return []
    }

    var readsRegistryEvents: Bool { topicNames.isEmpty }

    private func covers(_ scope: SubscriptionScope) -> Bool {
        switch configuration.source {
        case .registries: scope.kind == .registry
        case .registry(let name): scope == .registry(name)
        case .topic(let name): scope == .topic(name)
        }
    }
}

/// Calls the handler; a throw is a failed attempt under Event Grid's policy.
struct HandlerAttempts: SubscriptionDeliverer {
    let handler: EventGridConsumer.Handler
    let settlement: DeliverySettlement
    let schedule: RetrySchedule
    let jitter: Double
    let deadLetterTopic: String

    func attempt(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled {
        // The handler runs in the attempt's span: its own spans join the event's trace.
        let outcome = await DeliveryTracing.attempt(record) {
            do {
                for event in SubscriptionBody.events(in: record.body) {
                    try await handler(DeliveredEvent(schema: subscription.eventDeliverySchema, envelope: event, deliveryAttempt: record.attempt))
                }
                return AttemptOutcome(
                    statusCode: 200, reasonPhrase: "handled", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil)
            } catch {
                return .failure("handler threw: \(error)")
            }
        }
        let policy = SubscriptionPolicy(subscription: subscription, schedule: schedule, jitter: jitter, defaultDeadLetterTopic: deadLetterTopic)
        return await settlement.settle(record, outcome: outcome, policy: policy)
    }

    func skip(_ record: DeliveryRecord, reason: String) async -> DeliverySettlement.Settled {
        await settlement.skip(record, reason: reason)
    }
}
