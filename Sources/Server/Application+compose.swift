import AsyncHTTPClient
import Delivery
import Foundation
import Hummingbird
import Kafka
import Logging
import Prometheus
import RegistryEvents
import ServiceLifecycle
import Store
import Synchronization

/// What the composition tells its caller as it goes (`serve` prints them).
public struct CompositionEvents: Sendable {
    /// Kafka answered: the embedded cluster started, or the real one is reachable.
    public var kafkaConnected: @Sendable (KafkaConnection) -> Void = { _ in }
    /// The HTTP server accepts connections at this `host:port`.
    public var listening: @Sendable (String) async -> Void = { _ in }

    public init() {}
}

/// The whole running server from its typed configuration, as `regevents
/// serve` runs it: connects to Kafka (or starts the embedded cluster), opens
/// the store, creates the outbound HTTP clients behind the target guard, and
/// builds the directories, the dispatchers and the HTTP API, all as services
/// of one application. Graceful shutdown runs in reverse: HTTP stops taking
/// requests, the dispatchers finish and commit, the delivery log is written,
/// the outbound clients close, the producer flushes, the cluster stops.
///
/// - Throws: `ConfigurationError` when the store cannot be opened (naming
///   `--data-dir` or `--database-url`), or what connecting to Kafka throws.
public func buildApplication(
    configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry, events: CompositionEvents = CompositionEvents(),
    logger: Logger
) async throws -> some ApplicationProtocol {
    let dependencies = try await composeServer(configuration: configuration, metrics: metrics, events: events, logger: logger)
    return buildApplication(dependencies, logger: logger) { address in await events.listening(address) }
}

/// Every part of the server, wired as `serve` runs it; `buildApplication`
/// turns them into one application (tests test that application through its
/// router, with the same parts).
public func composeServer(
    configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry, events: CompositionEvents = CompositionEvents(),
    logger: Logger
) async throws -> ServerDependencies {
    let delivery = configuration.delivery
    let connection = try await KafkaConnection.connect(configuration, logger: logger)
    events.kafkaConnected(connection)
    let producer = try connection.makeProducer(logger: logger)
    // Before the HTTP clients: a client dropped without its shutdown traps.
    let opened = try await openStore(configuration.store, logger: logger)
    let store = opened.store
    let outbound = OutboundHTTP(delivery)
    let health = DeliveryHealth(logger: logger)
    let directory = WebhookDirectory(store: store, health: health, logger: logger)
    await directory.refresh()
    let sender = WebhookSender(http: outbound.deliveries, timeout: delivery.attemptTimeout)
    let lanes = DeliveryLanes(settings: delivery.lanes)
    let attempts = WebhookAttempts(
        sender: sender, producer: producer, store: store, layout: configuration.layout,
        settings: WebhookAttempts.Settings(schedule: delivery.webhookSchedule, logSize: delivery.webhookLogSize), lanes: lanes,
        health: health, logger: logger)
    let subscriptionDirectory = SubscriptionDirectory(store: store, health: health, logger: logger)
    await subscriptionDirectory.refresh()
    let subscriptionAttempts = SubscriptionAttempts(
        sender: sender, producer: producer, layout: configuration.layout, settings: delivery.subscriptionSettings, lanes: lanes,
        health: health, store: store, logger: logger)
    // Validation URLs name the server as clients reach it; with port 0
    // the real port is known only once it listens.
    let listening = ListeningAddress("http://\(configuration.listen)")
    let publicBaseURL = configuration.publicBaseURL
    let registryTopics = configuration.ingest.registryTopics
    let validator = SubscriptionValidator(
        sender: sender,
        topic: { scope in scope.kind == .registry ? registryTopics.topic(for: scope.name) : CustomTopic.eventSource(scope.name) },
        publicBaseURL: { publicBaseURL ?? listening.url })
    var dependencies = ServerDependencies(
        configuration: configuration, connection: connection, producer: producer, metrics: metrics,
        http: outbound.chartReads, store: store, delivery: WebhookDeliveryHooks(directory: directory, attempts: attempts),
        subscriptions: SubscriptionHooks(
            directory: subscriptionDirectory, validator: validator, sender: sender, attempts: subscriptionAttempts),
        logger: logger)
    dependencies.deliveryHealth = health
    dependencies.storeInfo = opened.info
    dependencies.listening = listening
    let client = connection.clientConfiguration
    let layout = configuration.layout
    dependencies.backgroundServices = [
        // First, so they stop last: the dispatchers' final attempts still
        // have their clients, and are logged in the store.
        opened.lifetime,
        outbound,
        attempts.deliveryLog,
        directory,
        subscriptionDirectory,
        WebhookDispatcher(
            client: client, layout: layout, directory: directory, attempts: attempts, lossMonitor: connection.lossMonitor,
            logger: logger),
        SubscriptionDispatcher(
            client: client, group: layout.subscriptionDispatcherGroup, layout: layout, routing: subscriptionDirectory,
            deliverer: subscriptionAttempts, linger: delivery.batchLinger,
            lossMonitor: connection.lossMonitor, logger: logger),
        RetryDispatcher(
            client: client, group: layout.retryGroup, layout: layout,
            targets: [
                WebhookRetryTarget(directory: directory, attempts: attempts, logger: logger),
                SubscriptionRetryTarget(
                    routing: subscriptionDirectory, deliverer: subscriptionAttempts, settlement: subscriptionAttempts.settlement,
                    logger: logger),
            ], lossMonitor: connection.lossMonitor, logger: logger),
        // Loss is watched before it happens: on the embedded cluster (about
        // 5 MiB a partition, ~1 KiB records) warn while a group can still catch up.
        try RetentionWatch(
            configuration: RetentionWatch.Configuration(
                client: client,
                groups: [
                    .init(group: layout.webhookDispatcherGroup, topics: [layout.acr]),
                    .init(group: layout.subscriptionDispatcherGroup, topics: [layout.cloudEvents]),
                    .init(group: layout.retryGroup, topics: layout.retryTiers),
                ] + (delivery.operationsWebhook == nil ? [] : [.init(group: layout.operationsWebhookGroup, topics: [layout.operations])]),
                estimatedRecordsPerPartition: connection.isEmbedded ? 5 * 1024 : nil),
            logger: logger),
    ]
    if let settings = delivery.operationsWebhook {
        dependencies.backgroundServices.append(
            OperationsWebhook(
                client: client, layout: layout, sender: WebhookSender(http: outbound.operations, timeout: delivery.attemptTimeout),
                settings: settings, lossMonitor: connection.lossMonitor, logger: logger))
    }
    if !connection.isEmbedded {
        await warnAboutReplication(connection, layout: layout, logger: logger)
    }
    return dependencies
}

/// A real cluster whose topics keep fewer than 3 copies loses
/// acknowledged events with one broker.
private func warnAboutReplication(_ connection: KafkaConnection, layout: TopicLayout, logger: Logger) async {
    guard let thin = try? await connection.admin.underReplicatedTopics(layout.allTopics, minimum: 3), !thin.isEmpty else { return }
    logger.warning(
        "Topics with a replication factor below 3: an acknowledged event is lost if the one broker holding it fails",
        metadata: ["topics": "\(thin.map { "\($0.topic)=\($0.replicationFactor)" })"])
}
