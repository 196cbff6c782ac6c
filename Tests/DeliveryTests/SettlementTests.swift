@testable import Delivery
import Foundation
@_spi(Testing) import Kafka
import Logging
import RegistryEvents
import Testing

/// What Kafka can never take must not stall a dispatcher: the settlement
/// writes a dead letter pointing at the event's origin instead.
@Suite("Delivery settlement against Kafka's limits")
struct SettlementTests {
    struct AlwaysFailing: DeliveryPolicy {
        var schedule: RetrySchedule { RetrySchedule(delays: [.milliseconds(100)], maxAttempts: 5, timeToLive: .seconds(3600)) }
        var jitter: Double { 0 }
        func isDelivered(_ outcome: AttemptOutcome) -> Bool { false }
        func terminalReason(_ outcome: AttemptOutcome) -> String? { nil }
        func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord] { [] }
    }

    @Test func aRetryRecordKafkaRefusesBecomesAPointerDeadLetter() async throws {
        var logger = Logger(label: "settlement-tests")
        logger.logLevel = .critical
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let layout = TopicLayout(prefix: "settle-\(UUID().uuidString.prefix(6).lowercased())")
        for topic in layout.allTopics { try cluster.createTopic(KafkaTopicSpec(name: topic, partitions: 1)) }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.testClientConfiguration), logger: logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }

        // A 2 MB body cannot ride in a retry record (librdkafka's limit is 1 MB).
        let record = DeliveryRecord(
            targetKind: .subscription, registry: "", target: "big", eventID: "e1", attempt: 1, dueAtMilliseconds: 0,
            firstAttemptAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), body: String(repeating: "x", count: 2_000_000),
            originTopic: "registry-events.topic.shop", originPartition: 3, originOffset: 42, scope: "topic/shop")
        let outcome = AttemptOutcome(statusCode: 500, reasonPhrase: "", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil)
        let settled = await DeliverySettlement(producer: producer, layout: layout, logger: logger)
            .settle(record, outcome: outcome, policy: AlwaysFailing())
        #expect(settled.isDurable, "settled instead of retrying Kafka forever")
        #expect(settled.result == .retrying)

        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: cluster.testClientConfiguration, groupID: nil), logger: logger)
        try reader.assign([KafkaTopicPartition(topic: layout.deadLetter, partition: 0): .beginning])
        var pointer: KafkaConsumerRecord?
        let deadline = ContinuousClock.now + .seconds(20)
        while pointer == nil, ContinuousClock.now < deadline { pointer = try await reader.poll(timeout: .milliseconds(200)).first }
        await reader.close()
        let body = try #require(JSONValue(parsing: pointer?.value ?? []))
        #expect(body["deadLetterReason"] == "UndeliverableRecord")
        #expect(body["originTopic"] == "registry-events.topic.shop")
        #expect(body["originOffset"] == 42)
        #expect(pointer?.header("regevents-pointer")?.stringValue == "true")
        await producer.shutdown()
    }
}
