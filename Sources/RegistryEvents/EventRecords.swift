import Foundation

/// How the `.cloudevents` topic carries events (CloudEvents Kafka binding).
public enum CloudEventsMode: String, Sendable, Hashable, CaseIterable {
    /// The whole event as `application/cloudevents+json` in the value.
    case structured
    /// `ce_*` headers, the data alone in the value.
    case binary
}

/// A Kafka record to produce, before it meets the Kafka module (`Delivery`
/// turns it into a `KafkaProducerRecord`). Headers come from `KafkaRecordFormat`.
public struct RenderedRecord: Sendable, Hashable {
    public var topic: String
    public var key: String
    public var value: [UInt8]
    public var headers: [RecordHeader]

    public init(topic: String, key: String, value: [UInt8], headers: [RecordHeader]) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    public func header(_ name: String) -> String? { headers.value(named: name) }
}

/// Renders one event into its records: the ACR body on `.acr`, and (for
/// actions Event Grid has a type for) the CloudEvent on `.cloudevents`.
/// Both share the key `<registry>/<repository>`.
public struct EventRecordRenderer: Sendable {
    public let layout: TopicLayout
    public let cloudEventsMode: CloudEventsMode
    /// The Event Grid topic / CloudEvents source of each registry.
    public let topics: RegistryTopics

    public init(layout: TopicLayout, cloudEventsMode: CloudEventsMode = .structured, topics: RegistryTopics = RegistryTopics()) {
        self.layout = layout
        self.cloudEventsMode = cloudEventsMode
        self.topics = topics
    }

    /// - Parameter traceparent: the ingest's W3C trace context: a
    ///   `traceparent` header on both records, and the CloudEvents
    ///   distributed-tracing extension on the CloudEvent.
    public func records(for event: RegistryEvent, traceparent: String? = nil) -> [RenderedRecord] {
        var records = [
            RenderedRecord(
                topic: layout.acr, key: event.recordKey, value: ACRPayload(event).jsonBytes,
                headers: KafkaRecordFormat.acrHeaders(for: event))
        ]
        if var cloudEvent = CloudEvent(event, source: topics.topic(for: event.registry)) {
            cloudEvent.traceparent = traceparent
            records.append(cloudEventRecord(cloudEvent, event: event))
        }
        if let traceparent {
            for index in records.indices { records[index].headers.append(RecordHeader(KafkaRecordFormat.Header.traceparent, traceparent)) }
        }
        return records
    }

    private func cloudEventRecord(_ cloudEvent: CloudEvent, event: RegistryEvent) -> RenderedRecord {
        let value = switch cloudEventsMode {
        case .structured: cloudEvent.jsonBytes
        case .binary: cloudEvent.data.jsonBytes
        }
        return RenderedRecord(
            topic: layout.cloudEvents, key: event.recordKey, value: value,
            headers: KafkaRecordFormat.cloudEventHeaders(for: event, cloudEvent, mode: cloudEventsMode))
    }
}

/// Each registry's Event Grid topic (CloudEvents source): `/registries/<name>`
/// unless configured, e.g. to the ARM id of the registry it stands in for.
public struct RegistryTopics: Sendable, Hashable {
    public var overrides: [String: String]

    public init(overrides: [String: String] = [:]) {
        self.overrides = overrides
    }

    public func topic(for registry: String) -> String {
        overrides[registry] ?? "/registries/\(registry)"
    }
}

/// JSON as we write it everywhere: keys sorted (stable), slashes unescaped.
public enum JSONRendering {
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Our payload types hold only strings, integers and nested structs.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }
}
