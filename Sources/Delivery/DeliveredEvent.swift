import Foundation
import RegistryEvents

/// An event as an in-process handler receives it: the envelope in the
/// consumer's schema, its common attributes, and typed decoding
/// (`EventGridEvent`, `CloudEvent`, or your own type for custom topics).
public struct DeliveredEvent: Sendable, Hashable {
    public var schema: EventDeliverySchema
    public var envelope: JSONValue
    /// 1 on the first attempt; more on retries.
    public var deliveryAttempt: Int

    public var id: String { envelope["id"]?.stringValue ?? "" }
    public var eventType: String { envelope[schema == .eventGrid ? "eventType" : "type"]?.stringValue ?? "" }
    public var subject: String? { envelope["subject"]?.stringValue }
    public var source: String { envelope[schema == .eventGrid ? "topic" : "source"]?.stringValue ?? "" }
    public var data: JSONValue? { envelope["data"] }

    /// The envelope decoded as `type`, e.g. `EventGridEvent.self` for registry
    /// events in Event Grid schema, `CloudEvent.self` in CloudEvents.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(envelope.jsonBytes))
    }

    /// `data` decoded as `type`.
    public func decodeData<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data((data ?? .null).jsonBytes))
    }
}
