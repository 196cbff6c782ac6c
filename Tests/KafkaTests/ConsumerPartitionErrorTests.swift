@_spi(Testing) import Kafka
import TestSupport
import Testing

/// librdkafka answers pause, resume and seek for a partition it does not
/// know with success overall and an error in that partition's entry; callers
/// retry on a throw, so the error must not be lost.
@Suite("Consumer: per-partition errors of pause, resume and seek", .machineHeavy)
struct ConsumerPartitionErrorTests {
    @Test func pauseResumeAndSeekOfAnUnknownPartitionThrowNamingIt() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(client: cluster.testClientConfiguration, groupID: nil), logger: testLogger)
            let assigned = KafkaTopicPartition(topic: topic, partition: 0)
            // A topic this consumer never heard of: librdkafka has no partition state for it.
            let foreign = KafkaTopicPartition(topic: "\(topic)-never-seen", partition: 0)
            try consumer.assign([assigned: .beginning])

            // The assigned partition alone works.
            try consumer.pause([assigned])
            try consumer.resume([assigned])

            let pauseError = #expect(throws: KafkaError.self) { try consumer.pause([assigned, foreign]) }
            #expect(pauseError?.code == .consume)
            #expect(pauseError?.rdKafkaName == "_UNKNOWN_PARTITION")
            #expect(pauseError?.reason.contains("pause \(foreign)") == true)

            let resumeError = #expect(throws: KafkaError.self) { try consumer.resume([foreign]) }
            #expect(resumeError?.reason.contains("resume \(foreign)") == true)

            let seekError = #expect(throws: KafkaError.self) { try consumer.seek(foreign, to: 0) }
            #expect(seekError?.rdKafkaName == "_UNKNOWN_PARTITION")
            #expect(seekError?.reason.contains("\(foreign)") == true)
            await consumer.close()
        }
    }
}
