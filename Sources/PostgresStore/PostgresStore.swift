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
        // One more than the pool size: the change listener holds one for good.
        configuration.options.maximumConnections = poolSize + 1
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

    /// Counts a change (`changeVersion`) and announces it to every node
    /// (delivered on commit, folded within one transaction). The count's row
    /// lock orders writers of one part until they commit: keep this the
    /// transaction's last statement.
    func notify(_ change: StoreChange, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE change_version SET version = version + 1 WHERE part = \(change.rawValue)", logger: logger)
        try await connection.query("SELECT pg_notify(\(Self.channel), \(change.rawValue))", logger: logger)
    }

    public func changeVersion(of part: StoreChange) async throws -> Int64 {
        try await withDeadline(.seconds(2), "PostgreSQL at \(location) did not answer within 2 s") {
            try await self.client.query("SELECT version FROM change_version WHERE part = \(part.rawValue)", logger: self.logger)
                .decode(Int64.self).first { _ in true } ?? 0
        }
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
        case .prefer:
            // As libpq's `prefer`: encrypted when the server offers it, the
            // certificate not verified (Debian's server has a self-signed one).
            .prefer({
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.certificateVerification = .none
                return tls
            }())
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

/// `body`, or a `DatabaseTimeout` after `limit`, whichever comes first. The
/// deadline does not wait for `body` to notice its cancellation: a query
/// already sent cannot be taken back, and a stalled server would hold the
/// caller (readiness, start-up) as long as TCP takes to give up.
func withDeadline<T: Sendable>(_ limit: Duration, _ message: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = FirstOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            outcome.set(continuation)
            let work = Task {
                do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
            }
            outcome.onFinish { work.cancel() }
            Task {
                try? await Task.sleep(for: limit)
                outcome.finish(.failure(DatabaseTimeout(description: message)))
            }
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first of several outcomes resumes the continuation; the rest are dropped.
private final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var finished = false
        var onFinish: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            state.continuation = continuation
            return state.early
        }
        if let early { continuation.resume(with: early) }
    }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let finished = state.withLock { state -> Bool in
            if !state.finished { state.onFinish.append(action) }
            return state.finished
        }
        if finished { action() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, actions) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [@Sendable () -> Void]) in
            guard !state.finished else { return (nil, []) }
            state.finished = true
            defer { state.continuation = nil; state.onFinish = [] }
            if state.continuation == nil { state.early = result }
            return (state.continuation, state.onFinish)
        }
        continuation?.resume(with: result)
        for action in actions { action() }
    }
}
