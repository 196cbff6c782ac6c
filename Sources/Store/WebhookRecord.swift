import Foundation
import GRDB
import RegistryEvents

/// One row of `webhook`, in SQLite and (as `webhook`'s columns) in
/// PostgreSQL: the one mapping between a `Webhook` and its stored columns.
public struct WebhookRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "webhook"

    public var registry: String
    public var name: String
    public var serviceURI: String
    public var customHeaders: [String: String]
    public var actions: [String]
    public var scope: String
    public var status: String
    public var location: String
    public var tags: [String: String]
    public var signingSecret: String?
    public var previousSigningSecret: String?
    public var previousSigningSecretValidUntil: Date?
    public var maxConcurrentDeliveries: Int?
    public var ordering: String?
    public var createdAt: Date
    public var updatedAt: Date

    public enum Columns {
        public static let registry = Column(CodingKeys.registry)
        public static let name = Column(CodingKeys.name)
    }

    public init(_ webhook: Webhook) {
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

    public var webhook: Webhook {
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
