import Foundation
import Kafka
import Logging
import RegistryEvents

/// Which dead letters a listing or a redrive by filter takes.
public struct DeadLetterQuery: Sendable, Equatable {
    public var kind: DeadLetter.Kind?
    /// `registry/<r>` (that registry's webhooks and subscriptions) or
    /// `topic/<t>` (a custom topic's subscriptions).
    public var scope: String?
    /// A webhook's or subscription's name.
    public var target: String?
    /// Part of the reason, any case (`MaxDeliveryAttemptsExceeded`, `HTTP 500`).
    public var reason: String?
    /// Dead-lettered at or after.
    public var since: Date?
    /// Dead-lettered before.
    public var until: Date?

    public init(
        kind: DeadLetter.Kind? = nil, scope: String? = nil, target: String? = nil, reason: String? = nil, since: Date? = nil,
        until: Date? = nil
    ) {
        self.kind = kind
        self.scope = scope
        self.target = target
        self.reason = reason
        self.since = since
        self.until = until
    }

    public func matches(_ letter: DeadLetter) -> Bool {
        if let kind, letter.kind != kind { return false }
        if let target, letter.target != target { return false }
        if let reason, letter.reason.range(of: reason, options: .caseInsensitive) == nil { return false }
        if let since, letter.deadLetteredAt < since { return false }
        if let until, letter.deadLetteredAt >= until { return false }
        if let scope {
            if scope.hasPrefix("registry/") {
                let registry = String(scope.dropFirst("registry/".count))
                guard letter.registry == registry || letter.scope == scope else { return false }
            } else if letter.scope != scope {
                return false
            }
        }
        return true
    }
}

/// Reads dead letters from a dead-letter topic, outside any consumer group:
/// a page at a time, in partition and offset order, from the offsets the
/// time window gives. Nothing is committed and nothing is removed: a dead
/// letter stays until the topic's retention drops it.
public struct DeadLetterReader: Sendable {
    /// Where a page stopped: the next offset of one partition (earlier
    /// partitions are done, later ones not begun).
    public struct Cursor: Sendable, Equatable, CustomStringConvertible {
        public var partition: Int32
        public var offset: Int64

        public init(partition: Int32, offset: Int64) {
            self.partition = partition
            self.offset = offset
        }

        /// `<partition>-<offset>`, as a `skipToken`.
        public var description: String { "\(partition)-\(offset)" }

        public init?(_ text: String) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]), partition >= 0, offset >= 0
            else { return nil }
            self.init(partition: partition, offset: offset)
        }
    }

    public struct Page: Sendable {
        public var deadLetters: [DeadLetter]
        /// Where the next page starts; `nil` on the last one.
        public var next: Cursor?
    }

    let admin: KafkaAdmin
    let client: KafkaClientConfiguration
    let defaultTopic: String
    let logger: Logger

    public init(admin: KafkaAdmin, client: KafkaClientConfiguration, defaultTopic: String, logger: Logger) {
        self.admin = admin
        self.client = client
        self.defaultTopic = defaultTopic
        self.logger = logger
    }

    /// Up to `limit` dead letters of `topic` that `query` matches, from
    /// `cursor` on, looking at `scanLimit` records at most (a page can come
    /// back short, with a cursor, when few match).
    /// - Throws: `DeadLetterReaderError.noSuchTopic`, or Kafka's error.
    public func page(
        of topic: String, matching query: DeadLetterQuery, from cursor: Cursor? = nil, limit: Int = 100, scanLimit: Int = 10_000
    ) async throws -> Page {
        guard let description = try await admin.describeTopics([topic]).first else { throw DeadLetterReaderError.noSuchTopic(topic) }
        let partitions = description.partitions.sorted { $0.partition < $1.partition }
        let keys = partitions.map { KafkaTopicPartition(topic: topic, partition: $0.partition) }
        var starts: [KafkaTopicPartition: Int64] = [:]
        var ends: [KafkaTopicPartition: Int64] = [:]
        if let since = query.since { starts = try await admin.offsets(at: since, of: keys) }
        if let until = query.until { ends = try await admin.offsets(at: until, of: keys) }
        var found: [DeadLetter] = []
        var scanned = 0
        for (partition, key) in zip(partitions, keys) {
            if let cursor, partition.partition < cursor.partition { continue }
            var start = max(partition.lowWatermark, starts[key] ?? partition.lowWatermark)
            if let cursor, cursor.partition == partition.partition { start = max(start, cursor.offset) }
            let end = min(partition.highWatermark, ends[key] ?? partition.highWatermark)
            guard start < end else { continue }
            let budget = min(end, start + Int64(scanLimit - scanned))
            let read = try await records(of: key, from: start, to: budget) { letter in
                guard query.matches(letter) else { return true }
                found.append(letter)
                return found.count < limit
            }
            scanned += Int(read - start)
            if read < end {
                return Page(deadLetters: found, next: Cursor(partition: partition.partition, offset: read))
            }
            if found.count >= limit || scanned >= scanLimit {
                let following = partitions.first { $0.partition > partition.partition }
                return Page(deadLetters: found, next: following.map { DeadLetterReader.Cursor(partition: $0.partition, offset: 0) })
            }
        }
        return Page(deadLetters: found, next: nil)
    }

    /// The dead letter an id names; `nil` when there is none (never
    /// written, dropped by retention, or not a dead letter of ours).
    public func deadLetter(id: String) async throws -> DeadLetter? {
        guard let (topic, partition, offset) = DeadLetter.location(of: id, defaultTopic: defaultTopic),
            let description = try await admin.describeTopics([topic]).first,
            let watermarks = description.partitions.first(where: { $0.partition == partition }),
            offset >= watermarks.lowWatermark, offset < watermarks.highWatermark
        else { return nil }
        var letter: DeadLetter?
        _ = try await records(of: KafkaTopicPartition(topic: topic, partition: partition), from: offset, to: offset + 1) {
            letter = $0
            return false
        }
        return letter
    }

    /// Reads `[start, end)` of one partition, handing each dead letter to
    /// `body` until it answers false; the offset after the last record read.
    private func records(
        of partition: KafkaTopicPartition, from start: Int64, to end: Int64, _ body: (DeadLetter) -> Bool
    ) async throws -> Int64 {
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
        _ partition: KafkaTopicPartition, from start: Int64, to end: Int64, with consumer: KafkaConsumer, _ body: (DeadLetter) -> Bool
    ) async throws -> Int64 {
        try consumer.assign([partition: .offset(start)])
        var next = start
        var quietSince = ContinuousClock.now
        while next < end {
            let polled = try await consumer.poll(timeout: .milliseconds(200))
            if polled.isEmpty {
                guard ContinuousClock.now - quietSince < client.requestTimeout else {
                    throw DeadLetterReaderError.timedOut(partition.description)
                }
                continue
            }
            quietSince = ContinuousClock.now
            for record in polled where record.offset >= next && record.offset < end {
                next = record.offset + 1
                guard let letter = DeadLetter(record, defaultTopic: defaultTopic) else { continue }
                if !body(letter) { return next }
            }
        }
        return next
    }
}

public enum DeadLetterReaderError: Error, CustomStringConvertible {
    case noSuchTopic(String)
    case timedOut(String)

    public var description: String {
        switch self {
        case .noSuchTopic(let topic): "no dead-letter topic \(topic) in Kafka"
        case .timedOut(let partition): "Kafka sent nothing from \(partition) in time"
        }
    }
}
