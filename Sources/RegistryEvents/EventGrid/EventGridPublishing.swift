import Foundation

/// Why a publish to a custom topic was refused; the server answers 400 or 413.
public struct PublishError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable { case invalid, tooLarge }

    public var kind: Kind
    public var message: String

    public var description: String { message }

    static func invalid(_ message: String) -> Self { Self(kind: .invalid, message: message) }
}

/// Event Grid's publish API: what a custom topic accepts, checked as Event
/// Grid checks it, and stamped with the topic.
public enum EventGridPublishing {
    /// Event Grid's limits: 1 MB per request and per event.
    public static let maxRequestBytes = 1_048_576
    public static let maxEventBytes = 1_048_576

    public enum BodyKind: Sendable, Equatable {
        case eventGridArray, cloudEvent, cloudEventBatch

        /// From the request's `Content-Type` (parameters ignored).
        public init(contentType: String?) {
            let mediaType = (contentType ?? "").split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            switch mediaType {
            case "application/cloudevents+json": self = .cloudEvent
            case "application/cloudevents-batch+json": self = .cloudEventBatch
            default: self = .eventGridArray
            }
        }
    }

    /// The events of one publish request to `topic`, validated and stamped.
    public static func events(in body: [UInt8], kind: BodyKind, topic: CustomTopic) throws(PublishError) -> [PublishedEvent] {
        guard body.count <= maxRequestBytes else {
            throw PublishError(kind: .tooLarge, message: "The request is \(body.count) bytes; Event Grid accepts at most 1 MB (1048576 bytes) per request")
        }
        guard let json = JSONValue(parsing: body) else { throw .invalid("The request body is not valid JSON") }
        let elements: [JSONValue]
        switch (kind, json) {
        case (.cloudEvent, .object): elements = [json]
        case (.cloudEvent, _): throw .invalid("A application/cloudevents+json body must be one JSON object")
        case (_, .array(let array)): elements = array
        case (.cloudEventBatch, _): throw .invalid("A application/cloudevents-batch+json body must be a JSON array")
        case (.eventGridArray, _): throw .invalid("The body must be a JSON array of events")
        }
        guard !elements.isEmpty else { throw .invalid("The request contains no events") }
        return try elements.enumerated().map { index, element throws(PublishError) in
            let size = element.jsonBytes.count
            guard size <= maxEventBytes else {
                throw PublishError(kind: .tooLarge, message: "Event \(index) is \(size) bytes; Event Grid accepts at most 1 MB per event")
            }
            guard case .object(var fields) = element else { throw .invalid("Event \(index) is not a JSON object") }
            // A CloudEvent in a plain JSON array is still a CloudEvent.
            if kind != .eventGridArray || fields["specversion"] != nil {
                try checkCloudEvent(fields, index: index)
                fields["source"] = fields["source"] ?? .string(topic.eventSource)
                return PublishedEvent(schema: .cloudEvents, envelope: .object(fields))
            }
            try checkEventGridEvent(fields, index: index)
            fields["topic"] = .string(topic.eventSource)
            fields["metadataVersion"] = "1"
            // Event Grid stamps a missing dataVersion "with an empty value"; deliveries always carry it.
            if fields["dataVersion"] == nil || fields["dataVersion"] == .null { fields["dataVersion"] = "" }
            return PublishedEvent(schema: .eventGrid, envelope: .object(fields))
        }
    }

    private static func checkEventGridEvent(_ fields: [String: JSONValue], index: Int) throws(PublishError) {
        for name in ["id", "subject", "eventType", "eventTime"] {
            guard let value = fields[name] else { throw .invalid("Event \(index): required property '\(name)' is missing") }
            guard let text = value.stringValue, name == "subject" || !text.isEmpty else {
                throw .invalid("Event \(index): property '\(name)' must be a non-empty string")
            }
        }
        if let time = fields["eventTime"]?.stringValue, !Timestamps.isRFC3339(time) {
            throw .invalid("Event \(index): eventTime '\(time)' is not an RFC 3339 date-time")
        }
        if let version = fields["dataVersion"], version.stringValue == nil, version != .null {
            throw .invalid("Event \(index): property 'dataVersion' must be a string")
        }
    }

    private static func checkCloudEvent(_ fields: [String: JSONValue], index: Int) throws(PublishError) {
        guard fields["specversion"]?.stringValue == "1.0" else {
            throw .invalid("Event \(index): specversion must be \"1.0\"")
        }
        for name in ["id", "source", "type"] {
            guard let text = fields[name]?.stringValue, !text.isEmpty else {
                throw .invalid("Event \(index): required attribute '\(name)' is missing or not a non-empty string")
            }
        }
        if let time = fields["time"]?.stringValue, !Timestamps.isRFC3339(time) {
            throw .invalid("Event \(index): time '\(time)' is not an RFC 3339 date-time")
        }
        if fields["data"] != nil, fields["data_base64"] != nil {
            throw .invalid("Event \(index): data and data_base64 are mutually exclusive")
        }
    }
}
