/// The headers of a dead letter (DESIGN.md, "Dead-letter"), both ways: who
/// wrote it and why. Each origin keeps its own header order on the wire.
public struct DeadLetterHeaders: Sendable, Hashable {
    public enum Origin: Sendable, Hashable {
        /// Malformed events of a Distribution envelope; the value is the
        /// envelope as received, once, whatever the number of bad events
        /// (their indices, in order, are in `regevents-event-index`).
        case ingest(registry: String, eventIndices: [Int])
        /// A webhook delivery past its last attempt or its time to live.
        case webhook(registry: String, webhook: String)
        /// One event of a subscription's (or handler's) delivery; `schema`
        /// is the event's, as delivered.
        case subscription(scope: String, subscription: String, schema: EventDeliverySchema)
        /// A record Kafka refused for good, replaced by a small JSON pointer to the event's origin.
        case pointer
    }

    public var origin: Origin
    public var reason: String

    public init(_ origin: Origin, reason: String) {
        self.origin = origin
        self.reason = reason
    }

    private typealias Header = KafkaRecordFormat.Header
    private typealias ContentType = KafkaRecordFormat.ContentType
    private typealias Source = KafkaRecordFormat.DeadLetterSource

    /// - ingest: `content-type`, `registry`, `regevents-source`, `regevents-reason`, `regevents-event-index`
    ///   (comma-separated indices; the reason then gives each index's in turn)
    /// - webhook: `content-type`, `registry`, `regevents-source`, `webhook`, `regevents-reason`
    /// - subscription: `content-type`, `regevents-source`, `scope`, `subscription`, `regevents-reason`
    /// - pointer: `content-type`, `regevents-pointer`, `regevents-reason` (no source)
    public var headers: [RecordHeader] {
        switch origin {
        case .ingest(let registry, let eventIndices):
            return [
                RecordHeader(Header.contentType, ContentType.distributionEvents), RecordHeader(Header.registry, registry),
                RecordHeader(Header.source, Source.ingest.rawValue), RecordHeader(Header.reason, reason),
                RecordHeader(Header.eventIndex, eventIndices.map(String.init).joined(separator: ",")),
            ]
        case .webhook(let registry, let webhook):
            return [
                RecordHeader(Header.contentType, ContentType.json), RecordHeader(Header.registry, registry),
                RecordHeader(Header.source, Source.webhook.rawValue), RecordHeader(Header.webhook, webhook),
                RecordHeader(Header.reason, reason),
            ]
        case .subscription(let scope, let subscription, let schema):
            return [
                RecordHeader(Header.contentType, ContentType.of(schema)),
                RecordHeader(Header.source, Source.subscription.rawValue), RecordHeader(Header.scope, scope),
                RecordHeader(Header.subscription, subscription), RecordHeader(Header.reason, reason),
            ]
        case .pointer:
            return [
                RecordHeader(Header.contentType, ContentType.json), RecordHeader(Header.pointer, KafkaRecordFormat.pointerMarker),
                RecordHeader(Header.reason, reason),
            ]
        }
    }

    /// Reads a dead letter's headers; `nil` when they are not one of ours
    /// (no reason, an unknown source, or a source without its fields).
    public init?(headers: [RecordHeader]) {
        guard let reason = headers.value(named: Header.reason) else { return nil }
        if KafkaRecordFormat.isPointerDeadLetter(headers) {
            self.init(.pointer, reason: reason)
            return
        }
        switch headers.value(named: Header.source).flatMap(Source.init(rawValue:)) {
        case .ingest:
            guard let registry = headers.value(named: Header.registry),
                let indices = headers.value(named: Header.eventIndex).map({ $0.split(separator: ",").compactMap { Int($0) } }),
                !indices.isEmpty
            else { return nil }
            self.init(.ingest(registry: registry, eventIndices: indices), reason: reason)
        case .webhook:
            guard let registry = headers.value(named: Header.registry), let webhook = headers.value(named: Header.webhook)
            else { return nil }
            self.init(.webhook(registry: registry, webhook: webhook), reason: reason)
        case .subscription:
            guard let scope = headers.value(named: Header.scope), let subscription = headers.value(named: Header.subscription)
            else { return nil }
            let schema: EventDeliverySchema =
                headers.value(named: Header.contentType) == ContentType.cloudEvent ? .cloudEvents : .eventGrid
            self.init(.subscription(scope: scope, subscription: subscription, schema: schema), reason: reason)
        case nil:
            return nil
        }
    }
}
