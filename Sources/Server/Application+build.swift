import Foundation
import AsyncHTTPClient
import Delivery
import Hummingbird
import HummingbirdCore
import NIOCore
import Store
import Kafka
import Logging
import Prometheus
import RegistryEvents
import ServiceLifecycle
import Synchronization

/// What the routes need, built once at start-up.
public struct ServerDependencies: Sendable {
    public let configuration: ServerConfiguration
    public let connection: KafkaConnection
    public let producer: KafkaProducer
    public let metrics: PrometheusCollectorRegistry
    public let ingest: IngestService
    public let store: any ControlPlaneStore
    /// What the webhook API needs of the dispatchers.
    public let delivery: any WebhookPinger
    /// What the subscription and topic APIs need of the dispatcher and validator.
    public let subscriptions: any SubscriptionValidating
    /// What keeps deliveries from being ready (readiness reports it).
    public var deliveryHealth: DeliveryHealth?
    /// Where the server listens, once it does (validation URLs name it).
    public var listening = ListeningAddress("http://\(ServerConfiguration().listen)")
    /// Which store this is, for `/v1/info`.
    public var storeInfo = ServerInfo.Store(kind: "sqlite", location: ":memory:")

    /// - Parameter http: the process's outbound HTTP, behind the target
    ///   guard (the caller creates and shuts it down).
    public init(
        configuration: ServerConfiguration, connection: KafkaConnection, producer: KafkaProducer,
        metrics: PrometheusCollectorRegistry, http: GuardedHTTPClient?, store: any ControlPlaneStore,
        delivery: any WebhookPinger, subscriptions: any SubscriptionValidating, logger: Logger = Logger(label: "regevents")
    ) {
        self.store = store
        self.delivery = delivery
        self.subscriptions = subscriptions
        self.configuration = configuration
        self.connection = connection
        self.producer = producer
        self.metrics = metrics
        // Only registries something listens to get a metric series of their
        // own: the name in an ingest URL is the caller's to invent.
        ingest = IngestService(
            producer: producer, layout: configuration.layout, settings: configuration.ingest, http: http,
            isKnownRegistry: { registry in delivery.listensTo(registry: registry) || subscriptions.listensTo(registry: registry) },
            tagIndex: store, logger: logger)
    }

    /// Long-running parts besides HTTP and the producer (dispatchers), in
    /// start order; they stop before the producer flushes.
    public var backgroundServices: [any Service] = []

    var topicCreator: KafkaTopicCreator {
        KafkaTopicCreator(
            connection: connection, partitions: configuration.partitions, replicationFactor: configuration.replicationFactor,
            logger: Logger(label: "regevents.topics"))
    }

    public var info: ServerInfo {
        ServerInfo(
            version: configuration.version, bootstrapServers: connection.bootstrapServers,
            embedded: connection.isEmbedded, layout: configuration.layout, store: storeInfo)
    }
}

/// The router: every route of the API, JSON errors for everything else.
public func buildRouter(_ dependencies: ServerDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: JSONErrorMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    let configuration = dependencies.configuration
    if configuration.tracing {
        // A server span per request, continuing a caller's `traceparent`;
        // query values that can be credentials are not recorded.
        router.add(middleware: TracingMiddleware(redactingQueryParameters: ["code", "key", "sig", "token", "access_token", "aeg-sas-key", "aeg-sas-token"]))
    }
    // Routes with no token of their own answer only to the server's own
    // host names (DNS rebinding), unless told to run open. Publishing and
    // the validation URL carry their own keys and codes.
    func browserGuard(tokenless: Bool, jsonBodies: Bool) -> BrowserGuardMiddleware<AppRequestContext> {
        BrowserGuardMiddleware(
            listenHost: configuration.listen.host, publicURL: configuration.publicBaseURL,
            checkHost: tokenless && !configuration.insecureNoAuth,
            requireJSONBodies: jsonBodies)
    }
    let probes = router.group().add(middleware: browserGuard(tokenless: configuration.adminToken == nil, jsonBodies: false))
    HealthController(producer: dependencies.producer, store: dependencies.store, deliveryHealth: dependencies.deliveryHealth)
        .addRoutes(to: probes)
    MetricsController(registry: dependencies.metrics).addRoutes(to: probes)
    OpenAPIController().addRoutes(to: probes)
    let v1 = router.group("v1")
    IngestController(service: dependencies.ingest)
        .addRoutes(to: v1.group().add(middleware: browserGuard(tokenless: configuration.ingest.token == nil, jsonBodies: false)))
    let management = ManagementMiddleware(
        token: BearerTokenMiddleware<AppRequestContext>.admin(configuration.adminToken),
        browserGuard: browserGuard(tokenless: configuration.adminToken == nil, jsonBodies: true))
    InfoController(info: dependencies.info).addRoutes(to: v1.group().add(middleware: management))
    KafkaTopicsController(connection: dependencies.connection, layout: dependencies.configuration.layout)
        .addRoutes(to: v1.group().add(middleware: management))
    let webhooks = WebhookController<AppRequestContext>(
        store: dependencies.store, quota: configuration.webhookQuota, defaultLocation: configuration.ingest.defaultLocation,
        delivery: dependencies.delivery, logger: Logger(label: "regevents.webhooks"),
        operations: OperationsLog(producer: dependencies.producer, layout: configuration.layout, logger: Logger(label: "regevents.operations")))
    webhooks.addRoutes(to: v1.group("registries/:registry").add(middleware: management))
    webhooks.addRoutes(
        to: router.group("subscriptions/:subscription/resourceGroups/:resourceGroup/providers/Microsoft.ContainerRegistry/registries/:registry")
            .add(middleware: management))
    let operatorTools = addOperatorRoutes(dependencies, v1: v1, management: management)
    let subscriptions = addEventGridRoutes(dependencies, router: router, v1: v1, management: management)
    ConsoleController(
        sessions: ConsoleSessions(adminToken: configuration.adminToken, secure: configuration.publicBaseURL?.hasPrefix("https://") ?? false),
        store: dependencies.store, webhooks: webhooks, deadLetters: operatorTools.deadLetters, replays: operatorTools.replays,
        operations: operatorTools.operations, subscriptions: subscriptions,
        kafkaTopics: KafkaTopicsController(connection: dependencies.connection, layout: configuration.layout),
        logger: Logger(label: "regevents.console")
    ).addRoutes(to: router.group("console").add(middleware: browserGuard(tokenless: configuration.adminToken == nil, jsonBodies: false)))
    return router
}

/// The operator's controllers, which the console calls too.
struct OperatorTools {
    var deadLetters: DeadLetterController<AppRequestContext>
    var replays: ReplayController<AppRequestContext>
    var operations: OperationsReader
}

/// Dead letters, replay and operational events: what an operator does
/// with deliveries that failed or must be sent again, and what happened.
private func addOperatorRoutes(
    _ dependencies: ServerDependencies, v1: RouterGroup<AppRequestContext>, management: ManagementMiddleware<AppRequestContext>
) -> OperatorTools {
    let layout = dependencies.configuration.layout
    let connection = dependencies.connection
    let logger = Logger(label: "regevents.operations")
    let settlement = DeliverySettlement(producer: dependencies.producer, layout: layout, logger: logger)
    let deadLetters = DeadLetterController<AppRequestContext>(
        reader: DeadLetterReader(
            admin: connection.admin, client: connection.clientConfiguration, defaultTopic: layout.deadLetter, logger: logger),
        settlement: settlement, store: dependencies.store, layout: layout, logger: logger)
    deadLetters.addRoutes(to: v1.group().add(middleware: management))
    let operations = OperationsReader(
        admin: connection.admin, client: connection.clientConfiguration, layout: layout, logger: logger)
    OperationsController<AppRequestContext>(reader: operations).addRoutes(to: v1.group().add(middleware: management))
    let replays = ReplayController<AppRequestContext>(
        replayer: Replayer(
            admin: connection.admin, client: connection.clientConfiguration, settlement: settlement, layout: layout, logger: logger),
        store: dependencies.store, logger: logger)
    replays.addRoutes(
        registries: v1.group("registries/:registry").add(middleware: management), topics: v1.group("topics/:topic").add(middleware: management))
    return OperatorTools(deadLetters: deadLetters, replays: replays, operations: operations)
}

/// Event subscriptions (on registries and custom topics), custom topics and
/// their publish endpoints, and the validation URL.
/// Answers the subscription controllers, per scope kind, for the console.
private func addEventGridRoutes(
    _ dependencies: ServerDependencies, router: Router<AppRequestContext>, v1: RouterGroup<AppRequestContext>,
    management: ManagementMiddleware<AppRequestContext>
) -> [SubscriptionScope.Kind: EventSubscriptionController<AppRequestContext>] {
    let configuration = dependencies.configuration
    let logger = Logger(label: "regevents.subscriptions")
    let creator = dependencies.topicCreator
    var controllers: [SubscriptionScope.Kind: EventSubscriptionController<AppRequestContext>] = [:]
    for (kind, path) in [(SubscriptionScope.Kind.registry, "registries/:registry"), (.topic, "topics/:topic")] {
        let controller = EventSubscriptionController<AppRequestContext>(
            store: dependencies.store, kind: kind, registryTopics: configuration.ingest.registryTopics, layout: configuration.layout,
            hooks: dependencies.subscriptions, topicCreator: creator, quota: configuration.subscriptionQuota, logger: logger,
            operations: OperationsLog(producer: dependencies.producer, layout: configuration.layout, logger: logger))
        controller.addRoutes(to: v1.group(RouterPath(path)).add(middleware: management))
        controllers[kind] = controller
    }
    CustomTopicController<AppRequestContext>(
        store: dependencies.store, layout: configuration.layout, publicBaseURL: configuration.publicBaseURL,
        hooks: dependencies.subscriptions, topicCreator: creator, quota: configuration.customTopicQuota, logger: logger
    ).addRoutes(to: v1.group("topics").add(middleware: management))
    TopicPublishController<AppRequestContext>(
        store: dependencies.store, producer: dependencies.producer, layout: configuration.layout,
        publicBaseURL: configuration.publicBaseURL, logger: logger
    ).addRoutes(to: v1, root: router)
    ValidationController<AppRequestContext>(store: dependencies.store, hooks: dependencies.subscriptions, logger: logger)
        .addRoutes(to: v1)
    return controllers
}

/// The whole server as one application: the HTTP server plus the Kafka
/// clients and the embedded cluster as services. Shutdown runs in reverse:
/// HTTP stops taking requests, the producer flushes, then the cluster stops.
///
/// - Parameter onListening: told the bound address once the server accepts
///   connections (the real port when the configuration asked for port 0).
public func buildApplication(
    _ dependencies: ServerDependencies, logger: Logger,
    onListening: @escaping @Sendable (String) async -> Void = { _ in }
) -> some ApplicationProtocol {
    var services: [any Service] = []
    if let cluster = dependencies.connection.embeddedCluster { services.append(cluster) }
    services.append(dependencies.producer)
    services += dependencies.backgroundServices
    let listen = dependencies.configuration.listen
    return Application(
        router: buildRouter(dependencies),
        server: .http1(configuration: httpConfiguration(dependencies.configuration)),
        configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "regevents"),
        services: services,
        onServerRunning: { [listening = dependencies.listening] channel in
            let port = channel.localAddress?.port ?? listen.port
            let address = ListenAddress(host: listen.host, port: port).description
            listening.url = "http://\(address)"
            await onListening(address)
        },
        logger: logger
    )
}

/// The HTTP server's own bounds: a request must arrive in full within the
/// read timeout (slowloris), and its headers stay small.
func httpConfiguration(_ configuration: ServerConfiguration) -> HTTP1Channel.Configuration {
    let (seconds, attoseconds) = configuration.requestReadTimeout.components
    let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    return HTTP1Channel.Configuration(
        additionalChannelHandlers: [MalformedRequestAnswer(), RequestReadDeadline(timeout: timeout)], idleTimeout: timeout,
        httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 100))
}

/// The URL the server listens on: the configured one until it listens, then
/// the bound one (the real port when the configuration asked for port 0).
public final class ListeningAddress: Sendable {
    private let current: Mutex<String>

    public init(_ url: String) { current = Mutex(url) }

    public var url: String {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
