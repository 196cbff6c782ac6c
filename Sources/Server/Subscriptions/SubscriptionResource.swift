import Foundation
import Delivery
import Hummingbird
import RegistryEvents

/// The ARM shapes of Event Grid's event subscription
/// (`Microsoft.EventGrid/eventSubscriptions`).
enum SubscriptionResource {
    static let type = "Microsoft.EventGrid/eventSubscriptions"

    struct Destination: Codable {
        struct Properties: Codable {
            var endpointUrl: String?
            var endpointBaseUrl: String?
            var maxEventsPerBatch: Int?
            var preferredBatchSizeInKilobytes: Int?
            var deliveryAttributeMappings: [DeliveryAttributeMapping]?
        }
        var endpointType: String?
        var properties: Properties?
    }

    struct RetryPolicy: Codable {
        var maxDeliveryAttempts: Int?
        var eventTimeToLiveInMinutes: Int?
    }

    /// Everything a PUT or PATCH may set; all optional, so one shape serves both.
    struct Properties: Codable {
        var destination: Destination?
        var filter: EventFilter?
        var eventDeliverySchema: String?
        var retryPolicy: RetryPolicy?
        var deadLetterDestination: DeadLetterDestination?
        var labels: [String]?
        /// Extensions: attempts in flight at once (0 returns to the
        /// server's default), and `unordered` or `perKey`.
        var maxConcurrentDeliveries: Int?
        var ordering: String?
    }

    /// PUT wraps the properties in `properties`; ARM's PATCH
    /// (`EventSubscriptionUpdateParameters`) sends them at the top level.
    /// Both are accepted on both.
    struct Body: Decodable {
        var properties: Properties

        init(from decoder: any Decoder) throws {
            struct Wrapped: Decodable { var properties: Properties? }
            if let wrapped = try Wrapped(from: decoder).properties {
                properties = wrapped
            } else {
                properties = try Properties(from: decoder)
            }
        }
    }

    /// What show/list/create answer: the endpoint only without its query
    /// (`endpointBaseUrl`; `endpointUrl` too when it has no query to hide),
    /// secret delivery attributes without their value.
    struct Response: ResponseCodable {
        struct ResponseProperties: Codable {
            var topic: String
            var provisioningState: String
            var provisioningMessage: String?
            var destination: Destination
            var filter: EventFilter
            var eventDeliverySchema: String
            var retryPolicy: RetryPolicy
            var deadLetterDestination: DeadLetterDestination?
            var labels: [String]
            var maxConcurrentDeliveries: Int?
            var ordering: String
            /// The subscription's lane now (in flight, limit, breaker).
            var delivery: DeliveryLanes.Snapshot?
        }
        struct SystemData: Codable {
            var createdAt: String
            var lastModifiedAt: String
        }
        var id: String
        var name: String
        var type: String
        var properties: ResponseProperties
        var systemData: SystemData

        init(_ subscription: EventSubscription, topic: String, lane: DeliveryLanes.Snapshot? = nil, now: Date = Date()) {
            id = "\(subscription.scope.apiPath)/eventSubscriptions/\(subscription.name)"
            name = subscription.name
            type = SubscriptionResource.type
            let state = SubscriptionResource.effectiveState(subscription, now: now)
            let hasSecret = subscription.endpointBaseURL != subscription.endpointURL
            let mappings = subscription.deliveryAttributeMappings.map { mapping in
                var shown = mapping
                if mapping.isSecret { shown.properties.value = nil }
                return shown
            }
            properties = ResponseProperties(
                topic: topic, provisioningState: state.state.rawValue, provisioningMessage: state.message,
                destination: Destination(
                    endpointType: "WebHook",
                    properties: .init(
                        endpointUrl: hasSecret ? nil : subscription.endpointURL,
                        endpointBaseUrl: SubscriptionResource.baseURL(subscription.endpointURL),
                        maxEventsPerBatch: subscription.maxEventsPerBatch,
                        preferredBatchSizeInKilobytes: subscription.preferredBatchSizeInKilobytes,
                        deliveryAttributeMappings: mappings)),
                filter: subscription.filter, eventDeliverySchema: subscription.eventDeliverySchema.rawValue,
                retryPolicy: RetryPolicy(
                    maxDeliveryAttempts: subscription.maxDeliveryAttempts,
                    eventTimeToLiveInMinutes: subscription.eventTimeToLiveInMinutes),
                deadLetterDestination: subscription.deadLetterDestination.map(SubscriptionResource.masked),
                labels: subscription.labels, maxConcurrentDeliveries: subscription.maxConcurrentDeliveries,
                ordering: (subscription.ordering ?? .unordered).rawValue, delivery: lane)
            systemData = SystemData(
                createdAt: DateText.string(subscription.createdAt), lastModifiedAt: DateText.string(subscription.updatedAt))
        }
    }

    struct List: ResponseCodable {
        var value: [Response]
    }

    struct FullURL: ResponseCodable {
        var endpointUrl: String
    }

    struct DeliveryAttributes: ResponseCodable {
        var value: [DeliveryAttributeMapping]
    }

    /// A manual handshake not completed within 10 minutes has failed.
    static func effectiveState(_ subscription: EventSubscription, now: Date) -> (state: ProvisioningState, message: String?) {
        if subscription.provisioningState == .awaitingManualAction, let started = subscription.validationStartedAt,
            now.timeIntervalSince(started) > 600
        {
            return (.failed, "Webhook validation handshake failed: the validationUrl was not visited within 10 minutes")
        }
        return (subscription.provisioningState, subscription.provisioningMessage)
    }

    static func baseURL(_ url: String) -> String { EventSubscription.baseURL(url) }

    static func masked(_ destination: DeadLetterDestination) -> DeadLetterDestination {
        var shown = destination
        if let url = destination.properties.endpointUrl { shown.properties.endpointUrl = baseURL(url) }
        return shown
    }
}

enum DateText {
    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
