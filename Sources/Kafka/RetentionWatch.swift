import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Warns while a consumer group can still catch up: when the records it has
/// not processed are close to being deleted by retention.
///
/// The embedded cluster keeps only about 5 MiB per partition, and a real
/// cluster keeps what its retention allows; a group that falls too far behind
/// loses records, which `DataLossMonitor` then reports as DATA LOSS. This
/// service looks at every watched partition each `interval`: its watermarks
/// and the group's committed offset. It logs `retention risk` at warning (at
/// most once per partition per `warningInterval`), records the gauge
/// `regevents_kafka_retention_headroom_ratio{group,topic,partition}` and keeps
/// the warnings in `warnings`. The rule is `assess(...)`.
public final class RetentionWatch: Service, Sendable {
    /// A consumer group and the topics it reads.
    public struct WatchedGroup: Sendable, Hashable {
        public var group: String
        public var topics: [String]

        public init(group: String, topics: [String]) {
            self.group = group
            self.topics = topics
        }
    }

    public struct Configuration: Sendable {
        public var client: KafkaClientConfiguration
        public var groups: [WatchedGroup]
        /// How often every watched partition is checked.
        public var interval: Duration
        /// About how many records a partition keeps before retention starts
        /// deleting, to judge a backlog before the log start first moves.
        /// `nil` (real clusters, whose retention is by time): no warning until
        /// retention has deleted something.
        public var estimatedRecordsPerPartition: Int?
        /// How long a partition stays quiet after its warning.
        public var warningInterval: Duration = .seconds(600)

        public init(
            client: KafkaClientConfiguration, groups: [WatchedGroup], interval: Duration = .seconds(30),
            estimatedRecordsPerPartition: Int? = nil
        ) {
            self.client = client
            self.groups = groups
            self.interval = interval
            self.estimatedRecordsPerPartition = estimatedRecordsPerPartition
        }
    }

    /// Where a group stands on one partition, against what retention keeps.
    public struct Assessment: Sendable, Hashable {
        public enum Verdict: String, Sendable, Hashable {
            case healthy
            /// Unprocessed records are close to being deleted: warn.
            case atRisk
            /// The group's offset is already below the log start: records were
            /// lost, which the consumer reports as DATA LOSS. Not warned again here.
            case lost
        }

        public let verdict: Verdict
        /// Records after the group's position.
        public let lag: Int64
        /// How much of what the partition keeps lies before the group's
        /// position (0 = its next record is the next one retention deletes,
        /// 1 = caught up); `nil` when not known (retention has not started and
        /// there is no estimate of the partition's capacity).
        public let headroom: Double?

        public init(verdict: Verdict, lag: Int64, headroom: Double?) {
            self.verdict = verdict
            self.lag = lag
            self.headroom = headroom
        }
    }

    /// One logged warning.
    public struct Warning: Sendable, Hashable {
        public let group: String
        public let topic: String
        public let partition: Int32
        /// `nil` when the group never committed on this partition (it then
        /// starts at the log start).
        public let committedOffset: Int64?
        public let lowWatermark: Int64
        public let highWatermark: Int64
        public let lag: Int64
        public let headroom: Double
        public let detectedAt: Date
    }

    /// Below this headroom a backlog is at risk.
    public static let headroomThreshold = 0.2

    /// The rule, kept pure so it can be tested as a table.
    ///
    /// The group's position is its committed offset, or the log start when it
    /// never committed (it starts at the earliest record, our default reset).
    /// - A position below `low` is a loss already (`.lost`, headroom 0).
    /// - Once retention has deleted something (`low > 0`), headroom is
    ///   `(position - low) / (high - low)`: the share of the kept log the group
    ///   has already read. At risk when it is below 0.2 and the lag is positive.
    /// - Before that (`low == 0`), with an estimated capacity, headroom is
    ///   `1 - lag / capacity`: at risk when the lag exceeds 80 % of what the
    ///   partition is expected to keep. Without an estimate: unknown, healthy.
    public static func assess(
        lowWatermark low: Int64, highWatermark high: Int64, committedOffset: Int64?, estimatedRecordsPerPartition: Int?
    ) -> Assessment {
        let position = committedOffset ?? low
        if position < low {
            return Assessment(verdict: .lost, lag: max(0, high - low), headroom: 0)
        }
        let lag = max(0, high - position)
        guard lag > 0 else { return Assessment(verdict: .healthy, lag: 0, headroom: 1) }
        if low > 0 {
            let headroom = Double(position - low) / Double(high - low)
            return Assessment(verdict: headroom < headroomThreshold ? .atRisk : .healthy, lag: lag, headroom: headroom)
        }
        guard let capacity = estimatedRecordsPerPartition, capacity > 0 else {
            return Assessment(verdict: .healthy, lag: lag, headroom: nil)
        }
        let headroom = max(0, 1 - Double(lag) / Double(capacity))
        // Compared in integers: lag > 0.8 × capacity, exactly.
        let atRisk = lag * 10 > Int64(capacity) * 8
        return Assessment(verdict: atRisk ? .atRisk : .healthy, lag: lag, headroom: headroom)
    }

    private struct State {
        var lastWarned: [PartitionKey: ContinuousClock.Instant] = [:]
        var warnings: [Warning] = []
        /// Per label, per partition: made once, recorded every pass.
        var gauges: [String: [PartitionKey: Gauge]] = [:]
    }

    private struct PartitionKey: Hashable {
        let group: String
        let topic: String
        let partition: Int32
    }

    /// The most warnings kept in `warnings` (the oldest go first).
    private static let keptWarnings = 1000

    private let configuration: Configuration
    private let admin: KafkaAdmin
    private let state = Mutex(State())
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        admin = try KafkaAdmin(configuration: configuration.client, logger: logger)
    }

    /// The warnings logged so far, oldest first (the last 1000).
    public var warnings: [Warning] { state.withLock { $0.warnings } }

    /// Checks every watched partition once; returns the warnings logged by
    /// this pass. Each blocking Kafka call runs off the cooperative pool.
    /// - Throws: the first error of a group that could not be read, after
    ///   the other groups were checked.
    @discardableResult
    public func check() async throws -> [Warning] {
        var logged: [Warning] = []
        var firstError: (any Error)?
        for watched in configuration.groups {
            do {
                logged += try await check(watched)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return logged
    }

    private func check(_ watched: WatchedGroup) async throws -> [Warning] {
        let descriptions = try await admin.describeTopics(watched.topics)
        let partitions = descriptions.flatMap { description in
            description.partitions.map { KafkaTopicPartition(topic: description.name, partition: $0.partition) }
        }
        guard !partitions.isEmpty else { return [] }
        let committed = try await admin.committedOffsets(group: watched.group, partitions: partitions)
        var logged: [Warning] = []
        for description in descriptions {
            for partition in description.partitions {
                let topicPartition = KafkaTopicPartition(topic: description.name, partition: partition.partition)
                let offset = committed[topicPartition]
                let assessment = Self.assess(
                    lowWatermark: partition.lowWatermark, highWatermark: partition.highWatermark, committedOffset: offset,
                    estimatedRecordsPerPartition: configuration.estimatedRecordsPerPartition)
                let key = PartitionKey(group: watched.group, topic: description.name, partition: partition.partition)
                if let headroom = assessment.headroom { gauge("regevents_kafka_retention_headroom_ratio", key).record(headroom) }
                gauge("regevents_kafka_consumer_lag", key).record(assessment.lag)
                guard assessment.verdict == .atRisk, let headroom = assessment.headroom else { continue }
                let warning = Warning(
                    group: watched.group, topic: description.name, partition: partition.partition, committedOffset: offset,
                    lowWatermark: partition.lowWatermark, highWatermark: partition.highWatermark, lag: assessment.lag,
                    headroom: headroom, detectedAt: Date())
                guard shouldWarn(key, warning) else { continue }
                logger.warning(
                    "retention risk: a consumer group is close to losing records it has not processed to retention",
                    metadata: [
                        "group": "\(warning.group)", "topic": "\(warning.topic)", "partition": "\(warning.partition)",
                        "committedOffset": "\(offset.map(String.init) ?? "none")",
                        "lowWatermark": "\(warning.lowWatermark)", "highWatermark": "\(warning.highWatermark)",
                        "lag": "\(warning.lag)", "headroom": "\(String(format: "%.3f", headroom))",
                    ])
                logged.append(warning)
            }
        }
        return logged
    }

    /// Records `warning` unless the partition warned within `warningInterval`.
    private func shouldWarn(_ key: PartitionKey, _ warning: Warning) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let last = state.lastWarned[key], now - last < configuration.warningInterval { return false }
            state.lastWarned[key] = now
            state.warnings.append(warning)
            if state.warnings.count > Self.keptWarnings { state.warnings.removeFirst(state.warnings.count - Self.keptWarnings) }
            return true
        }
    }

    private func gauge(_ label: String, _ key: PartitionKey) -> Gauge {
        state.withLock { state in
            if let gauge = state.gauges[label]?[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: [("group", key.group), ("topic", key.topic), ("partition", String(key.partition))])
            state.gauges[label, default: [:]][key] = gauge
            return gauge
        }
    }

    /// Checks every `interval` until graceful shutdown or cancellation. A
    /// pass that cannot read the cluster is logged and the next one tries again.
    public func run() async throws {
        logger.info(
            "Retention watch started",
            metadata: [
                "groups": "\(configuration.groups.map(\.group))", "interval": "\(configuration.interval)",
                "estimatedRecordsPerPartition": "\(configuration.estimatedRecordsPerPartition.map(String.init) ?? "none")",
            ])
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                do {
                    try await check()
                } catch {
                    logger.warning("Retention watch could not read offsets", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: configuration.interval)
            }
        }
    }
}
