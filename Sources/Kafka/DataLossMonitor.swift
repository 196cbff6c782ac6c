import Foundation
import Logging
import Metrics
import Synchronization

/// Records lost to retention: a consumer group whose next offset had already
/// been deleted from the log (its committed offset fell below the log start).
/// Never skipped silently: each loss is logged as an error, counted in
/// `regevents_kafka_records_lost_total` and kept here for `regevents topics`.
public final class DataLossMonitor: Sendable {
    public struct Loss: Hashable, Sendable, Codable {
        public let group: String
        public let topic: String
        public let partition: Int32
        /// The first offset the group had not processed.
        public let fromOffset: Int64
        /// The first offset still in the log when the loss was found.
        public let toOffset: Int64
        public var count: Int64 { toOffset - fromOffset }
        public let detectedAt: Date
    }

    private let losses = Mutex<[Loss]>([])
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public var all: [Loss] { losses.withLock { $0 } }

    /// Total records lost per group and partition.
    public func lostRecords(group: String, topicPartition: KafkaTopicPartition) -> Int64 {
        losses.withLock { list in
            list.filter { $0.group == group && $0.topic == topicPartition.topic && $0.partition == topicPartition.partition }
                .reduce(0) { $0 + $1.count }
        }
    }

    func record(group: String, topicPartition: KafkaTopicPartition, from: Int64, to: Int64) {
        guard to > from else { return }
        let loss = Loss(
            group: group, topic: topicPartition.topic, partition: topicPartition.partition,
            fromOffset: from, toOffset: to, detectedAt: Date())
        losses.withLock { $0.append(loss) }
        Counter(
            label: "regevents_kafka_records_lost_total",
            dimensions: [("group", group), ("topic", topicPartition.topic), ("partition", String(topicPartition.partition))]
        ).increment(by: Int(loss.count))
        logger.error(
            "DATA LOSS: records were deleted by retention before this consumer group processed them",
            metadata: [
                "group": "\(group)", "topic": "\(topicPartition.topic)", "partition": "\(topicPartition.partition)",
                "fromOffset": "\(from)", "toOffset": "\(to)", "lostRecords": "\(loss.count)",
            ])
    }
}
