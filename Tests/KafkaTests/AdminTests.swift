@_spi(Testing) import Kafka
import TestSupport
import Testing

@Suite("Admin and embedded cluster", .machineHeavy)
struct AdminTests {
    @Test func describeGivesPartitionsLeadersAndWatermarks() async throws {
        try await withEmbeddedCluster(brokers: 3) { cluster in
            #expect(cluster.bootstrapServers.split(separator: ",").count == 3)
            try cluster.createTopic(KafkaTopicSpec(name: "described", partitions: 3, replicationFactor: 3))
            _ = try await withProducer(cluster) { producer in
                try await producer.send(contentsOf: (0..<10).map { record("described", key: nil, value: "\($0)") })
            }
            let admin = try KafkaAdmin(configuration: cluster.testClientConfiguration, logger: testLogger)
            let description = try #require(try await admin.describeTopics(["described", "missing-topic"]).first)
            #expect(description.partitions.map(\.partition) == [0, 1, 2])
            #expect(description.partitions.allSatisfy { $0.leader >= 1 && $0.lowWatermark == 0 })
            #expect(description.recordCount == 10)
            #expect(try await admin.describeTopics(["missing-topic"]).isEmpty)
        }
    }

    @Test func createTopicIsIdempotentAndChecksReplication() async throws {
        try await withEmbeddedCluster { cluster in
            let first = try cluster.createTopic(KafkaTopicSpec(name: "twice", partitions: 2))
            let second = try cluster.createTopic(KafkaTopicSpec(name: "twice", partitions: 2))
            #expect(first == .created)
            #expect(second == .alreadyExists)
            #expect(throws: KafkaError.self) {
                try cluster.createTopic(KafkaTopicSpec(name: "too-many-replicas", partitions: 1, replicationFactor: 2))
            }
        }
    }

    @Test func committedOffsetsOfAGroupAreReadBack() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            _ = try await withProducer(cluster) { producer in
                try await producer.send(contentsOf: (0..<7).map { record(topic, key: "k", value: "\($0)") })
            }
            let consumer = try makeGroupConsumer(cluster, group: "lag-group", topics: [topic])
            let records = try await collect(consumer, count: 7)
            try await consumer.commit(Array(records.prefix(3)).map(KafkaCommitOffset.init(after:)))
            await consumer.close()
            let admin = try KafkaAdmin(configuration: cluster.testClientConfiguration, logger: testLogger)
            let partition = KafkaTopicPartition(topic: topic, partition: 0)
            let committed = try await admin.committedOffsets(group: "lag-group", partitions: [partition])
            #expect(committed[partition] == 3)
            let none = try await admin.committedOffsets(group: "never-committed", partitions: [partition])
            #expect(none.isEmpty)
        }
    }

    @Test func aOneBrokerClusterReportsItsTopicsUnderReplicated() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 2)
            let admin = try KafkaAdmin(configuration: cluster.testClientConfiguration, logger: testLogger)
            let under = try await admin.underReplicatedTopics([topic, "missing-topic"])
            #expect(under.map(\.topic) == [topic])
            #expect(under.map(\.replicationFactor) == [1])
            #expect(try await admin.underReplicatedTopics([topic], minimum: 1).isEmpty)
        }
    }

    @Test func aThreeBrokerClusterReplicatesThreeTimes() async throws {
        try await withEmbeddedCluster(brokers: 3) { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 3)
            let admin = try KafkaAdmin(configuration: cluster.testClientConfiguration, logger: testLogger)
            #expect(try await admin.underReplicatedTopics([topic]).isEmpty)
            let stricter = try await admin.underReplicatedTopics([topic], minimum: 4)
            #expect(stricter.map(\.replicationFactor) == [3])
        }
    }

    @Test func anEmbeddedClusterNeedsOneToSixteenBrokers() {
        #expect(throws: KafkaError.self) { _ = try EmbeddedKafkaCluster(brokers: 0, logger: testLogger) }
    }
}
