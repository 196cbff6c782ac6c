import Foundation
import Kafka
import RegistryEvents

/// Reads the event in a record of `.cloudevents` (structured or binary
/// CloudEvents, per registry) or of a custom topic (Event Grid schema or
/// CloudEvents, as published), with the scope whose subscriptions see it.
/// The headers are read by `KafkaRecordFormat`, which wrote them.
struct SubscriptionEventReader: Sendable {
    let layout: TopicLayout

    /// The scope of `record`'s event, from its topic and headers alone
    /// (`nil` when a `.cloudevents` record has no registry header).
    func scope(of record: KafkaConsumerRecord) -> SubscriptionScope? {
        let headers = record.recordHeaders
        if record.topic.hasPrefix(layout.customTopicPrefix) {
            return .topic(
                headers.value(named: KafkaRecordFormat.Header.eventGridTopic) ?? String(record.topic.dropFirst(layout.customTopicPrefix.count)))
        }
        return headers.value(named: KafkaRecordFormat.Header.registry).map(SubscriptionScope.registry)
    }

    func event(from record: KafkaConsumerRecord) -> (scope: SubscriptionScope, event: PublishedEvent)? {
        let headers = record.recordHeaders
        if record.topic.hasPrefix(layout.customTopicPrefix) {
            guard let (topic, event) = KafkaRecordFormat.customTopicEvent(value: record.value, headers: headers) else { return nil }
            return (.topic(topic ?? String(record.topic.dropFirst(layout.customTopicPrefix.count))), event)
        }
        guard let (registry, envelope) = KafkaRecordFormat.cloudEvent(value: record.value, headers: headers) else { return nil }
        // Our registry events' Event Grid form (`EventGridEvent`) has dataVersion 1.0.
        return (.registry(registry), PublishedEvent(schema: .cloudEvents, envelope: envelope, eventGridDataVersion: "1.0"))
    }
}
