@_spi(Testing) @_spi(Internal) import Kafka
import Logging
import TestSupport
import Testing

@Suite("Producer fatal errors: the producer recreates itself", .machineHeavy)
struct ProducerFatalErrorTests {
    @Test func aFatalErrorFailsTheSendsInFlightAndRecreatesTheProducer() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            let (logger, logs) = CapturingLogHandler.logger()
            try await withProducer(cluster, logger: logger) { producer in
                _ = try await producer.send(record(topic, key: "k", value: "warm-up"))
                #expect(producer.recreations == 0)

                // A slow broker keeps the next record in flight while the fatal error hits.
                try cluster.setRoundTripTime(.seconds(5), broker: 1)
                let inFlight = Task { try await producer.send(record(topic, key: "k", value: "in-flight")) }
                #expect(await eventually { producer.inFlightForTesting == 1 })
                try producer.injectFatalErrorForTesting()
                let error = await #expect(throws: KafkaError.self) { try await inFlight.value }
                #expect(error?.isFatal == true)
                #expect(error?.isRetriable == false)
                #expect(error?.reason.contains("test_fatal_error") == true)
                try cluster.setRoundTripTime(.zero, broker: 1)

                let receipt = try await producer.send(record(topic, key: "k", value: "after-recreation"))
                #expect(receipt.topic == topic)
                #expect(producer.recreations == 1)
                let more = try await producer.send(contentsOf: (0..<10).map { record(topic, key: "k", value: "more-\($0)") })
                #expect(more.count == 10)
            }
            let critical = logs.all.filter { $0.level == .critical }
            #expect(critical.count == 1, "a fatal error is logged once at critical: \(critical.map(\.message))")
        }
    }

    @Test func sendsRacingAFatalErrorAreEnqueuedOnTheNewHandle() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            try await withProducer(cluster) { producer in
                _ = try await producer.send(record(topic, key: "k", value: "warm-up"))
                try producer.injectFatalErrorForTesting()
                // Sent right after the error, before or during the replacement:
                // librdkafka refuses them at enqueue, and the producer retries
                // them on the new handle.
                let receipts = try await producer.send(contentsOf: (0..<20).map { record(topic, key: "k", value: "\($0)") })
                #expect(receipts.count == 20)
                #expect(producer.recreations == 1)
            }
        }
    }
}
