import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Store
import Synchronization

/// The control plane in PostgreSQL, shared by every node of a cluster
/// (`--database-url`). Writes that check a quota or a condition run in one
/// transaction under a lock, so two nodes cannot both pass it; every write
/// announces itself with `NOTIFY`, which each node's `ControlPlaneListener`
/// turns into directory reloads.
///
/// A `Service`: put it first among the services so it stops last, after the
/// delivery log's final write.
public final class PostgresStore: ControlPlaneStore, Service {
    let client: PostgresClient
    let logger: Logger
    /// The pool runs from `open` on: queries hang until it does, and
    /// migrations and the first directory load come before the services start.
    private let pool: Task<Void, Never>
    private let feed = StoreChangeBroadcast()
    private let listener: Task<Void, Never>
    private let closed = Atomic<Bool>(false)
    private let listening: Listening
    /// Where the store is (`/v1/info`, logs), without the password.
    public let location: DatabaseURL

    /// The NOTIFY channel every node listens on.
    static let channel = "regevents_control_plane"

    /// Connects, migrates, and starts following other nodes' changes.
    /// - Throws: when the database cannot be reached within `connectTimeout`,
    ///   or a migration fails; the store is closed again.
    public static func open(
        _ url: DatabaseURL, poolSize: Int = 10, connectTimeout: Duration = .seconds(10), logger: Logger
    ) async throws -> PostgresStore {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: url.tls.clientTLS)
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
        configuration.options.additionalStartupParameters = [("application_name", "regevents")]
        let store = PostgresStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger), url: url, logger: logger)
        do {
            _ = try await withDeadline(connectTimeout, "cannot reach PostgreSQL at \(url)") {
                try await PostgresMigrations.migrate(store.client, logger: logger)
                // From here on no other node's change goes unheard.
                while !store.listening.started { try await Task.sleep(for: .milliseconds(20)) }
            }
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(client: PostgresClient, url: DatabaseURL, logger: Logger) {
        self.client = client
        self.logger = logger
        location = url
        pool = Task { await client.run() }
        let listening = Listening()
        self.listening = listening
        listener = Task { [feed] in
            var listener = ControlPlaneListener(client: client, channel: Self.channel, feed: feed, logger: logger)
            listener.onListening = { listening.started = true }
            await listener.run()
        }
    }

    /// Closes the pool and ends every change stream. Idempotent.
    public func close() async {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        listener.cancel()
        await listener.value
        pool.cancel()
        await pool.value
        feed.finish()
    }

    /// Waits for graceful shutdown, then closes: as the first service, after every other has stopped.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    public func changes(of part: StoreChange) -> AsyncStream<StoreChange> { feed.changes(of: part) }

    public func ping() async throws {
        try await withDeadline(.seconds(2), "PostgreSQL at \(location) did not answer within 2 s") {
            _ = try await self.client.query("SELECT 1", logger: self.logger)
        }
    }

    /// Runs `body` in a transaction, and rethrows the body's own error (the
    /// driver wraps it, and a quota refusal must stay a `StoreError`).
    static func transaction<T: Sendable>(
        _ client: PostgresClient, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.transaction(client, logger: logger, body)
    }

    /// Announces a committed change to every node (delivered on commit, folded within one transaction).
    func notify(_ change: StoreChange, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_notify(\(Self.channel), \(change.rawValue))", logger: logger)
    }

    /// Serializes the writers of one quota across nodes until the transaction ends.
    func lock(_ key: String, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))", logger: logger)
    }
}

extension DatabaseURL.TLSMode {
    var clientTLS: PostgresClient.Configuration.TLS {
        switch self {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }
}

/// Whether the change listener has listened once.
private final class Listening: Sendable {
    private let flag = Atomic<Bool>(false)

    var started: Bool {
        get { flag.load(ordering: .acquiring) }
        set { flag.store(newValue, ordering: .releasing) }
    }
}

struct DatabaseTimeout: Error, CustomStringConvertible {
    let description: String
}

/// `body`, or a `DatabaseTimeout` after `limit` (the pool waits for a
/// connection indefinitely while the server is down).
func withDeadline<T: Sendable>(_ limit: Duration, _ message: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DatabaseTimeout(description: message)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
