import CRdKafka

/// One librdkafka producer handle and the queue its delivery reports and
/// errors arrive on.
///
/// A `KafkaProducer` replaces its handle after a fatal error, so the old one
/// may still be held for a moment by a send or by the poll thread; it is
/// destroyed when the last of them lets go, never sooner.
final class ProducerHandle: Sendable {
    let client: RDKafkaClient
    private let events: SendablePointer
    /// 0 for a producer's first handle, one more for each replacement.
    let generation: Int

    private init(client: RDKafkaClient, events: SendablePointer, generation: Int) {
        self.client = client
        self.events = events
        self.generation = generation
    }

    static func make(configuration: KafkaProducerConfiguration, generation: Int) throws -> ProducerHandle {
        let client = try RDKafkaClient.make(kind: .producer, properties: configuration.properties) { conf in
            // Delivery reports and errors arrive as events on the main queue,
            // which the producer's poll thread drains (the event API needs no C closure context).
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR))
        }
        let events = SendablePointer(client.withHandle { rd_kafka_queue_get_main($0) })
        return ProducerHandle(client: client, events: events, generation: generation)
    }

    deinit {
        // Destroying a handle waits for librdkafka's threads to stop, and the
        // last reference may be dropped by a send on the cooperative pool:
        // do it on the blocking queue. The queue goes before the handle.
        let events = self.events
        let client = self.client
        RDKafkaClient.blockingQueue.async {
            rd_kafka_queue_destroy(events.pointer)
            withExtendedLifetime(client) {}
        }
    }

    /// The next event, waiting up to `timeoutMilliseconds`; the caller destroys it.
    func nextEvent(timeoutMilliseconds: Int32) -> OpaquePointer? {
        rd_kafka_queue_poll(events.pointer, timeoutMilliseconds)
    }

    /// librdkafka's fatal error on this handle, if one was raised.
    func raisedFatalError() -> (code: rd_kafka_resp_err_t, reason: String)? {
        var text = [CChar](repeating: 0, count: 512)
        let err = client.withHandle { rd_kafka_fatal_error($0, &text, text.count) }
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return (err, text.decodedCString)
    }
}
