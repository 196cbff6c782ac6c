import Foundation

/// A delivery waiting in a retry tier (or given up, on the dead-letter
/// topic): everything needed to try again without the original record.
public struct DeliveryRecord: Codable, Sendable, Hashable {
    public enum TargetKind: String, Codable, Sendable {
        /// An ACR webhook; an Event Grid subscription; an in-process handler
        /// (`EventGridConsumer`, whose group is the target).
        case webhook, subscription, handler
    }

    public var targetKind: TargetKind
    public var registry: String
    /// The webhook or subscription name.
    public var target: String
    public var eventID: String
    /// The number of the next attempt (the first retry is attempt 2).
    public var attempt: Int
    /// When the next attempt is due, in milliseconds since the epoch.
    public var dueAtMilliseconds: Int64
    public var firstAttemptAtMilliseconds: Int64
    /// The exact body to send.
    public var body: String
    /// Where the event came from, for the audit trail.
    public var originTopic: String
    public var originPartition: Int32
    public var originOffset: Int64
    public var lastStatusCode: Int?
    public var lastError: String?
    /// A subscription's scope (`registry/<r>`, `topic/<t>`); `nil` for webhooks.
    public var scope: String?
    /// The body's content type when it is not `application/json`.
    public var contentType: String?
    /// How many events the body carries (a batch); `nil` means one.
    public var eventCount: Int?
    /// When Kafka took the event (its record's timestamp): the publish time
    /// dead letters report and the time to live counts from.
    public var publishedAtMilliseconds: Int64?
    /// How often this delivery was deferred (full lane, open breaker)
    /// without an attempt; each deferral waits longer.
    public var deferrals: Int?
    /// When the target was created (milliseconds): a retry for a target
    /// deleted and created again under the same name is not sent to the new one.
    public var targetCreatedAtMilliseconds: Int64?
    /// The W3C trace context of the ingest that produced the event, so every
    /// attempt, retries included, joins the event's trace (`DeliveryTracing`).
    public var traceparent: String?

    /// Whether `createdAt` is the incarnation this delivery was made for
    /// (records written before this field existed match any).
    public func isFor(targetCreatedAt createdAt: Date) -> Bool {
        guard let expected = targetCreatedAtMilliseconds else { return true }
        return expected == Int64((createdAt.timeIntervalSince1970 * 1000).rounded())
    }

    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The publish time if known, else the first attempt's.
    public var startMilliseconds: Int64 { publishedAtMilliseconds ?? firstAttemptAtMilliseconds }

    public init(
        targetKind: TargetKind, registry: String, target: String, eventID: String, attempt: Int, dueAtMilliseconds: Int64,
        firstAttemptAtMilliseconds: Int64, body: String, originTopic: String, originPartition: Int32, originOffset: Int64,
        lastStatusCode: Int? = nil, lastError: String? = nil, scope: String? = nil, contentType: String? = nil,
        eventCount: Int? = nil, publishedAtMilliseconds: Int64? = nil
    ) {
        self.publishedAtMilliseconds = publishedAtMilliseconds
        self.scope = scope
        self.contentType = contentType
        self.eventCount = eventCount
        self.targetKind = targetKind
        self.registry = registry
        self.target = target
        self.eventID = eventID
        self.attempt = attempt
        self.dueAtMilliseconds = dueAtMilliseconds
        self.firstAttemptAtMilliseconds = firstAttemptAtMilliseconds
        self.body = body
        self.originTopic = originTopic
        self.originPartition = originPartition
        self.originOffset = originOffset
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
    }

    /// The Kafka key of its retry, dead-letter and audit records: one
    /// target's records stay in one partition.
    public var partitionKey: String { "\(scopeDescription)/\(target)" }

    /// The registry, or the subscription's scope.
    public var scopeDescription: String { scope ?? registry }

    /// The tier a wait of `delay` goes to: the longest tier not longer than
    /// the wait, else the shortest. Every record in a tier is due no earlier
    /// than its tier's delay after it was produced, so the tier's records
    /// come due in the order they were written: a paused head never holds a
    /// shorter wait behind it. What is left of a longer wait (jitter, a long
    /// Retry-After, a wait past the longest tier) is waited out by writing
    /// the record again (see `RetryDispatcher`).
    public static func tier(for delay: Duration, tiers: [Duration]) -> Duration? {
        let sorted = tiers.sorted()
        return sorted.last { $0 <= delay } ?? sorted.first
    }

    /// The lane this delivery's target has (see `DeliveryLanes`).
    public var laneKey: String { DeliveryLanes.key(kind: targetKind, scope: scopeDescription, target: target) }
}
