@testable import Delivery
import TestSupport
import Foundation
@_spi(Testing) @_spi(Internal) import Kafka
import Logging
import RegistryEvents
import Testing

/// What Kafka can never take must not stall a dispatcher: the settlement
/// writes a dead letter pointing at the event's origin instead.
@Suite("Delivery settlement against Kafka's limits", .machineHeavy)
struct SettlementTests {
    struct AlwaysFailing: DeliveryPolicy {
        var schedule: RetrySchedule { RetrySchedule(delays: [.milliseconds(100)], maxAttempts: 5, timeToLive: .seconds(3600)) }
        var jitter: Double { 0 }
        func isDelivered(_ outcome: AttemptOutcome) -> Bool { false }
        func terminalReason(_ outcome: AttemptOutcome) -> String? { nil }
        func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord] { [] }
    }

    /// A fresh embedded cluster with a layout's topics and a running
    /// producer, shut down after `body`.
    static func withProducer(
        _ body: (EmbeddedKafkaCluster, TopicLayout, KafkaProducer, Logger) async throws -> Void
    ) async throws {
        var logger = Logger(label: "settlement-tests")
        logger.logLevel = .critical
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let layout = TopicLayout(prefix: "settle-\(UUID().uuidString.prefix(6).lowercased())")
        for topic in layout.allTopics { try cluster.createTopic(KafkaTopicSpec(name: topic, partitions: 1)) }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.testClientConfiguration), logger: logger)
        let producing = Task { try await producer.run() }
        defer { producing.cancel() }
        try await body(cluster, layout, producer, logger)
        await producer.shutdown()
    }

    @Test func aRetryRecordKafkaRefusesBecomesAPointerDeadLetter() async throws {
        try await Self.withProducer { cluster, layout, producer, logger in
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
        }
    }

    /// A policy that records the outcome its dead letters are made from.
    final class RecordingExpiry: DeliveryPolicy, @unchecked Sendable {
        var schedule: RetrySchedule { RetrySchedule(delays: [.milliseconds(100)], maxAttempts: 30, timeToLive: .seconds(4)) }
        var jitter: Double { 0 }
        var deadLetterOutcome: AttemptOutcome?
        func isDelivered(_ outcome: AttemptOutcome) -> Bool { false }
        func terminalReason(_ outcome: AttemptOutcome) -> String? { nil }
        func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord] {
            deadLetterOutcome = outcome
            return []
        }
    }

    /// Deferred past its time to live (the breaker stayed open), a delivery's
    /// dead letter still tells its last real attempt's answer: Event Grid's
    /// lastHttpStatusCode is the endpoint's, not the deferral's.
    @Test func aDeliveryDeferredPastItsTimeToLiveKeepsItsLastAnswer() async throws {
        try await Self.withProducer { _, layout, producer, logger in
            let startedLongAgo = Int64(Date().timeIntervalSince1970 * 1000) - 10_000
            let record = DeliveryRecord(
                targetKind: .subscription, registry: "", target: "expiring", eventID: "e1", attempt: 11, dueAtMilliseconds: 0,
                firstAttemptAtMilliseconds: startedLongAgo, body: "[]", originTopic: "registry-events.cloudevents", originPartition: 0,
                originOffset: 7, lastStatusCode: 500, lastError: nil, scope: "registry/r")
            let policy = RecordingExpiry()
            let settled = await DeliverySettlement(producer: producer, layout: layout, logger: logger)
                .defer(record, wait: .seconds(1), reason: "circuit breaker open", policy: policy)
            #expect(settled.result == .deadLettered)
            #expect(policy.deadLetterOutcome?.statusCode == 500)
        }
    }

    /// Also the regression test for librdkafka#4627: records with headers
    /// refused at enqueue crashed the process (headers freed twice).
    /// A cluster that can refuse a topic, with a layout's topics and a producer.
    static func refusingCluster(prefix: String) throws -> (EmbeddedKafkaCluster, TopicLayout, KafkaProducer, Logger) {
        var logger = Logger(label: "settlement-tests")
        logger.logLevel = .critical
        let cluster = try EmbeddedKafkaCluster.reservingRefusingBroker(logger: logger)
        let layout = TopicLayout(prefix: "\(prefix)-\(UUID().uuidString.prefix(6).lowercased())")
        for topic in layout.allTopics { try cluster.createTopic(KafkaTopicSpec(name: topic, partitions: 1)) }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: cluster.testClientConfiguration), logger: logger)
        return (cluster, layout, producer, logger)
    }

    @Test func aRetryRecordKafkaRefusesForGoodIsNeverTakenAsDurableAndReadinessSaysWhy() async throws {
        let (cluster, layout, producer, logger) = try Self.refusingCluster(prefix: "refuse")
        let retryTier = layout.retryTier(.seconds(10))
        // The producer knows the topic before Kafka starts refusing it (as a running server would).
        _ = try await producer.send(
            KafkaProducerRecord(topic: retryTier, key: Array("k".utf8), value: Array("warm".utf8), headers: [KafkaHeader(key: "a", string: "b")]))
        try await cluster.refuseProduce(to: retryTier)

        let health = DeliveryHealth(logger: logger)
        let settlement = DeliverySettlement(producer: producer, layout: layout, health: health, logger: logger)
        let record = DeliveryRecord(
            targetKind: .webhook, registry: "r", target: "acl", eventID: "e1", attempt: 1, dueAtMilliseconds: 0,
            firstAttemptAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), body: "{}", originTopic: "registry-events.acr",
            originPartition: 0, originOffset: 7)
        let outcome = AttemptOutcome(statusCode: 500, reasonPhrase: "", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil)
        let settled = Locked<DeliverySettlement.Settled?>(nil)
        let settling = Task {
            let result = await settlement.settle(record, outcome: outcome, policy: AlwaysFailing())
            settled.withLock { $0 = result }
        }

        // Refused: no outcome (so its record is never committed past), and readiness names the topic.
        let deadline = ContinuousClock.now + .seconds(30)
        while health.reasons.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(health.reasons.contains { $0.contains(retryTier) }, "readiness names the refused topic: \(health.reasons)")
        #expect(settled.withLock { $0 } == nil, "a refused retry record is not an outcome")

        // Allowed again: the same retry record goes through, durable, and readiness clears.
        try cluster.allowProduce(to: retryTier)
        await settling.value
        let result = try #require(settled.withLock { $0 })
        #expect(result.isDurable)
        #expect(result.result == .retrying, "the retry record itself, not a pointer in its place")
        #expect(health.reasons.isEmpty)
        await producer.shutdown()
        cluster.shutdown()
    }
}

@Suite("The audit record is written by hand as the encoder wrote it", .machineHeavy)
struct AuditValueTests {
    @Test func everyShapeOfAnAttemptIsTheEncodersBytes() {
        for statusCode in [nil, 200, 503] as [Int?] {
            for error in [nil, "timeout: \"slow\"\n/x"] as [String?] {
                for kind in ["webhook", "subscription"] {
                    let value = DeliveryAttemptValue(
                        kind: kind, registry: "r", eventID: "e-1", attempt: 3, statusCode: statusCode, error: error, result: "retrying",
                        at: 1_764_000_000_000, webhook: kind == "webhook" ? "hook1" : nil, target: kind == "webhook" ? nil : "sub-1",
                        scope: kind == "webhook" ? nil : "registry/r", events: kind == "webhook" ? nil : 2)
                    #expect(value.jsonBytes == SettlementValues.encode(value), "\(String(decoding: SettlementValues.encode(value), as: UTF8.self))")
                }
            }
        }
    }

    struct AlwaysDelivering: DeliveryPolicy {
        var schedule: RetrySchedule { .webhookDefault }
        var jitter: Double { 0 }
        func isDelivered(_ outcome: AttemptOutcome) -> Bool { true }
        func terminalReason(_ outcome: AttemptOutcome) -> String? { nil }
        func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord] { [] }
    }

    /// A delivered attempt does not wait for its audit record's
    /// acknowledgement, but its Kafka record is never committed past an
    /// audit record Kafka refuses: it completes only once Kafka takes it.
    @Test func aDeliveredAttemptSettlesBeforeItsAuditIsAcknowledgedButIsNotCommittedPastARefusedOne() async throws {
        let (cluster, layout, producer, logger) = try SettlementTests.refusingCluster(prefix: "audit")
        _ = try await producer.send(KafkaProducerRecord(topic: layout.deliveries, key: nil, value: Array("warm".utf8), headers: []))
        try await cluster.refuseProduce(to: layout.deliveries)

        let health = DeliveryHealth(logger: logger)
        let settlement = DeliverySettlement(producer: producer, layout: layout, health: health, logger: logger)
        let commits = CommitCoordinator()
        let origin = KafkaConsumerRecord(
            topic: layout.acr, partition: 0, offset: 7, key: nil, value: [], headers: [], timestampMilliseconds: nil)
        let lifecycle = RecordLifecycle(origin, targets: 1, commits: commits)
        let record = DeliveryRecord(
            targetKind: .webhook, registry: "r", target: "audited", eventID: "e1", attempt: 1, dueAtMilliseconds: 0,
            firstAttemptAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), body: "{}", originTopic: layout.acr,
            originPartition: 0, originOffset: 7)
        let outcome = AttemptOutcome(statusCode: 200, reasonPhrase: "OK", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil)

        // Returns with the audit record handed over, not acknowledged.
        let settled = await settlement.settle(record, outcome: outcome, policy: AlwaysDelivering(), waitForKafka: false)
        #expect(settled.result == .delivered)
        #expect(settled.acknowledgement != nil)
        lifecycle.record(settled)

        // Refused: readiness names `.deliveries`, and the commit stays at the record.
        let deadline = ContinuousClock.now + .seconds(30)
        while health.reasons.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(health.reasons.contains { $0.contains(layout.deliveries) }, "readiness names the refused topic: \(health.reasons)")
        #expect(commits.committable().map(\.offset) == [7], "never committed past a refused audit record")
        #expect(commits.pendingDeliveries.load(ordering: .relaxed) == 1, "still within the dispatcher's bound")

        // Taken again: the record completes, and its next offset is committable.
        try cluster.allowProduce(to: layout.deliveries)
        while commits.committable().map(\.offset) != [8], ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(commits.committable().map(\.offset) == [8])
        #expect(commits.pendingDeliveries.load(ordering: .relaxed) == 0)
        #expect(lifecycle.outcomes == [.delivered])
        await producer.shutdown()
        cluster.shutdown()
    }
}
