import Foundation
import PostgresNIO
import RegistryEvents
import Store

extension PostgresStore {
    public func appendDeliveryLog(_ entries: [DeliveryLogEntry]) async throws {
        guard !entries.isEmpty else { return }
        do {
            try await insert(entries)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
            // A webhook of the batch was deleted between the check and the
            // insert (foreign key): once more, and the check leaves it out.
            try await insert(entries)
        }
    }

    /// One statement for the whole batch; rows of webhooks that are gone are skipped.
    private func insert(_ entries: [DeliveryLogEntry]) async throws {
        let registries = entries.map(\.registry)
        let webhooks = entries.map(\.webhook)
        let eventIDs = entries.map(\.eventID)
        let attempts = entries.map(\.attempt)
        let requests = entries.map { String(decoding: $0.request.jsonBytes, as: UTF8.self) }
        // Arrays cannot hold NULL here: no response is '' and read back as NULL.
        let responses = entries.map { $0.response.map { String(decoding: $0.jsonBytes, as: UTF8.self) } ?? "" }
        let times = entries.map(\.createdAt)
        try await client.query(
            """
            INSERT INTO delivery_log (registry, webhook, event_id, attempt, request, response, created_at)
            SELECT e.registry, e.webhook, e.event_id, e.attempt, e.request, NULLIF(e.response, ''), e.created_at
            FROM unnest(\(registries)::text[], \(webhooks)::text[], \(eventIDs)::text[], \(attempts)::bigint[],
                        \(requests)::text[], \(responses)::text[], \(times)::timestamptz[])
                WITH ORDINALITY AS e(registry, webhook, event_id, attempt, request, response, created_at, position)
            WHERE EXISTS (SELECT 1 FROM webhook w WHERE w.registry = e.registry AND w.name = e.webhook)
            ORDER BY e.position
            """, logger: logger)
    }

    public func trimDeliveryLog(of webhooks: Set<WebhookKey>, keep: Int) async throws {
        for webhook in webhooks {
            try await client.query(
                """
                DELETE FROM delivery_log WHERE registry = \(webhook.registry) AND webhook = \(webhook.webhook) AND id < (
                    SELECT id FROM delivery_log WHERE registry = \(webhook.registry) AND webhook = \(webhook.webhook)
                    ORDER BY id DESC OFFSET \(max(keep, 1) - 1) LIMIT 1)
                """, logger: logger)
        }
    }

    public func deliveryLog(registry: String, webhook: String, limit: Int, before: Int64?) async throws -> [DeliveryLogEntry] {
        let rows = try await client.query(
            """
            SELECT id, event_id, attempt, request, response, created_at FROM delivery_log
            WHERE registry = \(registry) AND webhook = \(webhook) AND id < \(before ?? .max)
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        let decoder = JSONDecoder()
        var entries: [DeliveryLogEntry] = []
        for try await (id, eventID, attempt, request, response, createdAt) in rows.decode(
            (Int64, String, Int, String, String?, Date).self)
        {
            var entry = DeliveryLogEntry(
                registry: registry, webhook: webhook, eventID: eventID, attempt: attempt,
                request: try decoder.decode(DeliveryLogEntry.RequestMessage.self, from: Data(request.utf8)),
                response: try response.map { try decoder.decode(DeliveryLogEntry.ResponseMessage.self, from: Data($0.utf8)) },
                createdAt: createdAt)
            entry.sequence = id
            entries.append(entry)
        }
        return entries
    }
}
