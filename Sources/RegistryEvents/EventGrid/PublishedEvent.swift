import Foundation

/// One event on its way to subscriptions: its envelope as it was published,
/// in Event Grid schema or CloudEvents 1.0, renderable in either.
public struct PublishedEvent: Sendable, Hashable {
    public var schema: EventDeliverySchema
    /// The whole event object.
    public var envelope: JSONValue
    /// The Event Grid `dataVersion` of a CloudEvent without a `dataversion`
    /// attribute: a registry's CloudEvents carry none, yet in Event Grid
    /// schema they are "1.0", as Event Grid's container registry events.
    public var eventGridDataVersion: String

    public init(schema: EventDeliverySchema, envelope: JSONValue, eventGridDataVersion: String = "") {
        self.schema = schema
        self.envelope = envelope
        self.eventGridDataVersion = eventGridDataVersion
    }

    public var id: String { envelope["id"]?.stringValue ?? "" }
    public var eventType: String { envelope[schema == .eventGrid ? "eventType" : "type"]?.stringValue ?? "" }
    public var subject: String? { envelope["subject"]?.stringValue }
    /// The Event Grid topic / CloudEvents source.
    public var source: String { envelope[schema == .eventGrid ? "topic" : "source"]?.stringValue ?? "" }
    public var time: String? { envelope[schema == .eventGrid ? "eventTime" : "time"]?.stringValue }
    public var data: JSONValue? { envelope["data"] }

    /// The event in `target` schema. Event Grid → CloudEvents keeps every
    /// field; CloudEvents → Event Grid keeps the core attributes and data
    /// (extension attributes have no place in Event Grid's schema).
    public func rendered(as target: EventDeliverySchema) -> JSONValue {
        guard target != schema, case .object(let fields) = envelope else { return envelope }
        switch target {
        case .cloudEvents:
            var event: [String: JSONValue] = [
                "specversion": "1.0", "id": fields["id"] ?? "", "source": fields["topic"] ?? "",
                "type": fields["eventType"] ?? "",
            ]
            if let subject = fields["subject"], subject != "" { event["subject"] = subject }
            if let time = fields["eventTime"] { event["time"] = time }
            if let data = fields["data"] {
                event["data"] = data
                event["datacontenttype"] = "application/json"
            }
            return .object(event)
        case .eventGrid:
            var event: [String: JSONValue] = [
                "id": fields["id"] ?? "", "topic": fields["source"] ?? "", "subject": fields["subject"] ?? "",
                "eventType": fields["type"] ?? "", "eventTime": fields["time"] ?? .string(Timestamps.now()),
                "dataVersion": fields["dataversion"] ?? .string(eventGridDataVersion), "metadataVersion": "1",
            ]
            event["data"] = fields["data"] ?? fields["data_base64"] ?? .null
            return .object(event)
        }
    }
}
