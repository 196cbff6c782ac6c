import CRdKafka

extension KafkaProducer {
    /// Raises a fatal error on the current librdkafka handle, as an idempotence
    /// failure would (`rd_kafka_test_fatal_error`; librdkafka prefixes the
    /// reason with `test_fatal_error: `). The producer then fails its sends in
    /// flight and recreates its handle, as it does for a real fatal error.
    @_spi(Internal)
    public func injectFatalErrorForTesting(
        _ error: KafkaProtocolError = .outOfOrderSequenceNumber, reason: String = "injected by a test"
    ) throws {
        let err = currentHandle.client.withHandle {
            rd_kafka_test_fatal_error($0, rd_kafka_resp_err_t(rawValue: error.code), reason)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.produce, err, context: "cannot inject a fatal error")
        }
    }

    /// Sends waiting for their delivery report (or for a fatal error to fail them).
    @_spi(Internal)
    public var inFlightForTesting: Int { inFlight }
}
