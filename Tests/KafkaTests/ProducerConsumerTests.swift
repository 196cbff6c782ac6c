@_spi(Testing) import Kafka
import TestSupport
import Testing

@Suite("Producer and consumer against the embedded cluster", .machineHeavy)
struct ProducerConsumerTests {
    @Test func roundTripKeepsKeysValuesAndHeaders() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 3)
            let headers = [
                KafkaHeader(key: "registry", string: "myregistry"), KafkaHeader(key: "empty", value: []),
                KafkaHeader(key: "null", value: nil),
            ]
            let receipt = try await withProducer(cluster) { producer in
                try await producer.send(record(topic, key: "myregistry/hello-world", value: #"{"action":"push"}"#, headers: headers))
            }
            #expect(receipt.topic == topic)
            #expect(receipt.offset == 0)

            let consumer = try makeGroupConsumer(cluster, group: "round-trip", topics: [topic])
            let records = try await collect(consumer, count: 1)
            await consumer.close()
            let received = try #require(records.first)
            #expect(records.count == 1)
            #expect(received.keyString == "myregistry/hello-world")
            #expect(received.valueString == #"{"action":"push"}"#)
            #expect(received.partition == receipt.partition)
            #expect(received.headers == headers)
            #expect(received.timestampMilliseconds != nil)
        }
    }

    @Test func recordsOfOneKeyStayInOrderOnOnePartition() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 4)
            let keys = ["reg/a", "reg/b", "reg/c"]
            let records = (0..<300).map { index in record(topic, key: keys[index % 3], value: "\(index)") }
            let receipts = try await withProducer(cluster) { try await $0.send(contentsOf: records) }
            #expect(receipts.count == 300)

            let consumer = try makeGroupConsumer(cluster, group: "order", topics: [topic])
            let received = try await collect(consumer, count: 300)
            await consumer.close()
            #expect(received.count == 300)
            for key in keys {
                let ofKey = received.filter { $0.keyString == key }
                #expect(Set(ofKey.map(\.partition)).count == 1, "key \(key) spread over partitions")
                let values = ofKey.map { Int($0.valueString)! }
                #expect(values == values.sorted(), "key \(key) out of order")
                #expect(values.count == 100)
            }
        }
    }

    @Test func twoGroupMembersSplitThePartitions() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 4)
            let first = try makeGroupConsumer(cluster, group: "split", topics: [topic])
            let second = try makeGroupConsumer(cluster, group: "split", topics: [topic])
            // Both must poll to take part in the rebalance; the mock cluster's
            // join can take long while the whole suite loads both cores.
            let split = try await eventually(limit: .seconds(90)) {
                async let a = first.poll(timeout: .milliseconds(100))
                async let b = second.poll(timeout: .milliseconds(100))
                _ = try await (a, b)
                return first.assignment.count == 2 && second.assignment.count == 2
            }
            #expect(split)
            #expect(first.assignment.isDisjoint(with: second.assignment))
            #expect(first.assignment.union(second.assignment).count == 4)

            let records = (0..<40).map { record(topic, key: "k\($0)", value: "\($0)") }
            _ = try await withProducer(cluster) { try await $0.send(contentsOf: records) }
            var seen: [KafkaConsumerRecord] = []
            _ = try await eventually {
                async let a = first.poll(timeout: .milliseconds(100))
                async let b = second.poll(timeout: .milliseconds(100))
                let (fromFirst, fromSecond) = try await (a, b)
                for record in fromFirst { #expect(first.assignment.contains(record.topicPartition)) }
                for record in fromSecond { #expect(second.assignment.contains(record.topicPartition)) }
                seen += fromFirst + fromSecond
                return seen.count >= 40
            }
            #expect(Set(seen.map(\.valueString)).count == 40)
            await first.close()
            await second.close()
        }
    }

    /// Cooperative-sticky: a member joining takes only its share, and the
    /// first keeps fetching the rest throughout; when it leaves, only its
    /// partitions move back.
    @Test func aMemberJoiningOrLeavingMovesOnlyItsPartitions() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 4)
            let first = try makeGroupConsumer(cluster, group: "sticky", topics: [topic])
            let alone = try await eventually(limit: .seconds(60)) {
                _ = try await first.poll(timeout: .milliseconds(100))
                return first.assignment.count == 4
            }
            #expect(alone)
            #expect(first.rebalanceProtocol == "COOPERATIVE")
            let second = try makeGroupConsumer(cluster, group: "sticky", topics: [topic])
            var fewestKept = 4
            let split = try await eventually(limit: .seconds(90)) {
                async let a = first.poll(timeout: .milliseconds(100))
                async let b = second.poll(timeout: .milliseconds(100))
                _ = try await (a, b)
                fewestKept = min(fewestKept, first.assignment.count)
                return first.assignment.count == 2 && second.assignment.count == 2
            }
            #expect(split)
            #expect(fewestKept == 2, "the first member never gave up more than the half that moved")
            let kept = first.assignment
            await second.close()
            var keptThroughout = true
            let back = try await eventually(limit: .seconds(60)) {
                _ = try await first.poll(timeout: .milliseconds(100))
                keptThroughout = keptThroughout && first.assignment.isSuperset(of: kept)
                return first.assignment.count == 4
            }
            #expect(back)
            #expect(keptThroughout, "what it kept is never revoked")
            await first.close()
        }
    }

    /// Closing a cooperative member right after it subscribed (before its
    /// first assignment) must not abort the process (librdkafka 2.0.2).
    @Test func closingAMemberBeforeItsFirstAssignmentIsSafe() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 2)
            for wait in [0, 50, 300, 1000, 3200] {
                let consumer = try makeGroupConsumer(cluster, group: "early-close-\(wait)", topics: [topic])
                let deadline = ContinuousClock.now + .milliseconds(wait)
                while ContinuousClock.now < deadline { _ = try await consumer.poll(timeout: .milliseconds(50)) }
                await consumer.close()
            }
        }
    }

    @Test func restartResumesAfterTheCommittedOffset() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 2)
            let firstBatch = (0..<20).map { record(topic, key: "k\($0 % 5)", value: "first-\($0)") }
            let secondBatch = (0..<20).map { record(topic, key: "k\($0 % 5)", value: "second-\($0)") }
            try await withProducer(cluster) { producer in
                _ = try await producer.send(contentsOf: firstBatch)
            }

            let consumer = try makeGroupConsumer(cluster, group: "resume", topics: [topic])
            let before = try await collect(consumer, count: 20)
            #expect(before.count == 20)
            let committed = try await consumer.commit(before.map(KafkaCommitOffset.init(after:)))
            #expect(!committed.isEmpty)
            await consumer.close()

            try await withProducer(cluster) { producer in
                _ = try await producer.send(contentsOf: secondBatch)
            }
            let restarted = try makeGroupConsumer(cluster, group: "resume", topics: [topic])
            let after = try await collect(restarted, count: 20)
            // Nothing more should come: wait one more poll round to be sure.
            let extra = try await restarted.poll(timeout: .milliseconds(500))
            await restarted.close()
            #expect(Set(after.map(\.valueString)) == Set(secondBatch.map { String(decoding: $0.value, as: UTF8.self) }))
            #expect(extra.isEmpty)
        }
    }

    @Test func recordsAreAnAsyncSequenceThatEndsWhenTheConsumerCloses() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 2)
            _ = try await withProducer(cluster) { producer in
                try await producer.send(contentsOf: (0..<10).map { record(topic, key: "k\($0)", value: "\($0)") })
            }
            let consumer = try makeGroupConsumer(cluster, group: "sequence", topics: [topic])
            var values: Set<String> = []
            for try await record in consumer.records {
                values.insert(record.valueString)
                try await consumer.commit(record)
                if values.count == 10 { break }
            }
            #expect(values == Set((0..<10).map(String.init)))
            await consumer.close()
            var afterClose = 0
            for try await _ in consumer.records { afterClose += 1 }
            #expect(afterClose == 0)
        }
    }

    @Test func aPausedPartitionWaitsWhileOthersFlowAndASeekRereads() async throws {
        try await withEmbeddedCluster { cluster in
            let slow = try cluster.createUniqueTopic("slow", partitions: 1)
            let fast = try cluster.createUniqueTopic("fast", partitions: 1)
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(client: cluster.testClientConfiguration, groupID: nil), logger: testLogger)
            let slowPartition = KafkaTopicPartition(topic: slow, partition: 0)
            try consumer.assign([slowPartition: .beginning, KafkaTopicPartition(topic: fast, partition: 0): .beginning])
            try consumer.pause([slowPartition])
            _ = try await withProducer(cluster) { producer in
                try await producer.send(contentsOf: [record(slow, key: "k", value: "s0"), record(fast, key: "k", value: "f0")])
            }
            let whilePaused = try await collect(consumer, count: 1, limit: .seconds(10))
            #expect(whilePaused.map(\.valueString) == ["f0"])
            let nothingMore = try await consumer.poll(timeout: .milliseconds(500))
            #expect(nothingMore.isEmpty, "the paused partition must not deliver")
            try consumer.resume([slowPartition])
            let afterResume = try await collect(consumer, count: 1, limit: .seconds(10))
            #expect(afterResume.map(\.valueString) == ["s0"])
            try consumer.seek(slowPartition, to: 0)
            let reread = try await collect(consumer, count: 1, limit: .seconds(10))
            #expect(reread.map(\.valueString) == ["s0"])
            await consumer.close()
        }
    }

    @Test func commitOfAPartitionNotOwnedIsSkipped() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            let consumer = try makeGroupConsumer(cluster, group: "not-owned", topics: [topic])
            #expect(try await eventually { _ = try await consumer.poll(timeout: .milliseconds(100)); return !consumer.assignment.isEmpty })
            let foreign = KafkaCommitOffset(topicPartition: KafkaTopicPartition(topic: "other-topic", partition: 0), offset: 5)
            let committed = try await consumer.commit([foreign])
            #expect(committed.isEmpty)
            await consumer.close()
        }
    }
}
