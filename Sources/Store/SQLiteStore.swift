import Foundation
import GRDB
import RegistryEvents

/// The control-plane store in `<data-dir>/regevents.sqlite` (WAL,
/// `synchronous = FULL`, one writer, concurrent readers), or in memory for tests.
public final class SQLiteStore: WebhookStore {
    let writer: any DatabaseWriter
    /// This process's changes; another process sharing the file is seen by
    /// the directories' periodic reload.
    private let feed = StoreChangeBroadcast()

    /// Opens (creating if needed) the database under `directory` and migrates it.
    public static func open(directory: String) throws -> SQLiteStore {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        // A second process on the same file waits for the writer instead of failing.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // WAL (a DatabasePool's journal) with FULL: a write the API
            // answered is on disk, power loss included. It costs one fsync
            // per transaction, which the delivery log pays once per batch
            // (see DeliveryLogWriter), not once per attempt.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let pool = try DatabasePool(path: (directory as NSString).appendingPathComponent("regevents.sqlite"), configuration: configuration)
        return try SQLiteStore(writer: pool)
    }

    /// A private in-memory database.
    public static func inMemory() throws -> SQLiteStore {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        return try SQLiteStore(writer: DatabaseQueue(configuration: configuration))
    }

    private init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Migrations.migrator.migrate(writer)
    }

    /// The schema's migrations by name, in order (PostgreSQL's store has the same names).
    public static var migrationNames: [String] { Migrations.migrator.migrations }

    public func changes(of part: StoreChange) -> AsyncStream<StoreChange> { feed.changes(of: part) }

    /// A control-plane write, counted in its transaction and announced once committed.
    func write<T: Sendable>(_ part: StoreChange, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await writer.write { db in
            let result = try updates(db)
            try db.execute(sql: "UPDATE changeVersion SET version = version + 1 WHERE part = ?", arguments: [part.rawValue])
            return result
        }
        feed.announce(part)
        return result
    }

    public func changeVersion(of part: StoreChange) async throws -> Int64 {
        try await writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT version FROM changeVersion WHERE part = ?", arguments: [part.rawValue]) ?? 0
        }
    }

    public func put(_ webhook: Webhook, quota: Int) async throws -> Webhook {
        try await write(.webhooks) { db in
            var stored = webhook
            let key: [String: any DatabaseValueConvertible] = ["registry": webhook.registry, "name": webhook.name]
            if let existing = try WebhookRecord.fetchOne(db, key: key) {
                stored.createdAt = existing.createdAt
            } else {
                let count = try WebhookRecord.filter(WebhookRecord.Columns.registry == webhook.registry).fetchCount(db)
                guard count < quota else { throw StoreError.quotaExceeded(registry: webhook.registry, quota: quota) }
            }
            try WebhookRecord(stored).save(db)
            return stored
        }
    }

    public func webhook(registry: String, name: String) async throws -> Webhook? {
        try await writer.read { db in
            try WebhookRecord.fetchOne(db, key: ["registry": registry, "name": name])?.webhook
        }
    }

    public func webhooks(registry: String) async throws -> [Webhook] {
        try await writer.read { db in
            try WebhookRecord.filter(WebhookRecord.Columns.registry == registry).order(WebhookRecord.Columns.name)
                .fetchAll(db).map(\.webhook)
        }
    }

    public func allWebhooks() async throws -> [Webhook] {
        try await writer.read { db in try WebhookRecord.fetchAll(db).map(\.webhook) }
    }

    public func delete(registry: String, name: String) async throws -> Bool {
        try await write(.webhooks) { db in try WebhookRecord.deleteOne(db, key: ["registry": registry, "name": name]) }
    }

    public func ping() async throws {
        _ = try await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func appendDeliveryLog(_ entries: [DeliveryLogEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await writer.write { db in
            // One existence check per webhook of the batch, not per entry.
            var exists: [WebhookKey: Bool] = [:]
            for entry in entries {
                let key = WebhookKey(registry: entry.registry, webhook: entry.webhook)
                if exists[key] == nil {
                    exists[key] = try WebhookRecord.exists(db, key: ["registry": entry.registry, "name": entry.webhook])
                }
                guard exists[key] == true else { continue }
                // One prepared statement, JSON columns written by hand: the
                // Codable record encoded each column with JSONEncoder.
                try db.cachedStatement(sql: Self.insertLogEntry).execute(arguments: [
                    entry.registry, entry.webhook, entry.eventID, entry.attempt,
                    String(decoding: entry.request.jsonBytes, as: UTF8.self),
                    entry.response.map { String(decoding: $0.jsonBytes, as: UTF8.self) }, entry.createdAt,
                ])
            }
        }
    }

    private static let insertLogEntry =
        "INSERT INTO deliveryLog (registry, webhook, eventID, attempt, request, response, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?)"

    public func trimDeliveryLog(of webhooks: Set<WebhookKey>, keep: Int) async throws {
        guard !webhooks.isEmpty else { return }
        try await writer.write { db in
            for webhook in webhooks {
                let ofWebhook = DeliveryLogRecord
                    .filter(DeliveryLogRecord.Columns.registry == webhook.registry && DeliveryLogRecord.Columns.webhook == webhook.webhook)
                if let cutoff = try ofWebhook.order(DeliveryLogRecord.Columns.id.desc).limit(1, offset: max(keep, 1) - 1)
                    .fetchOne(db)?.id
                {
                    try ofWebhook.filter(DeliveryLogRecord.Columns.id < cutoff).deleteAll(db)
                }
            }
        }
    }

    public func deliveryLog(registry: String, webhook: String, limit: Int, before: Int64?) async throws -> [DeliveryLogEntry] {
        try await writer.read { db in
            var request = DeliveryLogRecord
                .filter(DeliveryLogRecord.Columns.registry == registry && DeliveryLogRecord.Columns.webhook == webhook)
            if let before { request = request.filter(DeliveryLogRecord.Columns.id < before) }
            return try request.order(DeliveryLogRecord.Columns.id.desc).limit(limit).fetchAll(db).map(\.entry)
        }
    }
}
