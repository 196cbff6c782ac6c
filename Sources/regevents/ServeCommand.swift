import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import RegistryEvents
import Delivery
import PostgresStore
import Server
import Store
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the RegistryEvents server (on an embedded, in-memory Kafka unless --kafka-brokers is given)."
    )

    @Option(help: "host:port to listen on; port 0 picks a free port (env REGEVENTS_LISTEN; default 127.0.0.1:8080).")
    var listen: String?

    @Option(help: "Directory for the control-plane database (env REGEVENTS_DATA_DIR; default ./data).")
    var dataDir: String?

    @Option(help: "PostgreSQL shared by several nodes, postgres://user:password@host:5432/db?sslmode=require, instead of the SQLite file in --data-dir (env REGEVENTS_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "File holding the database URL, e.g. a mounted secret (env REGEVENTS_DATABASE_URL_FILE); trailing newlines are ignored.")
    var databaseURLFile: String?

    @Option(help: "Connections to PostgreSQL per node, plus one for change notifications (env REGEVENTS_DATABASE_POOL_SIZE; default 10).")
    var databasePoolSize: Int?

    @Option(help: "Kafka bootstrap servers host:port,... (env REGEVENTS_KAFKA_BROKERS). Without it an embedded, volatile cluster starts.")
    var kafkaBrokers: String?

    @Option(
        name: .customLong("kafka-property"),
        help: "A librdkafka property key=value, e.g. security.protocol=SASL_SSL; repeatable (env REGEVENTS_KAFKA_PROPERTIES, separated by ';').")
    var kafkaProperties: [String] = []

    @Option(help: "Prefix of every topic name (env REGEVENTS_TOPIC_PREFIX; default registry-events).")
    var topicPrefix: String?

    @Option(help: "Partitions of topics this server creates (env REGEVENTS_PARTITIONS; default 6).")
    var partitions: Int?

    @Option(help: "Replication factor of topics this server creates (env REGEVENTS_REPLICATION_FACTOR; default 1).")
    var replicationFactor: Int?

    @Option(help: "Seconds start-up waits for Kafka to answer (env REGEVENTS_KAFKA_STARTUP_TIMEOUT; default 15).")
    var kafkaStartupTimeout: Int?

    @Option(help: "Seconds a produced record may wait for Kafka's acknowledgement before ingest answers 503 (default 30).")
    var kafkaMessageTimeout: Int = 30

    @Option(help: "Brokers of the embedded cluster.")
    var embeddedBrokers: Int = 1

    @Option(help: "Token the management routes (webhooks, event subscriptions, topics) need as Authorization: Bearer <token> (env REGEVENTS_ADMIN_TOKEN).")
    var adminToken: String?

    @Option(help: "File holding the admin token, e.g. a mounted secret (env REGEVENTS_ADMIN_TOKEN_FILE); trailing newlines are ignored.")
    var adminTokenFile: String?

    @Flag(help: "Listen on a non-loopback address without --admin-token and --ingest-token: anyone who reaches the port can manage and inject. Never in production.")
    var insecureNoAuth = false

    @Option(help: "Webhooks allowed per registry (default 500).")
    var webhookQuota: Int = 500

    @Option(help: "Event subscriptions allowed per registry or custom topic (default 500, Event Grid's).")
    var subscriptionQuota: Int = 500

    @Option(help: "Custom topics allowed (default 100, Event Grid's).")
    var topicQuota: Int = 100

    @Option(help: .hidden)
    var requestReadTimeout: Int = 30

    @Flag(help: "Allow webhooks to loopback, private, link-local and metadata addresses (refused by default).")
    var allowPrivateTargets = false

    @Option(help: "Allow webhooks to this address range, e.g. 10.1.0.0/16; repeatable.")
    var allowTargetCidr: [String] = []

    @Option(help: "Send every outbound request through this HTTP CONNECT proxy, e.g. http://smokescreen:4750 (env REGEVENTS_EGRESS_PROXY).")
    var egressProxy: String?

    @Option(help: "Connections per endpoint host:port (default 1024, above the lanes of the targets one host serves, so lanes and not the pool limit each target).")
    var webhookConnectionsPerHost: Int = 1024

    @Option(help: "Seconds one delivery attempt may take in all: connect, request, response head and body (default 30).")
    var webhookTimeout: Int = 30

    @Option(help: "Attempts in flight per webhook or subscription unless it sets its own (default 16).")
    var deliveryConcurrency: Int = 16

    @Option(help: "Disable a webhook that fails without a single success for this long (e.g. 5d, the default; never: keep it).")
    var endpointDisableAfter: String = "5d"

    @Option(help: "Attempts the health rule needs in that time before it disables a webhook (default 10).")
    var endpointDisableMinAttempts: Int = 10

    @Option(help: "Seconds a graceful shutdown (SIGTERM) may take before in-flight attempts are abandoned, uncommitted (default 25).")
    var shutdownTimeout: Int = 25

    @Option(help: "Webhook retry delays, comma-separated (e.g. 10s,1m,10m,1h,6h; ms, s, m, h).")
    var webhookRetrySchedule: String = "10s,1m,10m,1h,6h"

    @Option(help: "Attempts before a webhook delivery is dead-lettered (default 9).")
    var webhookMaxAttempts: Int = 9

    @Option(help: "How long a webhook delivery is retried, e.g. 24h (default).")
    var webhookTTL: String = "24h"

    @Option(help: "Delivery-log entries kept per webhook for list-events (default 1000).")
    var webhookLogSize: Int = 1000

    @Option(help: "URL clients reach this server by, for topic endpoints and validation URLs (env REGEVENTS_PUBLIC_URL; default http://<listen address>).")
    var publicURL: String?

    @Option(help: "Event subscription retry delays, comma-separated (default Event Grid's: 10s,30s,1m,5m,10m,30m,1h,3h,6h,12h).")
    var subscriptionRetrySchedule: String = "10s,30s,1m,5m,10m,30m,1h,3h,6h,12h"

    @Option(help: "How long an event waits for more to fill a subscription's batch (default 100ms; 0 sends what one poll brought).")
    var subscriptionBatchLinger: String = "100ms"

    @Option(help: .hidden)
    var subscriptionMinute: String = "1m"

    @Option(help: .hidden)
    var subscriptionJitter: Double = 0.1

    @Option(help: "Token registries must send as Authorization: Bearer <token> on ingest routes (env REGEVENTS_INGEST_TOKEN).")
    var ingestToken: String?

    @Option(help: "File holding the ingest token (env REGEVENTS_INGEST_TOKEN_FILE); trailing newlines are ignored.")
    var ingestTokenFile: String?

    @Option(help: "GitHub Packages' webhook secret: /v1/registries/{r}/github then takes deliveries signed with it (X-Hub-Signature-256) instead of the ingest token (env REGEVENTS_GITHUB_WEBHOOK_SECRET).")
    var githubWebhookSecret: String?

    @Option(help: "File holding that secret (env REGEVENTS_GITHUB_WEBHOOK_SECRET_FILE); trailing newlines are ignored.")
    var githubWebhookSecretFile: String?

    @Option(help: "The Quay registry whose pushes /v1/registries/{r}/quay takes: each pushed tag's digest is looked up there (default https://quay.io).")
    var quayRegistryURL: String = "https://quay.io"

    @Option(help: "File holding user:password (or a robot account's name:token) for reading manifests from that Quay (env REGEVENTS_QUAY_CREDENTIALS[_FILE]); without it the lookup is anonymous.")
    var quayCredentialsFile: String?

    @Option(help: "The registry whose pushes /v1/registries/{r}/dockerhub takes: each pushed tag's digest is looked up there (default https://registry-1.docker.io).")
    var dockerhubRegistryURL: String = "https://registry-1.docker.io"

    @Option(help: "File holding user:access-token for reading private repositories on Docker Hub (env REGEVENTS_DOCKERHUB_CREDENTIALS[_FILE]); without it the lookup is anonymous.")
    var dockerhubCredentialsFile: String?

    @Option(help: "Events one ingest request may carry; more are answered 413 (default 1000).")
    var maxEventsPerRequest: Int = 1000

    @Option(help: "Largest accepted request body in bytes (env REGEVENTS_MAX_BODY_BYTES; default 1048576).")
    var maxBodyBytes: Int?

    @Option(help: "Location (replica) events carry unless the request gives ?location= (env REGEVENTS_LOCATION; default local).")
    var location: String?

    @Option(help: "How the cloudevents topic carries events: structured or binary (env REGEVENTS_CLOUDEVENTS_MODE; default structured).")
    var cloudeventsMode: String?

    @Flag(help: "Keep Distribution pushes by digest (no tag) as push events.")
    var ingestUntagged = false

    @Flag(help: "Do not read a pushed Helm chart's config blob from the registry (name and version then come from repository and tag).")
    var noChartConfig = false

    @Option(help: "How many recent event ids are remembered to drop a registry's re-sent events (default 100000; 0 turns it off).")
    var dedupeWindowSize: Int = 100_000

    @Option(help: "How long, in seconds, a recent event id is remembered (default 3600).")
    var dedupeWindowSeconds: Int = 3600

    @Option(
        name: .customLong("event-grid-topic"),
        help: "REGISTRY=TOPIC: the Event Grid topic / CloudEvents source of a registry (default /registries/<name>); repeatable.")
    var eventGridTopics: [String] = []

    @Option(help: "Also send every operational event (endpoint disabled, recovered, dead-lettered, …) to this URL, signed with --operations-webhook-secret (env REGEVENTS_OPERATIONS_WEBHOOK).")
    var operationsWebhook: String?

    @Option(help: "The operations webhook's signing secret, whsec_<base64 of 24 to 64 bytes> (env REGEVENTS_OPERATIONS_WEBHOOK_SECRET).")
    var operationsWebhookSecret: String?

    @Option(help: "File holding that secret (env REGEVENTS_OPERATIONS_WEBHOOK_SECRET_FILE); trailing newlines are ignored.")
    var operationsWebhookSecretFile: String?

    @Option(help: "OpenTelemetry collector to send traces to over OTLP/HTTP, e.g. http://127.0.0.1:4318 (spans go to <url>/v1/traces). Off by default; OTEL_EXPORTER_OTLP_ENDPOINT also turns it on.")
    var otlpEndpoint: String?

    @Option(help: "OTLP encoding: http/protobuf (default) or http/json (OTEL_EXPORTER_OTLP_PROTOCOL overrides).")
    var otlpProtocol: String = "http/protobuf"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env REGEVENTS_LOG_LEVEL; default info).")
    var logLevel: Logger.Level?

    func run() async throws {
        try await reportingFailures {
            do {
                try await serve()
            } catch let error as ConfigurationError {
                // Every bad setting, whichever step found it: exit 64, naming its flag.
                throw CommandFailure(message: error.description, exitCode: 64)
            }
        }
    }

    private func serve() async throws {
        let configuration = try makeConfiguration()
        let level = logLevel ?? EnvironmentDefaults.value("REGEVENTS_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSetup.bootstrap(level: level)
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let logger = Logger(label: "regevents")
        try await serve(configuration, metrics: metrics, tracer: try tracing(configuration), logger: logger)
    }

    /// The tracer's exporter, when tracing is asked for; a bad endpoint or
    /// protocol stops `serve` with its flag.
    private func tracing(_ configuration: ServerConfiguration) throws -> (any Service)? {
        guard configuration.tracing else { return nil }
        guard TracingSetup.protocols.contains(otlpProtocol) else {
            throw ConfigurationError(flag: "--otlp-protocol", message: "must be http/protobuf or http/json, got \(otlpProtocol)")
        }
        if let otlpEndpoint, !(otlpEndpoint.hasPrefix("http://") || otlpEndpoint.hasPrefix("https://")) {
            throw ConfigurationError(flag: "--otlp-endpoint", message: "must be an http:// or https:// URL, got \(otlpEndpoint)")
        }
        do {
            return try TracingSetup.bootstrap(
                endpoint: otlpEndpoint, protocol: otlpProtocol, environment: ProcessInfo.processInfo.environment,
                logger: Logger(label: "regevents.tracing"))
        } catch {
            throw ConfigurationError(flag: "--otlp-endpoint", message: "\(error)")
        }
    }

    /// The delivery flags, read before anything starts, so a bad one stops
    /// `serve` with its message (and nothing to clean up).
    private func deliveryConfiguration() throws -> DeliveryConfiguration {
        guard (1...1000).contains(deliveryConcurrency) else {
            throw ConfigurationError(flag: "--delivery-concurrency", message: "must be 1 to 1000, got \(deliveryConcurrency)")
        }
        var delivery = DeliveryConfiguration()
        delivery.connectionsPerHost = try validatedConnectionsPerHost()
        delivery.lanes = DeliveryLanes.Settings(defaultLimit: deliveryConcurrency, health: try healthRule())
        delivery.attemptTimeout = .seconds(try webhookTimeoutSeconds())
        delivery.targetGuard = try targetGuard()
        delivery.egressProxy = try egressProxyServer()
        delivery.webhookSchedule = try webhookSchedule()
        delivery.webhookLogSize = webhookLogSize
        delivery.subscriptionSettings = try subscriptionSettings()
        delivery.batchLinger = try duration(subscriptionBatchLinger, flag: "--subscription-batch-linger", allowZero: true)
        delivery.operationsWebhook = try operationsWebhookSettings()
        return delivery
    }

    /// The operations webhook, when one is named: an http(s) URL and a
    /// `whsec_` secret, or `serve` stops naming the flag.
    private func operationsWebhookSettings() throws -> OperationsWebhook.Settings? {
        let secret = try TokenSource.read(
            value: operationsWebhookSecret, file: operationsWebhookSecretFile, flag: "--operations-webhook-secret",
            environment: "REGEVENTS_OPERATIONS_WEBHOOK_SECRET")
        guard let url = operationsWebhook ?? EnvironmentDefaults.value("REGEVENTS_OPERATIONS_WEBHOOK") else {
            if secret != nil {
                throw ConfigurationError(flag: "--operations-webhook-secret", message: "is given without --operations-webhook")
            }
            return nil
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
            throw ConfigurationError(flag: "--operations-webhook", message: "must be an http(s) URL, got \"\(url)\"")
        }
        guard let secret else {
            throw ConfigurationError(
                flag: "--operations-webhook-secret",
                message: "is needed with --operations-webhook: its requests are signed (make one with: openssl rand -base64 32 | sed 's/^/whsec_/')")
        }
        guard WebhookSigner.key(of: secret) != nil else {
            throw ConfigurationError(
                flag: "--operations-webhook-secret", message: "must be whsec_ followed by the base64 of 24 to 64 bytes")
        }
        return OperationsWebhook.Settings(url: url, secret: secret)
    }

    /// Maps nothing itself: the composition is `Server.buildApplication(configuration:)`.
    private func serve(
        _ configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry, tracer: (any Service)?, logger: Logger
    ) async throws {
        guard (1...3600).contains(shutdownTimeout) else {
            throw ConfigurationError(flag: "--shutdown-timeout", message: "must be 1 to 3600 seconds, got \(shutdownTimeout)")
        }
        if case .sqlite(let directory) = configuration.store { try prepareDataDirectory(directory) }
        if !configuration.listen.isLoopback && (configuration.adminToken == nil || configuration.ingest.token == nil) {
            logger.warning(
                "--insecure-no-auth: listening on a non-loopback address without --admin-token or --ingest-token; anyone who can reach it can manage webhooks, event subscriptions and topics, read their secrets, and inject events",
                metadata: ["listen": "\(configuration.listen)"])
        }
        var events = CompositionEvents()
        events.kafkaConnected = { connection in
            if connection.isEmbedded {
                printLine(
                    "regevents: embedded Kafka (in memory, volatile: about 5 MiB per partition, lost on restart; use --kafka-brokers for anything that matters) at \(connection.bootstrapServers)"
                )
            } else {
                printLine("regevents: Kafka at \(connection.bootstrapServers)")
            }
        }
        events.listening = { address in printLine("regevents: listening on http://\(address)") }
        let app = try await buildApplication(configuration: configuration, metrics: metrics, events: events, logger: logger)
        // The exporter stops last, so the spans of the shutdown are sent.
        try await BoundedShutdown.run((tracer.map { [$0] } ?? []) + [app], timeout: .seconds(shutdownTimeout), logger: logger)
        logger.info("regevents stopped")
    }

    private func makeConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.tracing = TracingSetup.isRequested(endpoint: otlpEndpoint, environment: ProcessInfo.processInfo.environment)
        if let listen = listen ?? EnvironmentDefaults.value("REGEVENTS_LISTEN") {
            configuration.listen = try ListenAddress(parsing: listen)
        }
        configuration.store = try storeConfiguration()
        configuration.kafkaBrokers = kafkaBrokers ?? EnvironmentDefaults.value("REGEVENTS_KAFKA_BROKERS")
        let propertyTexts = kafkaProperties.isEmpty
            ? (EnvironmentDefaults.value("REGEVENTS_KAFKA_PROPERTIES")?.split(separator: ";").map(String.init) ?? [])
            : kafkaProperties
        configuration.kafkaProperties = try propertyTexts.map { text in
            guard let property = KafkaProperty(parsing: text) else {
                throw ConfigurationError(flag: "--kafka-property", message: "expected key=value, got \"\(text)\"")
            }
            return property
        }
        configuration.topicPrefix = topicPrefix ?? EnvironmentDefaults.value("REGEVENTS_TOPIC_PREFIX") ?? TopicLayout.defaultPrefix
        configuration.partitions = try partitions ?? integerFromEnvironment("REGEVENTS_PARTITIONS", flag: "--partitions") ?? 6
        configuration.replicationFactor = try replicationFactor
            ?? integerFromEnvironment("REGEVENTS_REPLICATION_FACTOR", flag: "--replication-factor") ?? 1
        configuration.embeddedBrokers = embeddedBrokers
        let timeout = try kafkaStartupTimeout
            ?? integerFromEnvironment("REGEVENTS_KAFKA_STARTUP_TIMEOUT", flag: "--kafka-startup-timeout") ?? 15
        guard (1...600).contains(timeout) else {
            throw ConfigurationError(flag: "--kafka-startup-timeout", message: "must be 1 to 600 seconds, got \(timeout)")
        }
        configuration.kafkaStartupTimeout = .seconds(timeout)
        guard (1...600).contains(kafkaMessageTimeout) else {
            throw ConfigurationError(
                flag: "--kafka-message-timeout", message: "must be 1 to 600 seconds, got \(kafkaMessageTimeout)")
        }
        configuration.kafkaMessageTimeout = .seconds(kafkaMessageTimeout)
        guard (1...16).contains(embeddedBrokers) else {
            throw ConfigurationError(flag: "--embedded-brokers", message: "must be between 1 and 16, got \(embeddedBrokers)")
        }
        configuration.ingest = try makeIngestSettings()
        configuration.adminToken = try TokenSource.read(
            value: adminToken, file: adminTokenFile, flag: "--admin-token", environment: "REGEVENTS_ADMIN_TOKEN")
        if let token = configuration.adminToken, token.isEmpty || token.contains(where: \.isWhitespace) {
            throw ConfigurationError(flag: "--admin-token", message: "must be non-empty and contain no spaces")
        }
        configuration.insecureNoAuth = insecureNoAuth
        configuration.webhookQuota = try Self.within(1...100_000, webhookQuota, flag: "--webhook-quota")
        configuration.subscriptionQuota = try Self.within(1...100_000, subscriptionQuota, flag: "--subscription-quota")
        configuration.customTopicQuota = try Self.within(1...10_000, topicQuota, flag: "--topic-quota")
        configuration.requestReadTimeout = .seconds(
            try Self.within(1...3600, requestReadTimeout, flag: "--request-read-timeout"))
        configuration.publicBaseURL = publicURL ?? EnvironmentDefaults.value("REGEVENTS_PUBLIC_URL")
        if let url = configuration.publicBaseURL, URL(string: url)?.scheme?.hasPrefix("http") != true || URL(string: url)?.host == nil {
            throw ConfigurationError(flag: "--public-url", message: "must be an http(s) URL like https://events.example.com, got \"\(url)\"")
        }
        configuration.delivery = try deliveryConfiguration()
        try configuration.validate()
        return configuration
    }

    /// A registry API for digest lookups: an http(s) URL without a path, and
    /// `user:password` credentials from a file (never from a flag's value,
    /// which `ps` shows).
    static func registryAPI(_ url: String, flag: String, credentialsFile: String?, credentials name: String) throws
        -> ManifestDigestResolver.Configuration
    {
        guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
            components.host?.isEmpty == false, components.path.isEmpty || components.path == "/", components.user == nil,
            components.password == nil, components.query == nil, components.fragment == nil
        else {
            // Not echoed: it may carry a password.
            throw ConfigurationError(flag: flag, message: "must be the registry's http(s) base URL like https://quay.io, with no path, query, fragment or user:password")
        }
        let credentials = try TokenSource.read(
            value: nil, file: credentialsFile, flag: "--\(name)-credentials", environment: "REGEVENTS_\(name.uppercased())_CREDENTIALS")
        if let value = credentials {
            guard let colon = value.firstIndex(of: ":"), colon != value.startIndex, !value.contains("\n") else {
                throw ConfigurationError(flag: "--\(name)-credentials-file", message: "must hold user:password on one line")
            }
        }
        return ManifestDigestResolver.Configuration(baseURL: url, credentials: credentials)
    }

    private func makeIngestSettings() throws -> IngestSettings {
        var settings = IngestSettings()
        settings.token = try TokenSource.read(
            value: ingestToken, file: ingestTokenFile, flag: "--ingest-token", environment: "REGEVENTS_INGEST_TOKEN")
        settings.githubWebhookSecret = try TokenSource.read(
            value: githubWebhookSecret, file: githubWebhookSecretFile, flag: "--github-webhook-secret",
            environment: "REGEVENTS_GITHUB_WEBHOOK_SECRET")
        // An empty key is one anybody can sign with.
        if settings.githubWebhookSecret?.isEmpty == true {
            throw ConfigurationError(flag: "--github-webhook-secret", message: "must not be empty")
        }
        settings.registryAPIs = [
            QuayAdapter.route: try Self.registryAPI(
                quayRegistryURL, flag: "--quay-registry-url", credentialsFile: quayCredentialsFile, credentials: "quay"),
            DockerHubAdapter.route: try Self.registryAPI(
                dockerhubRegistryURL, flag: "--dockerhub-registry-url", credentialsFile: dockerhubCredentialsFile,
                credentials: "dockerhub"),
        ]
        guard (1...100_000).contains(maxEventsPerRequest) else {
            throw ConfigurationError(
                flag: "--max-events-per-request", message: "must be between 1 and 100000, got \(maxEventsPerRequest)")
        }
        settings.maxEventsPerRequest = maxEventsPerRequest
        settings.maxBodyBytes = try maxBodyBytes
            ?? integerFromEnvironment("REGEVENTS_MAX_BODY_BYTES", flag: "--max-body-bytes") ?? settings.maxBodyBytes
        settings.defaultLocation = location ?? EnvironmentDefaults.value("REGEVENTS_LOCATION") ?? "local"
        if let modeText = cloudeventsMode ?? EnvironmentDefaults.value("REGEVENTS_CLOUDEVENTS_MODE") {
            guard let mode = CloudEventsMode(rawValue: modeText) else {
                throw ConfigurationError(flag: "--cloudevents-mode", message: "must be structured or binary, got \"\(modeText)\"")
            }
            settings.cloudEventsMode = mode
        }
        settings.ingestUntagged = ingestUntagged
        settings.readChartConfigs = !noChartConfig
        guard dedupeWindowSize >= 0 else {
            throw ConfigurationError(flag: "--dedupe-window-size", message: "must not be negative, got \(dedupeWindowSize)")
        }
        guard dedupeWindowSeconds >= 0 else {
            throw ConfigurationError(flag: "--dedupe-window-seconds", message: "must not be negative, got \(dedupeWindowSeconds)")
        }
        settings.deduplication = RecentEvents.Window(capacity: dedupeWindowSize, maxAge: .seconds(dedupeWindowSeconds))
        var overrides: [String: String] = [:]
        for text in eventGridTopics {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex
            else {
                throw ConfigurationError(flag: "--event-grid-topic", message: "expected REGISTRY=TOPIC, got \"\(text)\"")
            }
            overrides[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        settings.registryTopics = RegistryTopics(overrides: overrides)
        return settings
    }

    private func targetGuard() throws -> TargetGuard {
        let ranges = try allowTargetCidr.map { text -> CIDR in
            guard let range = CIDR(parsing: text) else {
                throw ConfigurationError(flag: "--allow-target-cidr", message: "\"\(text)\" is not an address range like 10.0.0.0/8")
            }
            return range
        }
        return TargetGuard(allowPrivate: allowPrivateTargets, allowedCIDRs: ranges)
    }

    /// `--egress-proxy http://host:port`: AsyncHTTPClient tunnels every
    /// request through it with CONNECT, to the checked address.
    private func egressProxyServer() throws -> HTTPClient.Configuration.Proxy? {
        guard let text = egressProxy ?? EnvironmentDefaults.value("REGEVENTS_EGRESS_PROXY") else { return nil }
        guard let url = URL(string: text), url.scheme?.lowercased() == "http", let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/", url.user == nil
        else {
            throw ConfigurationError(flag: "--egress-proxy", message: "expected http://host:port, got \"\(text)\"")
        }
        return .server(host: host, port: url.port ?? 80)
    }

    /// The endpoint health rule: when a failing webhook is disabled.
    private func healthRule() throws -> DeliveryLanes.HealthRule {
        guard (1...1_000_000).contains(endpointDisableMinAttempts) else {
            throw ConfigurationError(
                flag: "--endpoint-disable-min-attempts", message: "must be 1 to 1000000, got \(endpointDisableMinAttempts)")
        }
        if endpointDisableAfter == "never" { return DeliveryLanes.HealthRule(disableAfter: nil, minimumAttempts: endpointDisableMinAttempts) }
        guard let after = DurationText.parse(endpointDisableAfter) else {
            throw ConfigurationError(
                flag: "--endpoint-disable-after", message: "a duration (e.g. 5d, 12h, 30m) or never, got \(endpointDisableAfter)")
        }
        return DeliveryLanes.HealthRule(disableAfter: after, minimumAttempts: endpointDisableMinAttempts)
    }

    private func validatedConnectionsPerHost() throws -> Int {
        guard (1...10000).contains(webhookConnectionsPerHost) else {
            throw ConfigurationError(
                flag: "--webhook-connections-per-host", message: "must be 1 to 10000, got \(webhookConnectionsPerHost)")
        }
        return webhookConnectionsPerHost
    }

    private func webhookTimeoutSeconds() throws -> Int64 {
        guard (1...600).contains(webhookTimeout) else {
            throw ConfigurationError(flag: "--webhook-timeout", message: "must be 1 to 600 seconds, got \(webhookTimeout)")
        }
        return Int64(webhookTimeout)
    }

    private func webhookSchedule() throws -> RetrySchedule {
        let delays = try webhookRetrySchedule.split(separator: ",").map { text -> Duration in
            guard let duration = DurationText.parse(String(text)) else {
                throw ConfigurationError(flag: "--webhook-retry-schedule", message: "\"\(text)\" is not a duration like 500ms, 10s, 1m or 6h")
            }
            return duration
        }
        guard !delays.isEmpty else { throw ConfigurationError(flag: "--webhook-retry-schedule", message: "give at least one delay") }
        guard let ttl = DurationText.parse(webhookTTL) else {
            throw ConfigurationError(flag: "--webhook-ttl", message: "\"\(webhookTTL)\" is not a duration")
        }
        guard (1...100).contains(webhookMaxAttempts) else {
            throw ConfigurationError(flag: "--webhook-max-attempts", message: "must be 1 to 100, got \(webhookMaxAttempts)")
        }
        guard webhookLogSize >= 1 else {
            throw ConfigurationError(flag: "--webhook-log-size", message: "must be at least 1")
        }
        return RetrySchedule(delays: delays, maxAttempts: webhookMaxAttempts, timeToLive: ttl)
    }

    private func subscriptionSettings() throws -> SubscriptionAttempts.Settings {
        let delays = try subscriptionRetrySchedule.split(separator: ",").map { try duration(String($0), flag: "--subscription-retry-schedule") }
        guard !delays.isEmpty else { throw ConfigurationError(flag: "--subscription-retry-schedule", message: "give at least one delay") }
        guard (0...1).contains(subscriptionJitter) else {
            throw ConfigurationError(flag: "--subscription-jitter", message: "must be 0 to 1, got \(subscriptionJitter)")
        }
        return SubscriptionAttempts.Settings(
            delays: delays, minute: try duration(subscriptionMinute, flag: "--subscription-minute"), jitter: subscriptionJitter)
    }

    private func duration(_ text: String, flag: String, allowZero: Bool = false) throws -> Duration {
        if allowZero, ["0", "0ms", "0s"].contains(text.trimmingCharacters(in: .whitespaces)) { return .zero }
        guard let duration = DurationText.parse(text) else {
            throw ConfigurationError(flag: flag, message: "\"\(text)\" is not a duration like 500ms, 10s, 1m or 6h")
        }
        return duration
    }

    private func integerFromEnvironment(_ name: String, flag: String) throws -> Int? {
        guard let text = EnvironmentDefaults.value(name) else { return nil }
        guard let value = Int(text) else {
            throw ConfigurationError(flag: flag, message: "\(name) must be a whole number, got \"\(text)\"")
        }
        return value
    }

    /// PostgreSQL when a database URL is given (flag, file or environment), else SQLite in the data directory.
    private func storeConfiguration() throws -> StoreConfiguration {
        guard
            let text = try TokenSource.read(
                value: databaseURL, file: databaseURLFile, flag: "--database-url", environment: "REGEVENTS_DATABASE_URL")
        else {
            if databasePoolSize != nil {
                throw ConfigurationError(flag: "--database-pool-size", message: "applies only with --database-url")
            }
            return .sqlite(directory: dataDir ?? EnvironmentDefaults.value("REGEVENTS_DATA_DIR") ?? "./data")
        }
        if dataDir != nil {
            throw ConfigurationError(
                flag: "--data-dir", message: "give --data-dir (SQLite, one node) or --database-url (PostgreSQL), not both")
        }
        let url: DatabaseURL
        do {
            url = try DatabaseURL(parsing: text)
        } catch {
            throw ConfigurationError(flag: "--database-url", message: error.description)
        }
        let poolSize = try databasePoolSize
            ?? integerFromEnvironment("REGEVENTS_DATABASE_POOL_SIZE", flag: "--database-pool-size") ?? 10
        return .postgres(url, poolSize: try Self.within(1...1000, poolSize, flag: "--database-pool-size"))
    }

    private func prepareDataDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ConfigurationError(flag: "--data-dir", message: "cannot create \(path): \(error.localizedDescription)")
        }
    }
}

extension ServeCommand {
    /// `value` when `range` holds it, else the flag's error.
    static func within(_ range: ClosedRange<Int>, _ value: Int, flag: String) throws(ConfigurationError) -> Int {
        guard range.contains(value) else {
            throw ConfigurationError(flag: flag, message: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }
}

/// Where a token comes from: its flag, its file (a mounted secret), or its
/// environment variable (`NAME`, or `NAME_FILE` naming a file), in that order.
enum TokenSource {
    static func read(value: String?, file: String?, flag: String, environment: String) throws(ConfigurationError) -> String? {
        if value != nil && file != nil {
            throw ConfigurationError(flag: flag, message: "give \(flag) or \(flag)-file, not both")
        }
        if let value { return value }
        if let path = file ?? EnvironmentDefaults.value("\(environment)_FILE") {
            let fileFlag = file == nil ? "\(environment)_FILE" : "\(flag)-file"
            guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(flag: fileFlag, message: "cannot read \(path)")
            }
            // The newline an editor or `echo` leaves ("\r\n" is one Character).
            while let last = text.unicodeScalars.last, last == "\n" || last == "\r" { text.unicodeScalars.removeLast() }
            guard !text.isEmpty else { throw ConfigurationError(flag: fileFlag, message: "\(path) is empty") }
            return text
        }
        return EnvironmentDefaults.value(environment)
    }
}
