/// One header of a Kafka record as the record format sees it: a name and
/// its value as UTF-8 text, `nil` for Kafka's null header.
///
/// `RegistryEvents` does not depend on `Kafka`, so the codec
/// (`KafkaRecordFormat`, `DeadLetterHeaders`) works on these; `Delivery`
/// converts them to and from `KafkaHeader` at the edge.
public struct RecordHeader: Sendable, Hashable {
    public var name: String
    public var value: String?

    public init(_ name: String, _ value: String?) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == RecordHeader {
    /// The value of the last header named `name` (a repeated name: the last
    /// one counts, as `KafkaConsumerRecord.header(_:)` reads it); `nil`
    /// when absent or null.
    public func value(named name: String) -> String? {
        last { $0.name == name }?.value
    }

    /// Whether a header named `name` is present, null or not.
    public func contains(named name: String) -> Bool {
        contains { $0.name == name }
    }
}
