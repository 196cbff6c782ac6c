@testable import Kafka
import Testing

@Suite("Consumer settings for delivery latency")
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
