import CRdKafka

/// Builds an `rd_kafka_conf_t`, failing with librdkafka's own message for an
/// unknown key or a bad value.
enum RDKafkaConfig {
    static func make(_ properties: [(String, String)]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.make(.configuration, reason: "rd_kafka_conf_new returned no configuration")
        }
        do {
            for (key, value) in properties {
                try set(conf, key, value)
            }
        } catch {
            rd_kafka_conf_destroy(conf)
            throw error
        }
        rd_kafka_conf_set_log_cb(conf, librdkafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, librdkafkaErrorCallback)
        return conf
    }

    static func set(_ conf: OpaquePointer, _ key: String, _ value: String) throws {
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
        guard result == RD_KAFKA_CONF_OK else {
            let message = errorText.decodedCString
            throw KafkaError.make(.configuration, reason: "invalid Kafka property \(key): \(message)")
        }
    }
}

extension Array where Element == CChar {
    /// The text of a NUL-terminated error buffer librdkafka filled in.
    var decodedCString: String {
        let bytes = prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension KafkaProducerConfiguration {
    /// Checks every property as librdkafka would take it, and the guarantee
    /// keys (`validate()`), without creating a client: so a bad
    /// `--kafka-property` stops start-up before anything (an embedded
    /// cluster, a connection) has started.
    /// - Throws: a `.configuration` `KafkaError` naming the key.
    public func checkWithoutConnecting() throws {
        try validate()
        rd_kafka_conf_destroy(try RDKafkaConfig.make(properties))
    }
}
