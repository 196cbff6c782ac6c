import Foundation
import Kafka
import Logging
import RegistryEvents

/// Reads recent operational events back from `<prefix>.operations`, newest
/// first, outside any consumer group: what the console's Operations page,
/// `GET /v1/operations` and `regevents operations list` show.
public struct OperationsReader: Sendable {
    public struct Query: Sendable, Equatable {
        /// A source, or a prefix of sources (`/registries/r` is every target of r).
        public var source: String?
        public var kind: OperationsLog.Kind?
        public var since: Date?
        public var until: Date?

        public init(source: String? = nil, kind: OperationsLog.Kind? = nil, since: Date? = nil, until: Date? = nil) {
            self.source = source
            self.kind = kind
            self.since = since
            self.until = until
        }

        func matches(_ event: JSONValue) -> Bool {
            // Only ours: another writer's records on the topic are not operational events.
            guard event["type"]?.stringValue?.hasPrefix("RegistryEvents.Operations.") == true else { return false }
            if let kind, event["type"]?.stringValue != OperationsLog.type(of: kind) { return false }
            if let source {
                guard let eventSource = event["source"]?.stringValue else { return false }
                let prefix = source.hasSuffix("/") ? source : source + "/"
                guard eventSource == source || eventSource.hasPrefix(prefix) else { return false }
            }
            return true
        }
    }

    let window: TopicWindow
    let topic: String

    public init(admin: KafkaAdmin, client: KafkaClientConfiguration, layout: TopicLayout, logger: Logger) {
        window = TopicWindow(admin: admin, client: client, logger: logger)
        topic = layout.operations
    }

    /// Up to `limit` events `query` matches, newest first, from the last
    /// `scanLimit` records of each partition in the window.
    /// - Throws: `TopicWindowError.noSuchTopic`, or Kafka's error.
    public func recent(matching query: Query, limit: Int = 50, scanLimit: Int = 10_000) async throws -> [JSONValue] {
        guard let ranges = try await window.ranges(of: topic, since: query.since, until: query.until) else {
            throw TopicWindowError.noSuchTopic(topic)
        }
        var found: [(time: Int64, event: JSONValue)] = []
        for range in ranges where range.start < range.end {
            let start = max(range.start, range.end - Int64(scanLimit))
            _ = try await window.read(range.partition, from: start, to: range.end) { record in
                guard TopicWindow.contains(record, since: query.since, until: query.until),
                    let event = JSONValue(parsing: record.value), query.matches(event)
                else { return true }
                found.append((record.timestampMilliseconds ?? 0, event))
                return true
            }
        }
        return found.sorted { $0.time > $1.time }.prefix(limit).map(\.event)
    }
}
