import ArgumentParser
import Foundation
import Hummingbird
import Kafka
import Logging
import Metrics
import Prometheus
import RegistryEvents
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the RegistryEvents server (on an embedded, in-memory Kafka unless --kafka-brokers is given)."
    )

    @Option(help: "host:port to listen on; port 0 picks a free port (env REGEVENTS_LISTEN; default 127.0.0.1:8080).")
    var listen: String?

    @Option(help: "Directory for the control-plane database (env REGEVENTS_DATA_DIR; default ./data).")
    var dataDir: String?

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

    @Option(help: "Brokers of the embedded cluster.")
    var embeddedBrokers: Int = 1

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env REGEVENTS_LOG_LEVEL; default info).")
    var logLevel: Logger.Level?

    func run() async throws {
        try await reportingFailures {
            let configuration = try makeConfiguration()
            let level = logLevel ?? EnvironmentDefaults.value("REGEVENTS_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
            LoggingSetup.bootstrap(level: level)
            let metrics = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
            let logger = Logger(label: "regevents")
            try await serve(configuration, metrics: metrics, logger: logger)
        }
    }

    private func serve(_ configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        try prepareDataDirectory(configuration.dataDirectory)
        if !configuration.listen.isLoopback {
            logger.warning(
                "Listening on a non-loopback address: anyone who can reach it can use the API",
                metadata: ["listen": "\(configuration.listen)"])
        }
        let connection = try await KafkaConnection.connect(configuration, logger: logger)
        if connection.isEmbedded {
            printLine(
                "regevents: embedded Kafka (in memory, volatile: about 5 MiB per partition, lost on restart; use --kafka-brokers for anything that matters) at \(connection.bootstrapServers)"
            )
        } else {
            printLine("regevents: Kafka at \(connection.bootstrapServers)")
        }
        let producer = try connection.makeProducer(logger: logger)
        let dependencies = ServerDependencies(
            configuration: configuration, connection: connection, producer: producer, metrics: metrics)
        let app = buildApplication(dependencies, logger: logger) { address in
            printLine("regevents: listening on http://\(address)")
        }
        try await app.runService()
        logger.info("regevents stopped")
    }

    private func makeConfiguration() throws -> ServerConfiguration {
        do {
            var configuration = ServerConfiguration()
            if let listen = listen ?? EnvironmentDefaults.value("REGEVENTS_LISTEN") {
                configuration.listen = try ListenAddress(parsing: listen)
            }
            configuration.dataDirectory = dataDir ?? EnvironmentDefaults.value("REGEVENTS_DATA_DIR") ?? "./data"
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
            guard (1...16).contains(embeddedBrokers) else {
                throw ConfigurationError(flag: "--embedded-brokers", message: "must be between 1 and 16, got \(embeddedBrokers)")
            }
            try configuration.validate()
            return configuration
        } catch let error as ConfigurationError {
            throw CommandFailure(message: error.description, exitCode: 64)
        }
    }

    private func integerFromEnvironment(_ name: String, flag: String) throws -> Int? {
        guard let text = EnvironmentDefaults.value(name) else { return nil }
        guard let value = Int(text) else {
            throw ConfigurationError(flag: flag, message: "\(name) must be a whole number, got \"\(text)\"")
        }
        return value
    }

    private func prepareDataDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure(message: "--data-dir: cannot create \(path): \(error.localizedDescription)", exitCode: 64)
        }
    }
}
