@_spi(Testing) import Kafka
import TestSupport
import Testing

@Suite("Failures: brokers down, bad configuration, retention", .machineHeavy)
struct FailureTests {
    @Test func sendWhileTheBrokerIsDownCompletesAfterItReturns() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            try await withProducer(cluster) { producer in
                _ = try await producer.send(record(topic, key: "k", value: "warm-up"))
                try cluster.setBrokerDown(1)
                async let pending = producer.send(record(topic, key: "k", value: "while-down"))
                // Let the send reach librdkafka and fail its first tries.
                try await Task.sleep(for: .milliseconds(500))
                try cluster.setBrokerUp(1)
                let receipt = try await pending
                #expect(receipt.offset == 1)
            }
        }
    }

    @Test func sendFailsWithATypedErrorAfterTheMessageTimeout() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            try await withProducer(cluster, configure: { $0.messageTimeout = .milliseconds(1500) }) { producer in
                _ = try await producer.send(record(topic, key: "k", value: "warm-up"))
                try cluster.setBrokerDown(1)
                let error = await #expect(throws: KafkaError.self) {
                    try await producer.send(record(topic, key: "k", value: "lost-broker"))
                }
                #expect(error?.code == .delivery)
                #expect(error?.rdKafkaName == "_MSG_TIMED_OUT")
                #expect(error?.isRetriable == true)
                try cluster.setBrokerUp(1)
            }
        }
    }

    @Test func produceRequestErrorsAreRetriedByTheIdempotentProducer() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            try await withProducer(cluster) { producer in
                _ = try await producer.send(record(topic, key: "k", value: "warm-up"))
                try cluster.pushRequestErrors(.produce, [.notEnoughReplicas, .notEnoughReplicas])
                let receipt = try await producer.send(record(topic, key: "k", value: "after-errors"))
                #expect(receipt.offset == 1)
            }
        }
    }

    @Test func anUnknownPropertyFailsWithLibrdkafkasMessage() async throws {
        var configuration = KafkaProducerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:9", extraProperties: [KafkaProperty(key: "no.such.property", value: "1")]))
        configuration.linger = .milliseconds(1)
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: configuration, logger: testLogger)
        }
        #expect(error?.code == .configuration)
        #expect(error?.reason.contains("no.such.property") == true)
        #expect(error?.reason.contains("No such configuration property") == true)
    }

    @Test func aBadPropertyValueFails() {
        let configuration = KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:9", extraProperties: [KafkaProperty(key: "fetch.max.bytes", value: "lots")]),
            groupID: "g")
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(configuration: configuration, logger: testLogger)
        }
        #expect(error?.reason.contains("fetch.max.bytes") == true)
    }

    @Test func propertyParsingKeepsEqualsSignsInValues() {
        #expect(KafkaProperty(parsing: "sasl.password=a=b") == KafkaProperty(key: "sasl.password", value: "a=b"))
        #expect(KafkaProperty(parsing: "novalue") == nil)
        #expect(KafkaProperty(parsing: "=x") == nil)
        #expect("\(KafkaProperty(key: "sasl.password", value: "secret"))".contains("secret") == false)
    }

    /// The embedded cluster keeps about 5 MiB per partition; a group that
    /// committed early and comes back after the log moved on has lost records,
    /// and the consumer must say so rather than skip silently.
    @Test func aGroupBehindTheLogStartReportsDataLoss() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            let group = "behind"
            try await withProducer(cluster) { producer in
                _ = try await producer.send(contentsOf: (0..<5).map { record(topic, key: "k", value: "early-\($0)") })
            }
            let consumer = try makeGroupConsumer(cluster, group: group, topics: [topic])
            let early = try await collect(consumer, count: 5)
            try await consumer.commit(early.map(KafkaCommitOffset.init(after:)))
            await consumer.close()

            // 8 MiB of 1 KiB records pushes the first ones out of the mock's log.
            let filler = [UInt8](repeating: 0x61, count: 1024)
            try await withProducer(cluster) { producer in
                for _ in 0..<4 {
                    _ = try await producer.send(
                        contentsOf: (0..<2048).map { _ in KafkaProducerRecord(topic: topic, key: Array("k".utf8), value: filler) })
                }
            }
            let admin = try KafkaAdmin(configuration: cluster.testClientConfiguration, logger: testLogger)
            let description = try #require(try await admin.describeTopics([topic]).first)
            let logStart = try #require(description.partitions.first?.lowWatermark)
            #expect(logStart > 5)

            // Before any consumer notices, the report already shows the group behind the log start.
            let partition = KafkaTopicPartition(topic: topic, partition: 0)
            let before = try await admin.report(topics: [topic], groupsByTopic: [topic: [group]])
            #expect(before.topics.first?.consumerGroups.first?.behindLogStart == logStart - 5)

            let monitor = DataLossMonitor(logger: testLogger)
            let restarted = try makeGroupConsumer(cluster, group: group, topics: [topic], lossMonitor: monitor)
            let found = try await eventually {
                _ = try await restarted.poll(timeout: .milliseconds(100))
                return !monitor.all.isEmpty
            }
            await restarted.close()
            #expect(found)
            let loss = try #require(monitor.all.first)
            #expect(loss.fromOffset == 5)
            #expect(loss.toOffset == logStart)
            #expect(monitor.lostRecords(group: group, topicPartition: partition) == logStart - 5)
            let after = try await admin.report(topics: [topic], groupsByTopic: [topic: [group]], lossMonitor: monitor)
            #expect(after.topics.first?.consumerGroups.first?.lostRecords == logStart - 5)
        }
    }
}
