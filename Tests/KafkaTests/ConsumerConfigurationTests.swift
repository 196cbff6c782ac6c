@testable import Kafka
import TestSupport
import Testing

@Suite("Consumer settings for delivery latency", .machineHeavy)
struct ConsumerLatencySettingsTests {
    static func value(_ key: String, in properties: [(String, String)]) -> String? {
        properties.last { $0.0 == key }?.1
    }

    @Test func fetchesAreHeldBriefly() {
        let configuration = KafkaConsumerConfiguration(client: KafkaClientConfiguration(bootstrapServers: "127.0.0.1:9092"), groupID: "g")
        #expect(Self.value("fetch.wait.max.ms", in: configuration.properties) == "25")
        #expect(Self.value("fetch.min.bytes", in: configuration.properties) == "1")
    }

    @Test func aKafkaPropertyStillDecides() {
        let client = KafkaClientConfiguration(
            bootstrapServers: "127.0.0.1:9092", extraProperties: [KafkaProperty(parsing: "fetch.wait.max.ms=500")!])
        let configuration = KafkaConsumerConfiguration(client: client, groupID: "g")
        #expect(Self.value("fetch.wait.max.ms", in: configuration.properties) == "500")
    }
}

@Suite("Consumer groups share partitions cooperatively", .machineHeavy)
struct ConsumerAssignmentStrategyTests {
    @Test func aGroupMemberUsesCooperativeStickyAndAKafkaPropertyOverridesIt() {
        let client = KafkaClientConfiguration(bootstrapServers: "127.0.0.1:9092")
        let member = KafkaConsumerConfiguration(client: client, groupID: "g")
        #expect(ConsumerLatencySettingsTests.value("partition.assignment.strategy", in: member.properties) == "cooperative-sticky")
        let overridden = KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:9092", extraProperties: [KafkaProperty(parsing: "partition.assignment.strategy=range")!]),
            groupID: "g")
        #expect(ConsumerLatencySettingsTests.value("partition.assignment.strategy", in: overridden.properties) == "range")
    }

    @Test func aReaderOutsideAnyGroupSetsNoStrategy() {
        let reader = KafkaConsumerConfiguration(client: KafkaClientConfiguration(bootstrapServers: "127.0.0.1:9092"), groupID: nil)
        #expect(ConsumerLatencySettingsTests.value("partition.assignment.strategy", in: reader.properties) == nil)
    }
}
