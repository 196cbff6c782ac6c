import Foundation
import Kafka
import RegistryEvents

/// Reads the event in a record of `.cloudevents` (structured or binary
/// CloudEvents, per registry) or of a custom topic (Event Grid schema or
/// CloudEvents, as published), with the scope whose subscriptions see it.
struct SubscriptionEventReader: Sendable {
    let layout: TopicLayout

    func event(from record: KafkaConsumerRecord) -> (scope: SubscriptionScope, event: PublishedEvent)? {
        if record.topic.hasPrefix(layout.customTopicPrefix) {
            let name = record.header("eventgrid-topic")?.stringValue ?? String(record.topic.dropFirst(layout.customTopicPrefix.count))
            let schema = record.header("regevents-schema")?.stringValue.flatMap(EventDeliverySchema.init(rawValue:)) ?? .eventGrid
            guard let envelope = JSONValue(parsing: record.value), envelope.objectValue != nil else { return nil }
            return (.topic(name), PublishedEvent(schema: schema, envelope: envelope))
        }
        guard let registry = record.header("registry")?.stringValue else { return nil }
        // Our registry events' Event Grid form (`EventGridEvent`) has dataVersion 1.0.
        if record.header("ce_specversion") != nil {
            return (
                .registry(registry),
                PublishedEvent(schema: .cloudEvents, envelope: Self.binaryEnvelope(record), eventGridDataVersion: "1.0")
            )
        }
        guard let envelope = JSONValue(parsing: record.value), envelope.objectValue != nil else { return nil }
        return (.registry(registry), PublishedEvent(schema: .cloudEvents, envelope: envelope, eventGridDataVersion: "1.0"))
    }

    /// CloudEvents' Kafka binary mode back to one structured event:
    /// `ce_<name>` headers are the attributes, the value is the data.
    static func binaryEnvelope(_ record: KafkaConsumerRecord) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        for header in record.headers where header.key.hasPrefix("ce_") {
            fields[String(header.key.dropFirst(3))] = header.stringValue.map(JSONValue.string) ?? .null
        }
        if let contentType = record.header("content-type")?.stringValue {
            fields["datacontenttype"] = .string(contentType)
        }
        if let data = JSONValue(parsing: record.value) {
            fields["data"] = data
        } else if !record.value.isEmpty {
            fields["data_base64"] = .string(Data(record.value).base64EncodedString())
        }
        return .object(fields)
    }
}
