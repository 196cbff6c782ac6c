import Foundation
import Logging
import PostgresStore
import ServiceLifecycle
import Store

/// The opened control-plane store, and the service that closes it when
/// everything else has stopped (the first service, so the last to stop: the
/// delivery log's final write still has its database).
struct OpenedStore: Sendable {
    let store: any ControlPlaneStore
    let lifetime: StoreLifetime
    /// What `/v1/info` says about it.
    let info: ServerInfo.Store
}

/// Keeps the store open until graceful shutdown, then closes it.
struct StoreLifetime: Service {
    let close: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

/// Opens (and migrates) the store the configuration names.
/// - Throws: `ConfigurationError` naming `--data-dir` or `--database-url`.
func openStore(_ configuration: StoreConfiguration, logger: Logger) async throws -> OpenedStore {
    switch configuration {
    case .sqlite(let directory):
        do {
            let store = try SQLiteStore.open(directory: directory)
            return OpenedStore(store: store, lifetime: StoreLifetime {}, info: ServerInfo.Store(kind: "sqlite", location: directory))
        } catch {
            throw ConfigurationError(flag: "--data-dir", message: "cannot open the database in \(directory): \(error)")
        }
    case .postgres(let url, let poolSize):
        do {
            let store = try await PostgresStore.open(url, poolSize: poolSize, logger: logger)
            return OpenedStore(
                store: store, lifetime: StoreLifetime { await store.close() },
                info: ServerInfo.Store(kind: "postgresql", location: url.description))
        } catch {
            throw ConfigurationError(flag: "--database-url", message: "cannot open the database at \(url): \(error)")
        }
    }
}
