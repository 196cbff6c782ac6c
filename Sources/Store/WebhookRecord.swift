import Foundation
import GRDB
import RegistryEvents

/// One row of `webhook`. Raw JSON columns stay behind `webhook`.
struct WebhookRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "webhook"

    var registry: String
    var name: String
    var serviceURI: String
    var customHeaders: [String: String]
    var actions: [String]
    var scope: String
    var status: String
    var location: String
    var tags: [String: String]
    var signingSecret: String?
    var previousSigningSecret: String?
    var previousSigningSecretValidUntil: Date?
    var maxConcurrentDeliveries: Int?
    var ordering: String?
    var createdAt: Date
    var updatedAt: Date

    enum Columns {
        static let registry = Column(CodingKeys.registry)
        static let name = Column(CodingKeys.name)
    }

    init(_ webhook: Webhook) {
        registry = webhook.registry
        name = webhook.name
        serviceURI = webhook.serviceURI
        customHeaders = webhook.customHeaders
        actions = webhook.actions.map(\.rawValue)
        scope = webhook.scope.text
        status = webhook.status.rawValue
        location = webhook.location
        tags = webhook.tags
        signingSecret = webhook.signingSecret
        previousSigningSecret = webhook.previousSigningSecret
        previousSigningSecretValidUntil = webhook.previousSigningSecretValidUntil
        maxConcurrentDeliveries = webhook.maxConcurrentDeliveries
        ordering = webhook.ordering == .unordered ? nil : webhook.ordering.rawValue
        createdAt = webhook.createdAt
        updatedAt = webhook.updatedAt
    }

    var webhook: Webhook {
        var webhook = Webhook(
            registry: registry, name: name, serviceURI: serviceURI, customHeaders: customHeaders,
            actions: actions.compactMap(RegistryAction.init(rawValue:)), scope: WebhookScope(scope),
            status: WebhookStatus(rawValue: status) ?? .disabled, location: location, tags: tags, signingSecret: signingSecret,
            maxConcurrentDeliveries: maxConcurrentDeliveries,
            ordering: ordering.flatMap(DeliveryOrdering.init(rawValue:)) ?? .unordered, createdAt: createdAt,
            updatedAt: updatedAt)
        webhook.previousSigningSecret = previousSigningSecret
        webhook.previousSigningSecretValidUntil = previousSigningSecretValidUntil
        return webhook
    }
}
