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
                    \(row.record.registry), \(row.record.name), \(row.record.serviceURI), \(row.customHeaders), \(row.actions),
                    \(row.record.scope), \(row.record.status), \(row.record.location), \(row.tags), \(row.record.signingSecret),
                    \(row.record.previousSigningSecret), \(row.record.previousSigningSecretValidUntil),
                    \(row.record.maxConcurrentDeliveries), \(row.record.ordering), \(row.record.createdAt), \(row.record.updatedAt))
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
            // The quota's lock: a PUT racing this delete either sees the row
            // or creates anew (with a new creation time, and the quota checked).
            try await lock("regevents/webhooks/\(registry)", on: connection)
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
            found.append(try WebhookRow.webhook(columns))
        }
        return found
    }

    func count(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        try await connection.query(query, logger: logger).decode(Int.self).first { _ in true } ?? 0
    }
}

/// A `webhook` row: the store's `WebhookRecord`, its maps and list as
/// sorted-key JSON text (as SQLite keeps them).
struct WebhookRow {
    var record: WebhookRecord
    var customHeaders: String
    var actions: String
    var tags: String

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static func json(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    init(_ webhook: Webhook) throws {
        record = WebhookRecord(webhook)
        customHeaders = try Self.json(record.customHeaders)
        actions = try Self.json(record.actions)
        tags = try Self.json(record.tags)
    }

    /// The columns as `SELECT \(webhookColumns)` reads them, through the
    /// store's record (the one mapping to `Webhook`).
    static func webhook(
        _ c: (
            String, String, String, String, String, String, String, String, String, String?, String?, Date?, Int?, String?,
            Date, Date
        )
    ) throws -> Webhook {
        let decoder = JSONDecoder()
        var record = WebhookRecord(Webhook(registry: c.0, name: c.1, serviceURI: c.2, actions: [], location: c.7))
        record.customHeaders = try decoder.decode([String: String].self, from: Data(c.3.utf8))
        record.actions = try decoder.decode([String].self, from: Data(c.4.utf8))
        record.tags = try decoder.decode([String: String].self, from: Data(c.8.utf8))
        (record.scope, record.status, record.signingSecret, record.previousSigningSecret) = (c.5, c.6, c.9, c.10)
        (record.previousSigningSecretValidUntil, record.maxConcurrentDeliveries, record.ordering) = (c.11, c.12, c.13)
        (record.createdAt, record.updatedAt) = (c.14, c.15)
        return record.webhook
    }
}
