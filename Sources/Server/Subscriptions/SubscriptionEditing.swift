import Foundation
import RegistryEvents

/// Applies a PUT or PATCH body to a subscription and checks the result
/// against Event Grid's rules; errors name the property.
enum SubscriptionEditing {
    static func apply(_ properties: SubscriptionResource.Properties, to subscription: inout EventSubscription) throws(APIError) {
        if let destination = properties.destination {
            if let type = destination.endpointType, type.lowercased() != "webhook" {
                throw invalid("properties.destination.endpointType", "only WebHook endpoints are supported, not \(type)")
            }
            if let given = destination.properties {
                if let url = given.endpointUrl { subscription.endpointURL = url }
                if let count = given.maxEventsPerBatch { subscription.maxEventsPerBatch = count }
                if let size = given.preferredBatchSizeInKilobytes { subscription.preferredBatchSizeInKilobytes = size }
                if let mappings = given.deliveryAttributeMappings {
                    subscription.deliveryAttributeMappings = keepingSecrets(mappings, from: subscription.deliveryAttributeMappings)
                }
            }
        }
        if let filter = properties.filter { subscription.filter = filter }
        if let text = properties.eventDeliverySchema {
            guard let schema = EventDeliverySchema(text: text) else {
                throw invalid(
                    "properties.eventDeliverySchema", "must be EventGridSchema or CloudEventSchemaV1_0, not \(text) (CustomInputSchema is not supported)")
            }
            subscription.eventDeliverySchema = schema
        }
        if let retry = properties.retryPolicy {
            if let attempts = retry.maxDeliveryAttempts { subscription.maxDeliveryAttempts = attempts }
            if let ttl = retry.eventTimeToLiveInMinutes { subscription.eventTimeToLiveInMinutes = ttl }
        }
        if let deadLetter = properties.deadLetterDestination { subscription.deadLetterDestination = deadLetter }
        if let labels = properties.labels { subscription.labels = labels }
        if let limit = properties.maxConcurrentDeliveries {
            guard limit == 0 || (1...1000).contains(limit) else {
                throw invalid("properties.maxConcurrentDeliveries", "must be 1 to 1000 (0: the server's default), not \(limit)")
            }
            subscription.maxConcurrentDeliveries = limit == 0 ? nil : limit
        }
        if let text = properties.ordering {
            guard let ordering = DeliveryOrdering.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw invalid("properties.ordering", "must be unordered or perKey, not \(text)")
            }
            subscription.ordering = ordering == .unordered ? nil : ordering
        }
        try check(subscription)
    }

    /// A secret attribute sent back without its value (as reads show it)
    /// keeps the value it had.
    private static func keepingSecrets(
        _ mappings: [DeliveryAttributeMapping], from existing: [DeliveryAttributeMapping]
    ) -> [DeliveryAttributeMapping] {
        mappings.map { mapping in
            guard mapping.type == .static, mapping.properties.isSecret == true, mapping.properties.value == nil,
                let old = existing.first(where: { $0.name == mapping.name && $0.type == .static })
            else { return mapping }
            var kept = mapping
            kept.properties.value = old.properties.value
            return kept
        }
    }

    static func check(_ subscription: EventSubscription) throws(APIError) {
        let url = subscription.endpointURL
        guard !url.isEmpty else { throw invalid("properties.destination.properties.endpointUrl", "is required") }
        guard isHTTPURL(url) else {
            throw invalid("properties.destination.properties.endpointUrl", "\"\(SubscriptionResource.baseURL(url))\" is not an http(s) URL")
        }
        if let (property, message) = subscription.limitViolation() { throw invalid(property, message) }
        if subscription.labels.count > 25 { throw invalid("properties.labels", "at most 25 labels") }
        if let deadLetter = subscription.deadLetterDestination {
            switch deadLetter.endpointType {
            case .webHook:
                guard let target = deadLetter.properties.endpointUrl, isHTTPURL(target) else {
                    throw invalid("properties.deadLetterDestination.properties.endpointUrl", "must be an http(s) URL")
                }
            case .kafkaTopic:
                guard let topic = deadLetter.properties.topic, isKafkaTopicName(topic) else {
                    throw invalid(
                        "properties.deadLetterDestination.properties.topic",
                        "must be a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)")
                }
            }
        }
    }

    /// The properties each object of the body may have; anything else (an
    /// Event Grid feature this server lacks, or a typo) is a 400 naming it.
    private static let knownProperties = KnownProperties(names: [
        "": ["properties", "id", "name", "type", "systemData"],
        "properties": [
            "destination", "filter", "eventDeliverySchema", "retryPolicy", "deadLetterDestination", "labels", "topic",
            "provisioningState", "provisioningMessage", "maxConcurrentDeliveries", "ordering", "delivery",
        ],
        "properties.destination": ["endpointType", "properties"],
        "properties.destination.properties": [
            "endpointUrl", "endpointBaseUrl", "maxEventsPerBatch", "preferredBatchSizeInKilobytes", "deliveryAttributeMappings",
        ],
        "properties.filter": [
            "includedEventTypes", "subjectBeginsWith", "subjectEndsWith", "isSubjectCaseSensitive", "advancedFilters",
            "enableAdvancedFilteringOnArrays",
        ],
        "properties.retryPolicy": ["maxDeliveryAttempts", "eventTimeToLiveInMinutes"],
        "properties.deadLetterDestination": ["endpointType", "properties"],
        "properties.deadLetterDestination.properties": ["endpointUrl", "topic"],
    ])

    static func rejectUnsupported(_ body: JSONValue) throws(APIError) {
        // ARM's PATCH sends the properties at the top level.
        let topLevel = knownProperties.names[""] ?? []
        let properties = body["properties"] ?? .object((body.objectValue ?? [:]).filter { !topLevel.contains($0.key) })
        let unknown = body["properties"] != nil
            ? knownProperties.unknown(in: body, skip: isOtherEndpointType)
            : knownProperties.unknown(in: properties, at: "properties", skip: isOtherEndpointType)
        guard let first = unknown.first else { return }
        throw invalid(
            first.path, first.didYouMean ?? "is not supported by RegistryEvents (see docs/subscriptions.md, differences from Event Grid)")
    }

    /// Another endpoint type has other properties: its type is the error to report.
    private static func isOtherEndpointType(_ members: [String: JSONValue]) -> Bool {
        guard let type = members["endpointType"]?.stringValue else { return false }
        return !["webhook", "kafkatopic"].contains(type.lowercased())
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    static func isKafkaTopicName(_ name: String) -> Bool {
        TopicLayout.isValidPrefix(name) && name.count <= 249
    }

    /// One code for every refused subscription body, whether the decoder or
    /// the checks above found the problem (an unknown operatorType is the former).
    static let errorCode = "InvalidEventSubscription"

    static func invalid(_ property: String, _ message: String) -> APIError {
        APIError.badRequest("\(property): \(message)", code: errorCode)
    }
}
