import Foundation
import Synchronization
import Logging
import PostgresStore
import Store
import TestSupport
import Testing

/// The two control-plane stores; every contract test runs against both.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The backends this machine can run: PostgreSQL is skipped where it is
    /// not installed, except under CI, where its absence must fail.
    static var available: [StoreBackend] { PostgresCluster.shouldRun ? allCases : [.sqlite] }

    /// A fresh, empty store for `body`, closed afterwards.
    func withStore(_ body: (any ControlPlaneStore) async throws -> Void) async throws {
        try await withStores(1) { stores in try await body(stores[0]) }
    }

    /// `count` handles on one fresh database, as `count` nodes share it.
    func withStores(_ count: Int, _ body: ([any ControlPlaneStore]) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            if count == 1 { return try await body([try SQLiteStore.inMemory()]) }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-store-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            try await body(try (0..<count).map { _ in try SQLiteStore.open(directory: directory.path) })
        case .postgres:
            let url = try DatabaseURL(parsing: try await SharedPostgres.databaseURL())
            var stores: [PostgresStore] = []
            do {
                for _ in 0..<count { stores.append(try await PostgresStore.open(url, poolSize: 4, connectTimeout: .seconds(60), logger: storeTestLogger)) }
                try await body(stores)
            } catch {
                for store in stores { await store.close() }
                throw error
            }
            for store in stores { await store.close() }
        }
    }
}

let storeTestLogger = Logger(label: "store-tests") { _ in SwiftLogNoOpLogHandler() }

/// One throwaway PostgreSQL cluster for the whole test process, started on
/// first use; every test gets a database of its own in it.
actor SharedPostgres {
    private static let shared = SharedPostgres()
    private var cluster: Task<PostgresCluster, any Error>?

    static func databaseURL() async throws -> String { try await shared.cluster().createDatabase() }

    static func cluster() async throws -> PostgresCluster { try await shared.cluster() }

    private func cluster() async throws -> PostgresCluster {
        if let cluster { return try await cluster.value }
        let starting = Task {
            let cluster = try await PostgresCluster.start()
            cluster.removeAtExit()
            return cluster
        }
        cluster = starting
        return try await starting.value
    }
}

/// Records what a change feed announces, so a test can wait for one change
/// with a deadline (an `AsyncStream` iterator cannot time out).
final class ChangeRecorder: Sendable {
    private let heard = Mutex<[StoreChange]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)

    init(_ stream: AsyncStream<StoreChange>) {
        reader.withLock { $0 = Task { [weak self] in for await change in stream { self?.record(change) } } }
    }

    deinit { reader.withLock { $0?.cancel() } }

    private func record(_ change: StoreChange) { heard.withLock { $0.append(change) } }

    /// Waits until `change` was heard (and forgets everything up to it).
    func waitFor(_ change: StoreChange, limit: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let found = heard.withLock { heard -> Bool in
                guard let index = heard.firstIndex(of: change) else { return false }
                heard.removeFirst(index + 1)
                return true
            }
            if found { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
