@_spi(Testing) import Kafka
import TestSupport
import Testing

@Suite("Retention watch: warn before retention deletes unprocessed records", .machineHeavy)
struct RetentionWatchTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let low: Int64
        let high: Int64
        let committed: Int64?
        let capacity: Int?
        let verdict: RetentionWatch.Assessment.Verdict
        let lag: Int64
        let headroom: Double?
        let why: String
        var testDescription: String { why }
    }

    static let table: [Row] = [
        // Before retention (low == 0): judged against the estimated capacity.
        Row(low: 0, high: 0, committed: nil, capacity: nil, verdict: .healthy, lag: 0, headroom: 1, why: "empty partition"),
        Row(low: 0, high: 100, committed: 100, capacity: 10, verdict: .healthy, lag: 0, headroom: 1, why: "caught up, whatever the capacity"),
        Row(low: 0, high: 100, committed: nil, capacity: nil, verdict: .healthy, lag: 100, headroom: nil, why: "no estimate: unknown"),
        Row(low: 0, high: 100, committed: 0, capacity: 1000, verdict: .healthy, lag: 100, headroom: 0.9, why: "small backlog"),
        Row(low: 0, high: 800, committed: 0, capacity: 1000, verdict: .healthy, lag: 800, headroom: 0.2, why: "exactly 80 % is not over"),
        Row(low: 0, high: 801, committed: 0, capacity: 1000, verdict: .atRisk, lag: 801, headroom: 0.199, why: "just over 80 %"),
        Row(low: 0, high: 900, committed: 100, capacity: 1000, verdict: .healthy, lag: 800, headroom: 0.2, why: "lag counts from the committed offset"),
        Row(low: 0, high: 2000, committed: nil, capacity: 1000, verdict: .atRisk, lag: 2000, headroom: 0, why: "never committed, past capacity"),
        // Retention active (low > 0): judged against what is kept.
        Row(low: 100, high: 200, committed: 190, capacity: nil, verdict: .healthy, lag: 10, headroom: 0.9, why: "near the end"),
        Row(low: 100, high: 200, committed: 120, capacity: nil, verdict: .healthy, lag: 80, headroom: 0.2, why: "exactly 0.2 is not below"),
        Row(low: 100, high: 200, committed: 119, capacity: nil, verdict: .atRisk, lag: 81, headroom: 0.19, why: "just below 0.2"),
        Row(low: 100, high: 200, committed: 100, capacity: 10_000, verdict: .atRisk, lag: 100, headroom: 0, why: "capacity ignored once retention runs"),
        Row(low: 100, high: 200, committed: nil, capacity: nil, verdict: .atRisk, lag: 100, headroom: 0, why: "never committed: starts at the log start"),
        Row(low: 100, high: 200, committed: 200, capacity: nil, verdict: .healthy, lag: 0, headroom: 1, why: "caught up"),
        Row(low: 100, high: 100, committed: 100, capacity: nil, verdict: .healthy, lag: 0, headroom: 1, why: "everything kept was read"),
        // Below the log start: DataLossMonitor's business, not a warning.
        Row(low: 100, high: 200, committed: 50, capacity: nil, verdict: .lost, lag: 100, headroom: 0, why: "already lost"),
    ]

    @Test(arguments: table)
    func theRule(_ row: Row) throws {
        let assessment = RetentionWatch.assess(
            lowWatermark: row.low, highWatermark: row.high, committedOffset: row.committed,
            estimatedRecordsPerPartition: row.capacity)
        #expect(assessment.verdict == row.verdict)
        #expect(assessment.lag == row.lag)
        if let expected = row.headroom {
            let headroom = try #require(assessment.headroom)
            #expect(abs(headroom - expected) < 1e-9, "headroom \(headroom), expected \(expected)")
        } else {
            #expect(assessment.headroom == nil)
        }
    }

    @Test func aGroupFallingBehindTheEstimatedCapacityIsWarnedAboutOnce() async throws {
        try await withEmbeddedCluster { cluster in
            let topic = try cluster.createUniqueTopic(partitions: 1)
            _ = try await withProducer(cluster) { producer in
                try await producer.send(contentsOf: (0..<20).map { record(topic, key: "k", value: "\($0)") })
            }
            // One group has read and committed everything; the other never read.
            let consumer = try makeGroupConsumer(cluster, group: "caught-up", topics: [topic])
            let records = try await collect(consumer, count: 20)
            try await consumer.commit(records.map(KafkaCommitOffset.init(after:)))
            await consumer.close()

            let (logger, logs) = CapturingLogHandler.logger()
            let watch = try RetentionWatch(
                configuration: RetentionWatch.Configuration(
                    client: cluster.testClientConfiguration,
                    groups: [
                        RetentionWatch.WatchedGroup(group: "lagging", topics: [topic]),
                        RetentionWatch.WatchedGroup(group: "caught-up", topics: [topic]),
                    ],
                    interval: .milliseconds(100), estimatedRecordsPerPartition: 10),
                logger: logger)
            let running = Task { try await watch.run() }
            let warned = await eventually { !watch.warnings.isEmpty }
            // A few more passes: the partition stays quiet for the warning interval.
            var passes: [[RetentionWatch.Warning]] = []
            for _ in 0..<3 { passes.append(try await watch.check()) }
            running.cancel()
            _ = await running.result

            #expect(warned)
            let warning = try #require(watch.warnings.first)
            #expect(watch.warnings.count == 1)
            #expect(passes.allSatisfy { $0.isEmpty })
            #expect(warning.group == "lagging")
            #expect(warning.topic == topic)
            #expect(warning.partition == 0)
            #expect(warning.committedOffset == nil)
            #expect(warning.lag == 20)
            #expect(warning.headroom == 0)
            let logged = logs.all.filter { $0.level == .warning && $0.message.contains("retention risk") }
            #expect(logged.count == 1)
            #expect(logged.first?.metadata["group"] == "lagging")
        }
    }
}
