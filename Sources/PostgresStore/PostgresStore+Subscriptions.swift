import Foundation
import PostgresNIO
import RegistryEvents
import Store

extension PostgresStore {
    public func putSubscription(_ subscription: EventSubscription, quota: Int) async throws -> EventSubscription {
        let scope = subscription.scope
        return try await transaction { connection in
            try await lock("regevents/subscriptions/\(scope.kind.rawValue)/\(scope.name)", on: connection)
            var stored = subscription
            if let existing = try await connection.query(
                """
                SELECT created_at FROM event_subscription
                WHERE scope_kind = \(scope.kind.rawValue) AND scope_name = \(scope.name) AND name = \(subscription.name)
                """, logger: logger
            ).decode(Date.self).first(where: { _ in true }) {
                stored.createdAt = existing
            } else {
                let count = try await count(
                    "SELECT count(*) FROM event_subscription WHERE scope_kind = \(scope.kind.rawValue) AND scope_name = \(scope.name)",
                    on: connection)
                guard count < quota else { throw StoreError.subscriptionQuotaExceeded(scope: scope.description, quota: quota) }
            }
            try await save(stored, on: connection)
            return stored
        }
    }

    private func save(_ subscription: EventSubscription, on connection: PostgresConnection) async throws {
        let scope = subscription.scope
        try await connection.query(
            """
            INSERT INTO event_subscription (scope_kind, scope_name, name, definition, created_at, updated_at)
            VALUES (\(scope.kind.rawValue), \(scope.name), \(subscription.name), \(try JSONEncoder().encode(subscription)),
                    \(subscription.createdAt), \(subscription.updatedAt))
            ON CONFLICT (scope_kind, scope_name, name) DO UPDATE SET
                definition = EXCLUDED.definition, updated_at = EXCLUDED.updated_at
            """, logger: logger)
        try await notify(.subscriptions, on: connection)
    }

    public func subscription(scope: SubscriptionScope, name: String) async throws -> EventSubscription? {
        try await subscriptions(
            """
            SELECT definition FROM event_subscription
            WHERE scope_kind = \(scope.kind.rawValue) AND scope_name = \(scope.name) AND name = \(name)
            """
        ).first
    }

    public func subscriptions(scope: SubscriptionScope) async throws -> [EventSubscription] {
        try await subscriptions(
            """
            SELECT definition FROM event_subscription
            WHERE scope_kind = \(scope.kind.rawValue) AND scope_name = \(scope.name) ORDER BY name
            """)
    }

    public func allSubscriptions() async throws -> [EventSubscription] {
        try await subscriptions("SELECT definition FROM event_subscription")
    }

    private func subscriptions(_ query: PostgresQuery) async throws -> [EventSubscription] {
        var found: [EventSubscription] = []
        for try await definition in try await client.query(query, logger: logger).decode(Data.self) {
            found.append(try JSONDecoder().decode(EventSubscription.self, from: definition))
        }
        return found
    }

    public func deleteSubscription(scope: SubscriptionScope, name: String) async throws -> Bool {
        try await transaction { connection in
            try await lock("regevents/subscriptions/\(scope.kind.rawValue)/\(scope.name)", on: connection)
            let deleted = try await connection.query(
                """
                DELETE FROM event_subscription
                WHERE scope_kind = \(scope.kind.rawValue) AND scope_name = \(scope.name) AND name = \(name) RETURNING name
                """, logger: logger
            ).decode(String.self).first(where: { _ in true }) != nil
            if deleted { try await notify(.subscriptions, on: connection) }
            return deleted
        }
    }

    public func updateSubscription(
        scope: SubscriptionScope, name: String, if condition: @escaping @Sendable (EventSubscription) -> Bool,
        _ change: @escaping @Sendable (inout EventSubscription) -> Void
    ) async throws -> EventSubscription? {
        try await transaction { connection in
            // The row stays locked until commit: a handshake accepted through
            // two nodes at once changes it once, the second sees the first's result.
            guard
                let definition = try await connection.query(
                    """
                    SELECT definition FROM event_subscription
                    WHERE scope_kind = \(scope.kind.rawValue) AND scope_name = \(scope.name) AND name = \(name) FOR UPDATE
                    """, logger: logger
                ).decode(Data.self).first(where: { _ in true })
            else { return nil }
            var subscription = try JSONDecoder().decode(EventSubscription.self, from: definition)
            guard condition(subscription) else { return nil }
            change(&subscription)
            try await save(subscription, on: connection)
            return subscription
        }
    }

    public func putTopic(_ topic: CustomTopic, quota: Int) async throws -> CustomTopic {
        try await transaction { connection in
            try await lock("regevents/topics", on: connection)
            var stored = topic
            if let existing = try await connection.query(
                "SELECT created_at FROM custom_topic WHERE name = \(topic.name)", logger: logger
            ).decode(Date.self).first(where: { _ in true }) {
                stored.createdAt = existing
            } else {
                guard try await count("SELECT count(*) FROM custom_topic", on: connection) < quota else {
                    throw StoreError.topicQuotaExceeded(quota: quota)
                }
            }
            try await connection.query(
                """
                INSERT INTO custom_topic (name, input_schema, key1, key2, created_at)
                VALUES (\(stored.name), \(stored.inputSchema.rawValue), \(stored.key1), \(stored.key2), \(stored.createdAt))
                ON CONFLICT (name) DO UPDATE SET input_schema = EXCLUDED.input_schema, key1 = EXCLUDED.key1, key2 = EXCLUDED.key2
                """, logger: logger)
            try await notify(.subscriptions, on: connection)
            return stored
        }
    }

    public func topic(name: String) async throws -> CustomTopic? {
        try await topics("SELECT name, input_schema, key1, key2, created_at FROM custom_topic WHERE name = \(name)").first
    }

    public func topics() async throws -> [CustomTopic] {
        try await topics("SELECT name, input_schema, key1, key2, created_at FROM custom_topic ORDER BY name")
    }

    private func topics(_ query: PostgresQuery) async throws -> [CustomTopic] {
        var found: [CustomTopic] = []
        for try await (name, inputSchema, key1, key2, createdAt) in try await client.query(query, logger: logger).decode(
            (String, String, String, String, Date).self)
        {
            found.append(
                CustomTopic(
                    name: name, inputSchema: EventDeliverySchema(rawValue: inputSchema) ?? .eventGrid, key1: key1, key2: key2,
                    createdAt: createdAt))
        }
        return found
    }

    public func deleteTopic(name: String) async throws -> Bool {
        try await transaction { connection in
            try await lock("regevents/topics", on: connection)
            try await lock("regevents/subscriptions/\(SubscriptionScope.Kind.topic.rawValue)/\(name)", on: connection)
            try await connection.query(
                "DELETE FROM event_subscription WHERE scope_kind = \(SubscriptionScope.Kind.topic.rawValue) AND scope_name = \(name)",
                logger: logger)
            let deleted = try await connection.query(
                "DELETE FROM custom_topic WHERE name = \(name) RETURNING name", logger: logger
            ).decode(String.self).first(where: { _ in true }) != nil
            try await notify(.subscriptions, on: connection)
            return deleted
        }
    }
}
