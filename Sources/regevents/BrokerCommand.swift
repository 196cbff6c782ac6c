import ArgumentParser
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle

/// Runs only the embedded cluster, so `serve` can stop and start against a
/// broker that stays up (and so can tests).
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run only the embedded (in-memory, volatile) Kafka cluster and print its bootstrap address."
    )

    @Option(help: "Number of brokers, 1 to 16.")
    var brokers: Int = 1

    @Option(help: "Prefix of the RegistryEvents topics to create (env REGEVENTS_TOPIC_PREFIX; default registry-events).")
    var topicPrefix: String?

    @Option(help: "Partitions per topic.")
    var partitions: Int = 6

    @Flag(help: "Create no topics (clients then get the mock's auto-created 4-partition topics).")
    var noTopics = false

    @Option(help: "Log level.")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        try await reportingFailures {
            guard (1...16).contains(brokers) else {
                throw CommandFailure(message: "--brokers: must be between 1 and 16, got \(brokers)", exitCode: 64)
            }
            guard (1...1000).contains(partitions) else {
                throw CommandFailure(message: "--partitions: must be between 1 and 1000, got \(partitions)", exitCode: 64)
            }
            let prefix = topicPrefix ?? EnvironmentDefaults.value("REGEVENTS_TOPIC_PREFIX") ?? TopicLayout.defaultPrefix
            guard TopicLayout.isValidPrefix(prefix) else {
                throw CommandFailure(message: "--topic-prefix: \"\(prefix)\" is not a Kafka topic name", exitCode: 64)
            }
            LoggingSetup.bootstrap(level: logLevel)
            let logger = Logger(label: "regevents.broker")
            let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
            if !noTopics {
                for topic in TopicLayout(prefix: prefix).allTopics {
                    try cluster.createTopic(KafkaTopicSpec(name: topic, partitions: partitions, replicationFactor: 1))
                }
            }
            printLine("regevents: embedded Kafka broker (in memory, volatile) at \(cluster.bootstrapServers)")
            let group = ServiceGroup(
                configuration: .init(services: [cluster], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
