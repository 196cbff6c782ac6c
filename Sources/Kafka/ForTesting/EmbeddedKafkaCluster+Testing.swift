import Foundation

extension EmbeddedKafkaCluster {
    /// Creates a topic whose name no other test uses, and returns the name.
    @_spi(Testing)
    public func createUniqueTopic(_ prefix: String = "test", partitions: Int = 1) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try createTopic(KafkaTopicSpec(name: name, partitions: partitions))
        return name
    }

    /// Client settings pointing at this cluster, with short timeouts for tests.
    @_spi(Testing)
    public var testClientConfiguration: KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: bootstrapServers, clientID: "regevents-test", requestTimeout: .seconds(5))
    }
}
