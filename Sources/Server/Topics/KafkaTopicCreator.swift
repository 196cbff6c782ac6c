import Logging

/// Creates Kafka topics the API needs at run time (a custom topic's, a
/// dead-letter topic), with the server's partitions and replication.
public struct KafkaTopicCreator: Sendable {
    let connection: KafkaConnection
    let partitions: Int
    let replicationFactor: Int
    let logger: Logger

    func ensure(_ names: [String]) async throws {
        try await TopicProvisioner(connection: connection, logger: logger)
            .ensureTopics(named: names, partitions: partitions, replicationFactor: replicationFactor)
    }
}
