import Foundation
import GRDB
import RegistryEvents

extension SQLiteStore: SubscriptionStore {
    public func putSubscription(_ subscription: EventSubscription, quota: Int) async throws -> EventSubscription {
        try await write(.subscriptions) { db in
            var stored = subscription
            if let existing = try EventSubscriptionRecord.fetchOne(db, key: EventSubscriptionRecord.key(subscription.scope, subscription.name)) {
                stored.createdAt = existing.createdAt
            } else {
                let scope = subscription.scope
                let count = try EventSubscriptionRecord
                    .filter(EventSubscriptionRecord.Columns.scopeKind == scope.kind.rawValue && EventSubscriptionRecord.Columns.scopeName == scope.name)
                    .fetchCount(db)
                guard count < quota else { throw StoreError.subscriptionQuotaExceeded(scope: scope.description, quota: quota) }
            }
            try EventSubscriptionRecord(stored).save(db)
            return stored
        }
    }

    public func subscription(scope: SubscriptionScope, name: String) async throws -> EventSubscription? {
        try await writer.read { db in
            try EventSubscriptionRecord.fetchOne(db, key: EventSubscriptionRecord.key(scope, name))?.subscription()
        }
    }

    public func subscriptions(scope: SubscriptionScope) async throws -> [EventSubscription] {
        try await writer.read { db in
            try EventSubscriptionRecord
                .filter(EventSubscriptionRecord.Columns.scopeKind == scope.kind.rawValue && EventSubscriptionRecord.Columns.scopeName == scope.name)
                .order(EventSubscriptionRecord.Columns.name).fetchAll(db).map { try $0.subscription() }
        }
    }

    public func allSubscriptions() async throws -> [EventSubscription] {
        try await writer.read { db in try EventSubscriptionRecord.fetchAll(db).map { try $0.subscription() } }
    }

    public func deleteSubscription(scope: SubscriptionScope, name: String) async throws -> Bool {
        try await write(.subscriptions) { db in try EventSubscriptionRecord.deleteOne(db, key: EventSubscriptionRecord.key(scope, name)) }
    }

    public func updateSubscription(
        scope: SubscriptionScope, name: String, if condition: @escaping @Sendable (EventSubscription) -> Bool,
        _ change: @escaping @Sendable (inout EventSubscription) -> Void
    ) async throws -> EventSubscription? {
        try await write(.subscriptions) { db in
            guard var subscription = try EventSubscriptionRecord.fetchOne(db, key: EventSubscriptionRecord.key(scope, name))?.subscription(),
                condition(subscription)
            else { return nil }
            change(&subscription)
            try EventSubscriptionRecord(subscription).save(db)
            return subscription
        }
    }

    public func putTopic(_ topic: CustomTopic, quota: Int) async throws -> CustomTopic {
        try await write(.subscriptions) { db in
            var stored = topic
            if let existing = try CustomTopicRecord.fetchOne(db, key: topic.name) {
                stored.createdAt = existing.createdAt
            } else {
                guard try CustomTopicRecord.fetchCount(db) < quota else { throw StoreError.topicQuotaExceeded(quota: quota) }
            }
            try CustomTopicRecord(stored).save(db)
            return stored
        }
    }

    public func topic(name: String) async throws -> CustomTopic? {
        try await writer.read { db in try CustomTopicRecord.fetchOne(db, key: name)?.topic }
    }

    public func topics() async throws -> [CustomTopic] {
        try await writer.read { db in try CustomTopicRecord.order(Column("name")).fetchAll(db).map(\.topic) }
    }

    public func deleteTopic(name: String) async throws -> Bool {
        try await write(.subscriptions) { db in
            try EventSubscriptionRecord
                .filter(EventSubscriptionRecord.Columns.scopeKind == SubscriptionScope.Kind.topic.rawValue && EventSubscriptionRecord.Columns.scopeName == name)
                .deleteAll(db)
            return try CustomTopicRecord.deleteOne(db, key: name)
        }
    }
}
