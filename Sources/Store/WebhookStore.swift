import Foundation
import RegistryEvents

/// Where webhooks and their delivery log live: SQLite for one node
/// (`SQLiteStore`), PostgreSQL for several sharing one Kafka (`PostgresStore`).
/// It announces its changes (`StoreChangeFeed`) so every node's directories follow.
public protocol WebhookStore: FollowableStore {
    /// Creates or replaces (as ARM's PUT does); keeps the original creation time.
    /// Throws `StoreError.quotaExceeded` when a new webhook would pass the per-registry quota.
    func put(_ webhook: Webhook, quota: Int) async throws -> Webhook
    func webhook(registry: String, name: String) async throws -> Webhook?
    func webhooks(registry: String) async throws -> [Webhook]
    /// Every webhook of every registry (what dispatchers keep in memory).
    func allWebhooks() async throws -> [Webhook]
    /// True when it existed.
    func delete(registry: String, name: String) async throws -> Bool

    /// Throws when the store cannot answer (readiness).
    func ping() async throws

    /// Appends attempts to their webhooks' logs, in order, in one
    /// transaction. Nothing is written for a webhook that no longer exists.
    func appendDeliveryLog(_ entries: [DeliveryLogEntry]) async throws
    /// Deletes all but the newest `keep` entries of each webhook's log.
    func trimDeliveryLog(of webhooks: Set<WebhookKey>, keep: Int) async throws
    /// A webhook's log, newest first, `limit` entries before the `before` sequence.
    func deliveryLog(registry: String, webhook: String, limit: Int, before: Int64?) async throws -> [DeliveryLogEntry]
}

extension WebhookStore {
    /// Appends one attempt and trims its webhook's log to `keep` entries at once.
    public func appendDeliveryLog(_ entry: DeliveryLogEntry, keep: Int) async throws {
        try await appendDeliveryLog([entry])
        try await trimDeliveryLog(of: [WebhookKey(registry: entry.registry, webhook: entry.webhook)], keep: keep)
    }
}

/// A webhook's identity: its registry and name.
public struct WebhookKey: Hashable, Sendable {
    public var registry: String
    public var webhook: String

    public init(registry: String, webhook: String) {
        self.registry = registry
        self.webhook = webhook
    }
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    case quotaExceeded(registry: String, quota: Int)
    case subscriptionQuotaExceeded(scope: String, quota: Int)
    case topicQuotaExceeded(quota: Int)

    public var description: String {
        switch self {
        case .quotaExceeded(let registry, let quota):
            "registry \(registry) already has \(quota) webhooks, its quota; delete one or raise --webhook-quota"
        case .subscriptionQuotaExceeded(let scope, let quota):
            "\(scope) already has \(quota) event subscriptions, its quota; delete one or raise --subscription-quota"
        case .topicQuotaExceeded(let quota):
            "there are already \(quota) custom topics, the quota; delete one or raise --topic-quota"
        }
    }
}
