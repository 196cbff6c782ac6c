import Delivery
import Foundation
@_spi(Testing) import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// The in-process handler API against an embedded cluster: filters, a
/// handler that throws (retried on the tiers), one that keeps throwing
/// (dead-lettered).
@Suite("EventGridConsumer: in-process handlers", .machineHeavy)
struct EventGridConsumerTests {
    static let logger: Logger = {
        var logger = Logger(label: "consumer-tests")
        logger.logLevel = .warning
        return logger
    }()

    final class Calls: Sendable {
        private let calls = Mutex<[(repository: String, attempt: Int)]>([])
        func record(_ repository: String, _ attempt: Int) { calls.withLock { $0.append((repository, attempt)) } }
        func attempts(_ repository: String) -> [Int] { calls.withLock { $0.filter { $0.repository == repository }.map(\.attempt) } }
        var repositories: Set<String> { calls.withLock { Set($0.map(\.repository)) } }
    }

    static func event(_ repository: String, id: String) -> RegistryEvent {
        RegistryEvent(
            id: id, timestamp: "2026-11-25T10:00:00Z", action: .push, registry: "myregistry", location: "local",
            target: .init(mediaType: "application/vnd.oci.image.manifest.v1+json", size: 10, digest: "sha256:\(String(repeating: "a", count: 64))",
                          repository: repository, tag: "v1"))
    }

    @Test func handlerIsFilteredRetriedAndDeadLettered() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: Self.logger)
        defer { cluster.shutdown() }
        let layout = TopicLayout(prefix: "handler-\(UUID().uuidString.prefix(6).lowercased())")
        for topic in layout.allTopics { try cluster.createTopic(KafkaTopicSpec(name: topic, partitions: 1)) }

        let calls = Calls()
        let configuration = EventGridConsumer.Configuration(
            brokers: cluster.bootstrapServers, group: "scanner", topicPrefix: layout.prefix, source: .registry("myregistry"),
            filter: EventFilter(advancedFilters: [
                AdvancedFilter(operatorType: .stringIn, key: "data.target.repository", values: ["hello", "broken"])
            ]),
            retry: RetrySchedule(delays: [.milliseconds(200)], maxAttempts: 2, timeToLive: .seconds(60)), jitter: 0)
        let consumer = EventGridConsumer(configuration: configuration, logger: Self.logger) { event in
            let pushed = try event.decode(EventGridEvent.self)
            calls.record(pushed.data.target.repository, event.deliveryAttempt)
            if pushed.data.target.repository == "broken" || event.deliveryAttempt == 1 { throw HandlerFailure() }
        }
        let group = ServiceGroup(services: [consumer], logger: Self.logger)
        let running = Task { try await group.run() }

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.testClientConfiguration), logger: Self.logger)
        let producing = Task { try await producer.run() }
        let renderer = EventRecordRenderer(layout: layout)
        let records = ["hello", "broken", "other"].enumerated().flatMap { index, repository in
            renderer.records(for: Self.event(repository, id: "event-\(index)")).filter { $0.topic == layout.cloudEvents }
        }
        _ = try await producer.send(contentsOf: records.map {
            KafkaProducerRecord($0)
        })

        // Retried once and then handled; the broken one twice, then dead-lettered; the other never called.
        #expect(await eventually { calls.attempts("hello") == [1, 2] && calls.attempts("broken") == [1, 2] })
        let deadLetter = try await firstRecord(in: layout.deadLetter, cluster: cluster)
        let body = try #require(JSONValue(parsing: deadLetter?.value ?? []))
        #expect(body["deadLetterReason"] == "MaxDeliveryAttemptsExceeded")
        #expect(body["deliveryAttempts"] == 2)
        #expect(body.value(at: ["data", "target", "repository"]) == "broken")
        #expect(deadLetter?.header("regevents-source")?.stringValue == "subscription")
        #expect(!calls.repositories.contains("other"))

        await group.triggerGracefulShutdown()
        _ = await running.result
        await producer.shutdown()
        producing.cancel()
    }

    struct HandlerFailure: Error {}

    func eventually(limit: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    func firstRecord(in topic: String, cluster: EmbeddedKafkaCluster) async throws -> KafkaConsumerRecord? {
        let reader = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: cluster.testClientConfiguration, groupID: nil), logger: Self.logger)
        try reader.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning])
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let record = try await reader.poll(timeout: .milliseconds(200)).first {
                await reader.close()
                return record
            }
        }
        await reader.close()
        return nil
    }
}
