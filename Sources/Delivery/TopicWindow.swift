import Foundation
import Kafka
import Logging

/// Reads a window of a topic outside any consumer group, committing
/// nothing: per partition, from the first record at or after `since` to
/// the last before `until` (or the end as of the call). What dead-letter
/// listings and replays read. The offsets come from Kafka's search by
/// time where the broker has it; a reader still checks each record's
/// timestamp (`TopicWindow.contains`), which is all there is where it has not.
struct TopicWindow: Sendable {
    struct Range: Sendable {
        var partition: KafkaTopicPartition
        /// The first offset to read, and the one after the last.
        var start: Int64
        var end: Int64
        /// What retention still keeps.
        var low: Int64
    }

    let admin: KafkaAdmin
    let client: KafkaClientConfiguration
    let logger: Logger

    /// Whether `record` was written within `[since, until)`.
    static func contains(_ record: KafkaConsumerRecord, since: Date?, until: Date?) -> Bool {
        guard let time = timestamp(of: record) else { return since == nil && until == nil }
        return since.map { time >= $0 } ?? true && until.map { time < $0 } ?? true
    }

    /// The window's offsets in every partition of `topic`, in partition
    /// order; `nil` when the topic does not exist.
    func ranges(of topic: String, since: Date?, until: Date?) async throws -> [Range]? {
        guard let description = try await admin.describeTopics([topic]).first else { return nil }
        let partitions = description.partitions.sorted { $0.partition < $1.partition }
        let keys = partitions.map { KafkaTopicPartition(topic: topic, partition: $0.partition) }
        var starts: [KafkaTopicPartition: Int64] = [:]
        var ends: [KafkaTopicPartition: Int64] = [:]
        if let since { starts = try await admin.offsets(at: since, of: keys) }
        if let until { ends = try await admin.offsets(at: until, of: keys) }
        var ranges: [Range] = []
        for (partition, key) in zip(partitions, keys) {
            var range = Range(partition: key, start: partition.lowWatermark, end: partition.highWatermark, low: partition.lowWatermark)
            if let since {
                if let start = starts[key] {
                    range.start = max(range.start, start)
                } else if try await lastTimestamp(of: key, high: partition.highWatermark, low: partition.lowWatermark).map({ $0 < since }) ?? true {
                    // Every record is older: nothing to read. (Otherwise the
                    // broker cannot search by time: read it all, and let
                    // the caller filter by timestamp.)
                    range.start = range.end
                }
            }
            if let until, let end = ends[key] { range.end = min(range.end, end) }
            ranges.append(range)
        }
        return ranges
    }

    static func timestamp(of record: KafkaConsumerRecord) -> Date? {
        record.timestampMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// The timestamp of a partition's last record; `nil` when it is empty.
    private func lastTimestamp(of partition: KafkaTopicPartition, high: Int64, low: Int64) async throws -> Date? {
        guard high > low else { return nil }
        var last: Date?
        _ = try await read(partition, from: high - 1, to: high) { record in
            last = Self.timestamp(of: record)
            return false
        }
        return last
    }

    /// Reads `[start, end)` of one partition, handing each record to `body`
    /// until it answers false; the offset after the last record read.
    /// - Throws: `TopicWindowError.timedOut` when Kafka sends nothing for a
    ///   request timeout before the end.
    func read(
        _ partition: KafkaTopicPartition, from start: Int64, to end: Int64, _ body: (KafkaConsumerRecord) async throws -> Bool
    ) async throws -> Int64 {
        guard start < end else { return start }
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: nil), logger: logger)
        do {
            let next = try await read(partition, from: start, to: end, with: consumer, body)
            await consumer.close()
            return next
        } catch {
            await consumer.close()
            throw error
        }
    }

    private func read(
        _ partition: KafkaTopicPartition, from start: Int64, to end: Int64, with consumer: KafkaConsumer,
        _ body: (KafkaConsumerRecord) async throws -> Bool
    ) async throws -> Int64 {
        try consumer.assign([partition: .offset(start)])
        var next = start
        var quietSince = ContinuousClock.now
        while next < end {
            let polled = try await consumer.poll(timeout: .milliseconds(200))
            if polled.isEmpty {
                guard ContinuousClock.now - quietSince < client.requestTimeout else { throw TopicWindowError.timedOut(partition.description) }
                continue
            }
            quietSince = ContinuousClock.now
            for record in polled where record.offset >= next && record.offset < end {
                next = record.offset + 1
                if try await !body(record) { return next }
            }
        }
        return next
    }
}

public enum TopicWindowError: Error, CustomStringConvertible {
    case noSuchTopic(String)
    case timedOut(String)

    public var description: String {
        switch self {
        case .noSuchTopic(let topic): "no topic \(topic) in Kafka"
        case .timedOut(let partition): "Kafka sent nothing from \(partition) in time"
        }
    }
}
