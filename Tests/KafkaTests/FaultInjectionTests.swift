@_spi(Testing) @_spi(Internal) import Kafka
import TestSupport
import Testing

/// The embedded cluster's fault injection, and what our clients report under it.
@Suite("Fault injection: refused topics, failed commits", .machineHeavy)
struct FaultInjectionTests {
    @Test func aRefusedTopicFailsForGoodWhileOtherTopicsFlowUntilAllowedAgain() async throws {
        try await withEmbeddedCluster(brokers: 2, refusingBroker: true) { cluster in
            let refused = try cluster.createUniqueTopic("refused", partitions: 2)
            let other = try cluster.createUniqueTopic("other", partitions: 2)
            let messageTimeout = Duration.seconds(10)
            try await withProducer(cluster, configure: { $0.messageTimeout = messageTimeout }) { producer in
                _ = try await producer.send(record(refused, key: "k", value: "before"))
                _ = try await producer.send(record(other, key: "k", value: "before"))

                try await cluster.refuseProduce(to: refused)
                let start = ContinuousClock.now
                let error = await #expect(throws: KafkaError.self) {
                    try await producer.send(record(refused, key: "k", value: "refused"))
                }
                #expect(ContinuousClock.now - start < messageTimeout)
                #expect(error?.isRetriable == false)
                #expect(error?.isFatal == false)
                #expect(error?.rdKafkaName == "TOPIC_AUTHORIZATION_FAILED")
                // It lasts: every further send to the topic is refused too.
                for index in 0..<3 {
                    let again = await #expect(throws: KafkaError.self) {
                        try await producer.send(record(refused, key: "k\(index)", value: "refused-again"))
                    }
                    #expect(again?.isRetriable == false)
                }

                // Other topics, and a topic created meanwhile, are not affected.
                let created = try cluster.createUniqueTopic("created", partitions: 2)
                let refusedMeanwhile = Task { try await producer.send(record(refused, key: "k", value: "concurrent")) }
                let receipts = try await producer.send(
                    contentsOf: (0..<10).map { record($0 % 2 == 0 ? other : created, key: "k\($0)", value: "\($0)") })
                #expect(receipts.count == 10)
                await #expect(throws: KafkaError.self) { try await refusedMeanwhile.value }

                try cluster.allowProduce(to: refused)
                // The producer refuses locally until its next metadata refresh.
                let recovered = await eventually(limit: .seconds(10)) {
                    (try? await producer.send(record(refused, key: "k", value: "allowed"))) != nil
                }
                #expect(recovered)
            }
        }
    }

    @Test func refusingOneTopicNeedsAClusterWithARefusingBroker() async throws {
        #expect(throws: KafkaError.self) { _ = try EmbeddedKafkaCluster.reservingRefusingBroker(brokers: 1, logger: testLogger) }
        try await withEmbeddedCluster(brokers: 2) { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            await #expect(throws: KafkaError.self) { try await cluster.refuseProduce(to: topic) }
        }
    }

    @Test func aFailedCommitThrowsAndTheNextOneCommits() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            _ = try await withProducer(cluster) { producer in
                try await producer.send(contentsOf: (0..<3).map { record(topic, key: "k", value: "\($0)") })
            }
            let consumer = try makeGroupConsumer(cluster, group: "commit-fails", topics: [topic])
            let records = try await collect(consumer, count: 3)
            #expect(records.count == 3)

            try cluster.failCommits(with: .groupAuthorizationFailed)
            let error = await #expect(throws: KafkaError.self) {
                try await consumer.commit(records.map(KafkaCommitOffset.init(after:)))
            }
            #expect(error?.code == .commit)
            #expect(error?.rdKafkaName == "GROUP_AUTHORIZATION_FAILED")
            #expect(error?.isRetriable == false)

            let committed = try await consumer.commit(records.map(KafkaCommitOffset.init(after:)))
            #expect(committed.map(\.offset) == [3])
            let partition = KafkaTopicPartition(topic: topic, partition: 0)
            #expect(try await consumer.committed([partition])[partition] == 3)
            await consumer.close()
        }
    }
}
