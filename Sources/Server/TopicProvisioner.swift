import Kafka
import Logging
import RegistryEvents

/// Creates the topics of a layout that the cluster lacks. Existing topics are
/// left alone, so restarts and several servers on one cluster are harmless.
struct TopicProvisioner {
    let connection: KafkaConnection
    let logger: Logger

    func ensureTopics(of layout: TopicLayout, partitions: Int, replicationFactor: Int) async throws {
        try await ensureTopics(named: layout.allTopics, partitions: partitions, replicationFactor: replicationFactor)
    }

    func ensureTopics(named names: [String], partitions: Int, replicationFactor: Int) async throws {
        let existing = Set(try await connection.admin.metadata().filter { $0.errorName == nil }.map(\.name))
        let missing = names.filter { !existing.contains($0) }.map {
            KafkaTopicSpec(name: $0, partitions: partitions, replicationFactor: replicationFactor)
        }
        guard !missing.isEmpty else {
            logger.debug("Kafka topics present", metadata: ["topics": "\(names.count)"])
            return
        }
        if let cluster = connection.embeddedCluster {
            // The mock cluster never answers Admin CreateTopics; it has its own call.
            for spec in missing { try cluster.createTopic(spec) }
        } else {
            do {
                _ = try await connection.admin.createTopics(missing)
            } catch let error as KafkaError {
                // Clusters that refuse CreateTopics may still create topics on first use.
                var created = true
                for spec in missing where !(try await connection.admin.requestAutoCreation(of: spec.name)) { created = false }
                if created {
                    logger.notice(
                        "CreateTopics failed; the cluster auto-created the topics instead (with its default partitions)",
                        metadata: ["topics": "\(missing.map(\.name).joined(separator: ","))", "error": "\(error.reason)"])
                    return
                }
                throw TopicProvisioningError(
                    topics: missing.map(\.name), reason: error.reason,
                    hint: "create them yourself, or start the cluster with `regevents broker`, which creates them")
            }
        }
        logger.info(
            "Created Kafka topics",
            metadata: ["topics": "\(missing.map(\.name).joined(separator: ","))", "partitions": "\(partitions)"])
    }
}

/// The cluster refused or ignored our topic creation.
public struct TopicProvisioningError: Error, CustomStringConvertible {
    public let topics: [String]
    public let reason: String
    public let hint: String

    public var description: String {
        "cannot create Kafka topics \(topics.joined(separator: ", ")): \(reason); \(hint)"
    }
}
