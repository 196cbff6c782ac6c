import Foundation
import RegistryEvents

/// Where event subscriptions and custom topics live (same database as the
/// webhooks).
public protocol SubscriptionStore: FollowableStore {
    /// Creates or replaces, keeping the original creation time. Throws
    /// `StoreError.subscriptionQuotaExceeded` when a new one would pass
    /// `quota` subscriptions in its scope (checked in the same transaction).
    func putSubscription(_ subscription: EventSubscription, quota: Int) async throws -> EventSubscription
    func subscription(scope: SubscriptionScope, name: String) async throws -> EventSubscription?
    func subscriptions(scope: SubscriptionScope) async throws -> [EventSubscription]
    /// Every subscription of every scope (what the dispatcher keeps in memory).
    func allSubscriptions() async throws -> [EventSubscription]
    /// True when it existed.
    func deleteSubscription(scope: SubscriptionScope, name: String) async throws -> Bool
    /// Changes the stored subscription in one transaction if it still passes
    /// `condition` (so a concurrent edit is never overwritten with a stale
    /// copy); the stored result, or `nil` when absent or the condition failed.
    func updateSubscription(
        scope: SubscriptionScope, name: String, if condition: @escaping @Sendable (EventSubscription) -> Bool,
        _ change: @escaping @Sendable (inout EventSubscription) -> Void
    ) async throws -> EventSubscription?

    /// Creates or replaces a custom topic, keeping its creation time. Throws
    /// `StoreError.topicQuotaExceeded` when a new one would pass `quota` topics.
    func putTopic(_ topic: CustomTopic, quota: Int) async throws -> CustomTopic
    func topic(name: String) async throws -> CustomTopic?
    func topics() async throws -> [CustomTopic]
    /// Deletes the topic and its subscriptions; true when it existed.
    func deleteTopic(name: String) async throws -> Bool
}

/// Everything the control plane keeps.
public typealias ControlPlaneStore = WebhookStore & SubscriptionStore & TagIndexStore

extension SubscriptionStore {
    /// With no quota (tools and tests).
    public func putSubscription(_ subscription: EventSubscription) async throws -> EventSubscription {
        try await putSubscription(subscription, quota: .max)
    }

    public func putTopic(_ topic: CustomTopic) async throws -> CustomTopic {
        try await putTopic(topic, quota: .max)
    }
}
