import CRdKafka

extension KafkaProducerConfiguration {
    /// The value librdkafka ends up with for `key` once every property of this
    /// configuration is applied in order (validation skipped), so tests can
    /// show that extra properties cannot override the guarantee keys.
    @_spi(Internal)
    public func librdkafkaValueForTesting(_ key: String) throws -> String? {
        let conf = try RDKafkaConfig.make(properties)
        defer { rd_kafka_conf_destroy(conf) }
        var size = 0
        guard rd_kafka_conf_get(conf, key, nil, &size) == RD_KAFKA_CONF_OK else { return nil }
        var buffer = [CChar](repeating: 0, count: size + 1)
        guard rd_kafka_conf_get(conf, key, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
        return buffer.decodedCString
    }
}
