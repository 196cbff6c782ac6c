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

    let window: TopicWindow
    let defaultTopic: String

    public init(admin: KafkaAdmin, client: KafkaClientConfiguration, defaultTopic: String, logger: Logger) {
        window = TopicWindow(admin: admin, client: client, logger: logger)
        self.defaultTopic = defaultTopic
    }

    /// Up to `limit` dead letters of `topic` that `query` matches, from
    /// `cursor` on, looking at `scanLimit` records at most (a page can come
    /// back short, with a cursor, when few match).
    /// - Throws: `TopicWindowError.noSuchTopic`, or Kafka's error.
    public func page(
        of topic: String, matching query: DeadLetterQuery, from cursor: Cursor? = nil, limit: Int = 100, scanLimit: Int = 10_000
    ) async throws -> Page {
        guard let ranges = try await window.ranges(of: topic, since: query.since, until: query.until) else {
            throw TopicWindowError.noSuchTopic(topic)
        }
        var found: [DeadLetter] = []
        var scanned = 0
        for range in ranges {
            let partition = range.partition.partition
            if let cursor, partition < cursor.partition { continue }
            var start = range.start
            if let cursor, cursor.partition == partition { start = max(start, cursor.offset) }
            guard start < range.end else { continue }
            let budget = min(range.end, start + Int64(scanLimit - scanned))
            let read = try await window.read(range.partition, from: start, to: budget) { record in
                guard let letter = DeadLetter(record, defaultTopic: defaultTopic), query.matches(letter) else { return true }
                found.append(letter)
                return found.count < limit
            }
            scanned += Int(read - start)
            if read < range.end {
                return Page(deadLetters: found, next: Cursor(partition: partition, offset: read))
            }
            if found.count >= limit || scanned >= scanLimit {
                let following = ranges.first { $0.partition.partition > partition }
                return Page(deadLetters: found, next: following.map { Cursor(partition: $0.partition.partition, offset: 0) })
            }
        }
        return Page(deadLetters: found, next: nil)
    }

    /// The dead letter an id names; `nil` when there is none (never
    /// written, dropped by retention, or not a dead letter of ours).
    public func deadLetter(id: String) async throws -> DeadLetter? {
        guard let (topic, partition, offset) = DeadLetter.location(of: id, defaultTopic: defaultTopic),
            let ranges = try await window.ranges(of: topic, since: nil, until: nil),
            let range = ranges.first(where: { $0.partition.partition == partition }),
            offset >= range.low, offset < range.end
        else { return nil }
        var letter: DeadLetter?
        _ = try await window.read(range.partition, from: offset, to: offset + 1) { record in
            letter = DeadLetter(record, defaultTopic: defaultTopic)
            return false
        }
        return letter
    }
}
