import Foundation

/// The Kafka record format (DESIGN.md, "Topics"): header names, the values
/// we give them, and both directions for every record we write. Ingest,
/// the publish API and the dispatchers write with it; the dispatchers read
/// with it. Nothing else spells a header name.
///
/// Changing a name or a value here changes the wire: streaming consumers,
/// kcat users and older dispatchers read these records.
public enum KafkaRecordFormat {
    /// Header names, as on the wire.
    public enum Header {
        /// `.acr`, `.cloudevents`, webhook and ingest dead letters: the registry's name.
        public static let registry = "registry"
        /// `.acr`, `.cloudevents`: the ACR action (`push`, `chart_delete`, …).
        public static let action = "action"
        /// `.acr`: the replica that received the event; webhooks match on it.
        public static let location = "location"
        public static let contentType = "content-type"
        /// Dead letters: who wrote it (`DeadLetterSource`).
        public static let source = "regevents-source"
        /// Dead letters: why.
        public static let reason = "regevents-reason"
        /// Ingest dead letters: the index of the bad event in the envelope.
        public static let eventIndex = "regevents-event-index"
        /// Pointer dead letters (`pointerMarker`): stands in for a record Kafka refused.
        public static let pointer = "regevents-pointer"
        /// `.topic.<name>`: the schema the event was published in (`EventDeliverySchema` raw value).
        public static let schema = "regevents-schema"
        /// `.topic.<name>`: the custom topic's name.
        public static let eventGridTopic = "eventgrid-topic"
        /// Subscription dead letters: the subscription's scope (`registry/<r>`, `topic/<t>`).
        public static let scope = "scope"
        /// Subscription dead letters: the subscription's name.
        public static let subscription = "subscription"
        /// Webhook dead letters: the webhook's name.
        public static let webhook = "webhook"

        /// `.acr`, `.cloudevents`: the W3C trace context of the ingest (when tracing is on).
        public static let traceparent = "traceparent"

        /// CloudEvents Kafka binding, binary mode: `ce_<attribute>`.
        public static let cloudEventsPrefix = "ce_"
        public static let cloudEventsSpecVersion = cloudEventsPrefix + "specversion"
        public static let cloudEventsID = cloudEventsPrefix + "id"
        public static let cloudEventsSource = cloudEventsPrefix + "source"
        public static let cloudEventsType = cloudEventsPrefix + "type"
        public static let cloudEventsTime = cloudEventsPrefix + "time"
        public static let cloudEventsSubject = cloudEventsPrefix + "subject"
    }

    /// `content-type` values.
    public enum ContentType {
        /// `.acr`, retry tiers, `.deliveries`, webhook and pointer dead
        /// letters, and Event Grid–schema events.
        public static let json = "application/json"
        /// A custom topic's CloudEvents, and subscription dead letters in CloudEvents schema.
        public static let cloudEvent = "application/cloudevents+json"
        /// `.cloudevents` in structured mode (the CloudEvents Kafka binding's spelling).
        public static let structuredCloudEvent = "application/cloudevents+json; charset=UTF-8"
        /// Ingest dead letters: the Distribution envelope as received.
        public static let distributionEvents = "application/vnd.docker.distribution.events.v1+json"

        /// An event's content type in `schema`.
        public static func of(_ schema: EventDeliverySchema) -> String {
            schema == .cloudEvents ? cloudEvent : json
        }
    }

    /// `regevents-source` values: which part of the system dead-lettered a record.
    public enum DeadLetterSource: String, Sendable, Hashable, CaseIterable {
        case ingest
        case webhook
        /// Subscriptions and in-process handlers.
        case subscription
    }

    /// The `regevents-pointer` value.
    public static let pointerMarker = "true"

    // MARK: .acr

    /// `.acr`: `registry`, `action`, `content-type`, `location`, in that order.
    public static func acrHeaders(for event: RegistryEvent) -> [RecordHeader] {
        [
            RecordHeader(Header.registry, event.registry), RecordHeader(Header.action, event.action.rawValue),
            RecordHeader(Header.contentType, ContentType.json), RecordHeader(Header.location, event.location),
        ]
    }

    /// What webhook matching needs from an `.acr` record: the ACR body,
    /// with the registry and location from the headers (location `local`
    /// when absent). `nil` when the record is not an ACR event.
    public static func acrEvent(value: [UInt8], headers: [RecordHeader]) -> RegistryEvent? {
        // The one-pass parser: JSONDecoder into ACRPayload cost ~25 µs a record.
        guard let registry = headers.value(named: Header.registry), let payload = JSONValue(parsing: value),
            let id = payload["id"]?.stringValue, let timestamp = payload["timestamp"]?.stringValue,
            let action = payload["action"]?.stringValue.flatMap(RegistryAction.init(rawValue:)), let target = payload["target"],
            let repository = target["repository"]?.stringValue
        else { return nil }
        return RegistryEvent(
            id: id, timestamp: timestamp, action: action, registry: registry,
            location: headers.value(named: Header.location) ?? "local",
            target: RegistryEvent.Target(digest: target["digest"]?.stringValue, repository: repository, tag: target["tag"]?.stringValue))
    }

    // MARK: .cloudevents

    /// `.cloudevents`. Structured: `content-type`, `registry`, `action`.
    /// Binary: the six `ce_*` attributes, `content-type` (the data's), `registry`, `action`.
    public static func cloudEventHeaders(for event: RegistryEvent, _ cloudEvent: CloudEvent, mode: CloudEventsMode) -> [RecordHeader] {
        switch mode {
        case .structured:
            return [
                RecordHeader(Header.contentType, ContentType.structuredCloudEvent), RecordHeader(Header.registry, event.registry),
                RecordHeader(Header.action, event.action.rawValue),
            ]
        case .binary:
            return [
                RecordHeader(Header.cloudEventsSpecVersion, cloudEvent.specversion), RecordHeader(Header.cloudEventsID, cloudEvent.id),
                RecordHeader(Header.cloudEventsSource, cloudEvent.source), RecordHeader(Header.cloudEventsType, cloudEvent.type),
                RecordHeader(Header.cloudEventsTime, cloudEvent.time), RecordHeader(Header.cloudEventsSubject, cloudEvent.subject),
                RecordHeader(Header.contentType, cloudEvent.datacontenttype), RecordHeader(Header.registry, event.registry),
                RecordHeader(Header.action, event.action.rawValue),
            ] + (cloudEvent.traceparent.map { [RecordHeader(Header.cloudEventsPrefix + "traceparent", $0)] } ?? [])
        }
    }

    /// A `.cloudevents` record in either mode, as one structured CloudEvent,
    /// with its registry. `nil` without a `registry` header, or when a
    /// structured value is not a JSON object.
    public static func cloudEvent(value: [UInt8], headers: [RecordHeader]) -> (registry: String, envelope: JSONValue)? {
        guard let registry = headers.value(named: Header.registry) else { return nil }
        if isBinaryCloudEvent(headers) { return (registry, binaryCloudEvent(value: value, headers: headers)) }
        guard let envelope = JSONValue(parsing: value), envelope.objectValue != nil else { return nil }
        return (registry, envelope)
    }

    /// Binary mode is told by `ce_specversion`, as the CloudEvents Kafka binding says.
    public static func isBinaryCloudEvent(_ headers: [RecordHeader]) -> Bool {
        headers.contains(named: Header.cloudEventsSpecVersion)
    }

    /// CloudEvents' Kafka binary mode back to one structured event:
    /// `ce_<name>` headers are the attributes (a null header: null),
    /// `content-type` is `datacontenttype`, the value is the data
    /// (`data_base64` when it is not JSON).
    public static func binaryCloudEvent(value: [UInt8], headers: [RecordHeader]) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        for header in headers where header.name.hasPrefix(Header.cloudEventsPrefix) {
            fields[String(header.name.dropFirst(Header.cloudEventsPrefix.count))] = header.value.map(JSONValue.string) ?? .null
        }
        if let contentType = headers.value(named: Header.contentType) {
            fields["datacontenttype"] = .string(contentType)
        }
        if let data = JSONValue(parsing: value) {
            fields["data"] = data
        } else if !value.isEmpty {
            fields["data_base64"] = .string(Data(value).base64EncodedString())
        }
        return .object(fields)
    }

    // MARK: .topic.<name>

    /// `.topic.<name>`: `content-type`, `regevents-schema`, `eventgrid-topic`.
    public static func customTopicHeaders(schema: EventDeliverySchema, topic: String) -> [RecordHeader] {
        [
            RecordHeader(Header.contentType, ContentType.of(schema)), RecordHeader(Header.schema, schema.rawValue),
            RecordHeader(Header.eventGridTopic, topic),
        ]
    }

    /// A custom topic's record: the event as published, in the schema its
    /// header names (Event Grid when absent or unknown), and the topic's
    /// name when the header gives it. `nil` when the value is not a JSON object.
    public static func customTopicEvent(value: [UInt8], headers: [RecordHeader]) -> (topic: String?, event: PublishedEvent)? {
        let schema = headers.value(named: Header.schema).flatMap(EventDeliverySchema.init(rawValue:)) ?? .eventGrid
        guard let envelope = JSONValue(parsing: value), envelope.objectValue != nil else { return nil }
        return (headers.value(named: Header.eventGridTopic), PublishedEvent(schema: schema, envelope: envelope))
    }

    // MARK: retry tiers, .deliveries

    /// A retry tier's `DeliveryRecord` (JSON).
    public static let retryHeaders = [RecordHeader(Header.contentType, ContentType.json)]
    /// One attempt on `.deliveries` (JSON).
    public static let attemptHeaders = [RecordHeader(Header.contentType, ContentType.json)]

    // MARK: dead letters

    /// Whether a record is a pointer dead letter (the header's presence counts).
    public static func isPointerDeadLetter(_ headers: [RecordHeader]) -> Bool {
        headers.contains(named: Header.pointer)
    }
}
