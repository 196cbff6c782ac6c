@_spi(Internal) import Kafka
import TestSupport
import Testing

/// `acks=all` and idempotence are what make a send's acknowledgement mean the
/// record is durable; `--kafka-property` must not be able to weaken them.
@Suite("Producer configuration: the guarantee keys", .machineHeavy)
struct ProducerConfigurationTests {
    static let weakeningProperties: [(key: String, value: String)] = [
        ("acks", "1"), ("acks", "0"), ("request.required.acks", "1"), ("topic.acks", "0"),
        ("acks", "leader"), ("enable.idempotence", "false"), ("enable.idempotence", "0"),
    ]

    @Test(arguments: weakeningProperties)
    func anExtraPropertyCannotWeakenTheGuarantee(_ property: (key: String, value: String)) {
        let configuration = KafkaProducerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:9", extraProperties: [KafkaProperty(key: property.key, value: property.value)]))
        let error = #expect(throws: KafkaError.self) { try configuration.validate() }
        #expect(error?.code == .configuration)
        #expect(error?.reason.contains(property.key) == true)
        // KafkaProducer.init validates too: start-up stops.
        #expect(throws: KafkaError.self) { _ = try KafkaProducer(configuration: configuration, logger: testLogger) }
    }

    static let keepingProperties: [(key: String, value: String)] = [
        ("acks", "all"), ("acks", "ALL"), ("acks", "-1"), ("request.required.acks", "-1"),
        ("enable.idempotence", "true"), ("linger.ms", "0"),
    ]

    @Test(arguments: keepingProperties)
    func anExtraPropertyThatKeepsTheGuaranteeIsAccepted(_ property: (key: String, value: String)) throws {
        let configuration = KafkaProducerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:9", extraProperties: [KafkaProperty(key: property.key, value: property.value)]))
        try configuration.validate()
    }

    /// Even with validation skipped, librdkafka ends up with acks=all and
    /// idempotence on: the guarantee keys are applied after extra properties.
    @Test func guaranteeKeysAreAppliedAfterExtraProperties() throws {
        let configuration = KafkaProducerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:9",
                extraProperties: [
                    KafkaProperty(key: "acks", value: "1"), KafkaProperty(key: "request.required.acks", value: "0"),
                    KafkaProperty(key: "enable.idempotence", value: "false"),
                ]))
        #expect(try configuration.librdkafkaValueForTesting("request.required.acks") == "-1")
        #expect(try configuration.librdkafkaValueForTesting("enable.idempotence") == "true")
    }
}
