import Foundation

/// A custom topic: an Event Grid publish endpoint of its own, backed by a
/// Kafka topic, guarded by two access keys (rotate one while the other works).
public struct CustomTopic: Codable, Sendable, Hashable {
    public var name: String
    /// The schema publishers are expected to use; both are accepted.
    public var inputSchema: EventDeliverySchema
    public var key1: String
    public var key2: String
    public var createdAt: Date

    public init(name: String, inputSchema: EventDeliverySchema = .eventGrid, key1: String = CustomTopic.newKey(),
                key2: String = CustomTopic.newKey(), createdAt: Date = Date()) {
        self.name = name
        self.inputSchema = inputSchema
        self.key1 = key1
        self.key2 = key2
        self.createdAt = createdAt
    }

    /// Topic names as Event Grid allows: 3–50 letters, digits and hyphens.
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: #/[A-Za-z0-9-]{3,50}/#) != nil
    }

    /// A fresh 256-bit key, base64 (Event Grid's keys are 44 characters too).
    public static func newKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    /// The event source Event Grid would stamp on this topic's events.
    public var eventSource: String { Self.eventSource(name) }

    public static func eventSource(_ name: String) -> String { "/topics/\(name)" }
}
