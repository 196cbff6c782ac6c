import CRdKafka
import Foundation
import Logging

/// What a topic should look like when we create it.
public struct KafkaTopicSpec: Hashable, Sendable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level configs, e.g. `retention.ms`.
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// One partition as `describe` sees it.
public struct KafkaPartitionDescription: Hashable, Sendable, Codable {
    public let partition: Int32
    public let leader: Int32
    /// The log start: the oldest offset retention has kept.
    public let lowWatermark: Int64
    /// The end offset: the offset the next record will get.
    public let highWatermark: Int64
}

public struct KafkaTopicDescription: Hashable, Sendable, Codable {
    public let name: String
    public let partitions: [KafkaPartitionDescription]
    public var recordCount: Int64 { partitions.reduce(0) { $0 + $1.highWatermark - $1.lowWatermark } }
}

/// Cluster administration: topic creation on real clusters, descriptions
/// with watermarks, and a group's committed offsets.
public final class KafkaAdmin: Sendable {
    public enum CreationOutcome: String, Sendable, Codable {
        case created, alreadyExists
    }

    private let client: RDKafkaClient
    private let configuration: KafkaClientConfiguration
    private let logger: Logger

    public init(configuration: KafkaClientConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        client = try RDKafkaClient.make(
            kind: .producer, properties: configuration.baseProperties + configuration.extraProperties.map { ($0.key, $0.value) })
    }

    /// Every topic the cluster knows.
    public func metadata() async throws -> [KafkaTopicMetadata] {
        let client = self.client
        let timeout = configuration.requestTimeout
        return try await RDKafkaClient.offloaded { try client.metadata(timeout: timeout) }
    }

    /// Asks for one topic's metadata as a producer does, which makes a
    /// cluster with topic auto-creation on (Kafka's default, and the embedded
    /// cluster) create it. True when the topic exists afterwards.
    public func requestAutoCreation(of topic: String) async throws -> Bool {
        let client = self.client
        let timeout = configuration.requestTimeout
        for _ in 0..<5 {
            let topics = try await RDKafkaClient.offloaded { try client.metadata(topic: topic, timeout: timeout) }
            if topics.contains(where: { $0.name == topic && $0.errorName == nil && !$0.partitions.isEmpty }) { return true }
            // A topic being created answers LEADER_NOT_AVAILABLE for a moment.
            try await Task.sleep(for: .milliseconds(300))
        }
        return false
    }

    /// Creates the topics that do not exist yet (Admin CreateTopics). An
    /// existing topic is left as it is, whatever its partition count.
    public func createTopics(_ specs: [KafkaTopicSpec]) async throws -> [String: CreationOutcome] {
        let client = self.client
        let timeout = configuration.requestTimeout
        let outcomes = try await RDKafkaClient.offloaded { try Self.createTopics(specs, client: client, timeout: timeout) }
        for (name, outcome) in outcomes where outcome == .created {
            logger.info("Created Kafka topic", metadata: ["topic": "\(name)"])
        }
        return outcomes
    }

    private static func createTopics(
        _ specs: [KafkaTopicSpec], client: RDKafkaClient, timeout: Duration
    ) throws -> [String: CreationOutcome] {
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for spec in specs {
            guard let topic = rd_kafka_NewTopic_new(
                spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errorText, errorText.count)
            else {
                throw KafkaError.make(.topicCreation, reason: "topic \(spec.name): \(errorText.decodedCString)")
            }
            newTopics.append(topic)
            for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(topic, key, value)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.rdKafka(.topicCreation, err, context: "topic \(spec.name) config \(key)")
                }
            }
        }
        return try client.withHandle { handle in
            guard let queue = rd_kafka_queue_new(handle) else {
                throw KafkaError.make(.topicCreation, reason: "cannot create a result queue")
            }
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.wholeMilliseconds), &errorText, errorText.count)
            rd_kafka_CreateTopics(handle, &newTopics, newTopics.count, options, queue)
            guard let event = rd_kafka_queue_poll(queue, Int32(timeout.wholeMilliseconds) + 1000) else {
                throw KafkaError.make(.topicCreation, reason: "the cluster did not answer CreateTopics in time", retriable: true)
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(.topicCreation, eventError, context: String(cString: rd_kafka_event_error_string(event)))
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else {
                throw KafkaError.make(.topicCreation, reason: "unexpected answer to CreateTopics")
            }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
            var outcomes: [String: CreationOutcome] = [:]
            for index in 0..<count {
                let topicResult = results[index]
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let err = rd_kafka_topic_result_error(topicResult)
                switch err {
                case RD_KAFKA_RESP_ERR_NO_ERROR: outcomes[name] = .created
                case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcomes[name] = .alreadyExists
                default:
                    let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                    throw KafkaError.rdKafka(.topicCreation, err, context: "topic \(name)\(text.map { ": \($0)" } ?? "")")
                }
            }
            return outcomes
        }
    }

    /// Partitions, leaders and watermarks of the named topics; topics the
    /// cluster does not know are left out.
    public func describeTopics(_ names: [String]) async throws -> [KafkaTopicDescription] {
        let client = self.client
        let timeout = configuration.requestTimeout
        return try await RDKafkaClient.offloaded {
            let known = Dictionary(
                try client.metadata(timeout: timeout).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            return try names.compactMap { name -> KafkaTopicDescription? in
                guard let topic = known[name], topic.errorName == nil else { return nil }
                let partitions = try topic.partitions.map { partition in
                    let (low, high) = try client.watermarks(
                        KafkaTopicPartition(topic: name, partition: partition.id), timeout: timeout)
                    return KafkaPartitionDescription(
                        partition: partition.id, leader: partition.leader, lowWatermark: low, highWatermark: high)
                }
                return KafkaTopicDescription(name: name, partitions: partitions)
            }
        }
    }

    /// For each partition, the first offset whose record was written at or
    /// after `time`: where to start reading a time window. A partition is
    /// left out where the broker found none (all older, or a broker that
    /// cannot search by time, as librdkafka's mock cluster).
    public func offsets(at time: Date, of partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        let client = self.client
        let timeout = configuration.requestTimeout
        let milliseconds = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
        return try await RDKafkaClient.offloaded {
            try client.offsets(forTimes: Dictionary(uniqueKeysWithValues: partitions.map { ($0, milliseconds) }), timeout: timeout)
        }
    }

    /// The topics among `names` whose replication factor is below `minimum`,
    /// in the order given. A topic's factor is the smallest replica set among
    /// its partitions (the assigned replicas from metadata, not the in-sync
    /// ones). Topics the cluster does not have are left out.
    ///
    /// Production wants 3 so that `acks=all` survives losing a broker; the
    /// embedded cluster reports min(3, brokers) whatever factor was asked.
    public func underReplicatedTopics(
        _ names: [String], minimum: Int = 3
    ) async throws -> [(topic: String, replicationFactor: Int)] {
        let known = Dictionary(try await metadata().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return names.compactMap { name -> (topic: String, replicationFactor: Int)? in
            guard let topic = known[name], topic.errorName == nil,
                let factor = topic.partitions.map(\.replicas.count).min(), factor < minimum
            else { return nil }
            return (name, factor)
        }
    }

    /// The offsets `group` has committed for `partitions` (none where it never committed).
    /// Asked through a short-lived consumer handle that never joins the group.
    public func committedOffsets(group: String, partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        let configuration = KafkaConsumerConfiguration(client: self.configuration, groupID: group)
        let timeout = self.configuration.requestTimeout
        return try await RDKafkaClient.offloaded {
            let client = try RDKafkaClient.make(kind: .consumer, properties: configuration.properties)
            return try client.committed(partitions, timeout: timeout)
        }
    }
}
