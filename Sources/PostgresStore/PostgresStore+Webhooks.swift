import Foundation
import PostgresNIO
import RegistryEvents
import Store

extension PostgresStore {
    private static let webhookColumns = """
        registry, name, service_uri, custom_headers, actions, scope, status, location, tags, signing_secret,
        previous_signing_secret, previous_signing_secret_valid_until, max_concurrent_deliveries, ordering, created_at, updated_at
        """

    public func put(_ webhook: Webhook, quota: Int) async throws -> Webhook {
        try await transaction { connection in
            try await lock("regevents/webhooks/\(webhook.registry)", on: connection)
            var stored = webhook
            let existing = try await connection.query(
                "SELECT created_at FROM webhook WHERE registry = \(webhook.registry) AND name = \(webhook.name)", logger: logger
            ).decode(Date.self).first { _ in true }
            if let existing {
                stored.createdAt = existing
            } else {
                let count = try await count("SELECT count(*) FROM webhook WHERE registry = \(webhook.registry)", on: connection)
                guard count < quota else { throw StoreError.quotaExceeded(registry: webhook.registry, quota: quota) }
            }
            let row = try WebhookRow(stored)
            try await connection.query(
                """
                INSERT INTO webhook (\(unescaped: Self.webhookColumns)) VALUES (
                    \(row.registry), \(row.name), \(row.serviceURI), \(row.customHeaders), \(row.actions), \(row.scope),
                    \(row.status), \(row.location), \(row.tags), \(row.signingSecret), \(row.previousSigningSecret),
                    \(row.previousSigningSecretValidUntil), \(row.maxConcurrentDeliveries), \(row.ordering), \(row.createdAt),
                    \(row.updatedAt))
                ON CONFLICT (registry, name) DO UPDATE SET
                    service_uri = EXCLUDED.service_uri, custom_headers = EXCLUDED.custom_headers, actions = EXCLUDED.actions,
                    scope = EXCLUDED.scope, status = EXCLUDED.status, location = EXCLUDED.location, tags = EXCLUDED.tags,
                    signing_secret = EXCLUDED.signing_secret, previous_signing_secret = EXCLUDED.previous_signing_secret,
                    previous_signing_secret_valid_until = EXCLUDED.previous_signing_secret_valid_until,
                    max_concurrent_deliveries = EXCLUDED.max_concurrent_deliveries, ordering = EXCLUDED.ordering,
                    updated_at = EXCLUDED.updated_at
                """, logger: logger)
            try await notify(.webhooks, on: connection)
            return stored
        }
    }

    public func webhook(registry: String, name: String) async throws -> Webhook? {
        try await webhooks(
            "SELECT \(unescaped: Self.webhookColumns) FROM webhook WHERE registry = \(registry) AND name = \(name)"
        ).first
    }

    public func webhooks(registry: String) async throws -> [Webhook] {
        try await webhooks("SELECT \(unescaped: Self.webhookColumns) FROM webhook WHERE registry = \(registry) ORDER BY name")
    }

    public func allWebhooks() async throws -> [Webhook] {
        try await webhooks("SELECT \(unescaped: Self.webhookColumns) FROM webhook")
    }

    public func delete(registry: String, name: String) async throws -> Bool {
        try await transaction { connection in
            let deleted = try await connection.query(
                "DELETE FROM webhook WHERE registry = \(registry) AND name = \(name) RETURNING name", logger: logger
            ).decode(String.self).first { _ in true } != nil
            if deleted { try await notify(.webhooks, on: connection) }
            return deleted
        }
    }

    private func webhooks(_ query: PostgresQuery) async throws -> [Webhook] {
        var found: [Webhook] = []
        let rows = try await client.query(query, logger: logger)
        for try await columns in rows.decode(
            (
                String, String, String, String, String, String, String, String, String, String?, String?, Date?, Int?,
                String?, Date, Date
            ).self)
        {
            found.append(try WebhookRow(columns).webhook)
        }
        return found
    }

    func count(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        try await connection.query(query, logger: logger).decode(Int.self).first { _ in true } ?? 0
    }
}

/// A `webhook` row: maps and tags as sorted-key JSON text, like SQLite's columns.
struct WebhookRow {
    var registry: String
    var name: String
    var serviceURI: String
    var customHeaders: String
    var actions: String
    var scope: String
    var status: String
    var location: String
    var tags: String
    var signingSecret: String?
    var previousSigningSecret: String?
    var previousSigningSecretValidUntil: Date?
    var maxConcurrentDeliveries: Int?
    var ordering: String?
    var createdAt: Date
    var updatedAt: Date

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static func json(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    init(_ webhook: Webhook) throws {
        registry = webhook.registry
        name = webhook.name
        serviceURI = webhook.serviceURI
        customHeaders = try Self.json(webhook.customHeaders)
        actions = try Self.json(webhook.actions.map(\.rawValue))
        scope = webhook.scope.text
        status = webhook.status.rawValue
        location = webhook.location
        tags = try Self.json(webhook.tags)
        signingSecret = webhook.signingSecret
        previousSigningSecret = webhook.previousSigningSecret
        previousSigningSecretValidUntil = webhook.previousSigningSecretValidUntil
        maxConcurrentDeliveries = webhook.maxConcurrentDeliveries
        ordering = webhook.ordering == .unordered ? nil : webhook.ordering.rawValue
        createdAt = webhook.createdAt
        updatedAt = webhook.updatedAt
    }

    init(
        _ c: (
            String, String, String, String, String, String, String, String, String, String?, String?, Date?, Int?, String?,
            Date, Date
        )
    ) {
        (
            registry, name, serviceURI, customHeaders, actions, scope, status, location, tags, signingSecret, previousSigningSecret,
            previousSigningSecretValidUntil, maxConcurrentDeliveries, ordering, createdAt, updatedAt
        ) = c
    }

    var webhook: Webhook {
        get throws {
            let decoder = JSONDecoder()
            var webhook = Webhook(
                registry: registry, name: name, serviceURI: serviceURI,
                customHeaders: try decoder.decode([String: String].self, from: Data(customHeaders.utf8)),
                actions: try decoder.decode([String].self, from: Data(actions.utf8)).compactMap(RegistryAction.init(rawValue:)),
                scope: WebhookScope(scope), status: WebhookStatus(rawValue: status) ?? .disabled, location: location,
                tags: try decoder.decode([String: String].self, from: Data(tags.utf8)), signingSecret: signingSecret,
                maxConcurrentDeliveries: maxConcurrentDeliveries,
                ordering: ordering.flatMap(DeliveryOrdering.init(rawValue:)) ?? .unordered, createdAt: createdAt,
                updatedAt: updatedAt)
            webhook.previousSigningSecret = previousSigningSecret
            webhook.previousSigningSecretValidUntil = previousSigningSecretValidUntil
            return webhook
        }
    }
}
