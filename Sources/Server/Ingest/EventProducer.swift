import Kafka

/// Where ingest and publishing put events: returns once Kafka acknowledged
/// every record, so a 2xx means durable. `KafkaProducer` in the server.
public protocol EventProducer: Sendable {
    func produce(_ records: [KafkaProducerRecord]) async throws
}

extension KafkaProducer: EventProducer {
    public func produce(_ records: [KafkaProducerRecord]) async throws {
        _ = try await send(contentsOf: records)
    }
}
