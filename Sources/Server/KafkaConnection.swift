import Kafka
import Logging
import RegistryEvents

/// The cluster this server works against: the embedded one it started, or an
/// external one given by `--kafka-brokers`. Owns the clients every part of the
/// server shares (one producer, one admin client).
public final class KafkaConnection: Sendable {
    public let bootstrapServers: String
    /// The cluster this process runs, when no brokers were given.
    public let embeddedCluster: EmbeddedKafkaCluster?
    public let clientConfiguration: KafkaClientConfiguration
    public let admin: KafkaAdmin
    public let lossMonitor: DataLossMonitor
    private let messageTimeout: Duration

    public var isEmbedded: Bool { embeddedCluster != nil }

    private init(
        bootstrapServers: String, embeddedCluster: EmbeddedKafkaCluster?, clientConfiguration: KafkaClientConfiguration,
        admin: KafkaAdmin, lossMonitor: DataLossMonitor, messageTimeout: Duration
    ) {
        self.messageTimeout = messageTimeout
        self.bootstrapServers = bootstrapServers
        self.embeddedCluster = embeddedCluster
        self.clientConfiguration = clientConfiguration
        self.admin = admin
        self.lossMonitor = lossMonitor
    }

    /// Starts the embedded cluster or reaches the external one, and makes sure
    /// every topic of `layout` exists. Throws a `ConfigurationError` naming
    /// `--kafka-brokers` or `--kafka-property` when the cluster cannot be used.
    public static func connect(_ configuration: ServerConfiguration, logger: Logger) async throws -> KafkaConnection {
        do {
            // Checked before the embedded cluster starts, against a placeholder address.
            try KafkaProducerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: configuration.kafkaBrokers ?? "127.0.0.1:9092",
                                                 extraProperties: configuration.kafkaProperties)
            ).checkWithoutConnecting()
        } catch let error as KafkaError {
            throw ConfigurationError(flag: "--kafka-property", message: error.reason)
        }
        let embedded: EmbeddedKafkaCluster?
        let bootstrap: String
        if let brokers = configuration.kafkaBrokers {
            embedded = nil
            bootstrap = brokers
        } else {
            let cluster = try EmbeddedKafkaCluster(brokers: configuration.embeddedBrokers, logger: logger)
            embedded = cluster
            bootstrap = cluster.bootstrapServers
        }
        let clientConfiguration = KafkaClientConfiguration(
            bootstrapServers: bootstrap, extraProperties: configuration.kafkaProperties,
            requestTimeout: configuration.kafkaStartupTimeout)
        let admin: KafkaAdmin
        do {
            admin = try KafkaAdmin(configuration: clientConfiguration, logger: logger)
        } catch let error as KafkaError {
            throw ConfigurationError(flag: "--kafka-property", message: error.reason)
        }
        let connection = KafkaConnection(
            bootstrapServers: bootstrap, embeddedCluster: embedded, clientConfiguration: clientConfiguration, admin: admin,
            lossMonitor: DataLossMonitor(logger: logger), messageTimeout: configuration.kafkaMessageTimeout)
        do {
            try await TopicProvisioner(connection: connection, logger: logger).ensureTopics(
                of: configuration.layout, partitions: configuration.partitions,
                replicationFactor: configuration.replicationFactor)
        } catch let error as KafkaError where error.code == .metadata {
            embedded?.shutdown()
            throw ConfigurationError(
                flag: "--kafka-brokers", message: "cannot reach Kafka at \(bootstrap): \(error.reason)")
        }
        return connection
    }

    /// A producer with the delivery guarantees ingest needs (acks=all, idempotent).
    public func makeProducer(logger: Logger) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(client: clientConfiguration)
        configuration.messageTimeout = messageTimeout
        return try KafkaProducer(configuration: configuration, logger: logger)
    }
}
