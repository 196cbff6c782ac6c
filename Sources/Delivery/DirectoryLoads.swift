import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Loads now, then on every announced change and every `interval` until
/// graceful shutdown: how the in-memory directories follow the store.
/// Shutdown ends the waits at once; sleeping it out held up every service
/// stopped after this one by up to `interval` (the producer's flush, the
/// embedded cluster). A change and the timer may load at the same time:
/// `DirectoryLoads` keeps the newest.
func refreshUntilShutdown(
    every interval: Duration, changes: AsyncStream<StoreChange>, _ refresh: @escaping @Sendable () async -> Void
) async {
    await refresh()
    await withDiscardingTaskGroup { group in
        group.addTask {
            await cancelWhenGracefulShutdown {
                for await _ in changes { await refresh() }
            }
        }
        while true {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            // A store that hangs must not hold up shutdown either.
            await cancelWhenGracefulShutdown { await refresh() }
        }
        group.cancelAll()
    }
}

/// The loads of a directory: the newest load wins (a slow periodic refresh
/// that read the store before an API change never overwrites the snapshot
/// that change installed), the store's change version it reflects, and
/// whether one has succeeded yet.
final class DirectoryLoads: Sendable {
    private struct State {
        var started: UInt64 = 0
        var installed: UInt64 = 0
        var version: Int64 = -1
        var loaded = false
        /// A catch-up could not read the version: said once until one can.
        var catchUpFailing = false
    }

    private let state = Mutex(State())
    private let what: String
    private let health: DeliveryHealth?
    private let logger: Logger

    init(what: String, health: DeliveryHealth?, logger: Logger) {
        self.what = what
        self.health = health
        self.logger = logger
    }

    /// Numbers a load before it reads the store.
    func begin() -> UInt64 {
        state.withLock { state in
            state.started += 1
            return state.started
        }
    }

    /// Installs a load's result (read at change `version` or later) unless a newer load already did.
    func install(_ load: UInt64, version: Int64, _ body: () -> Void) {
        state.withLock { state in
            guard load > state.installed else { return }
            state.installed = load
            state.version = max(state.version, version)
            state.loaded = true
            body()
        }
        health?.clear(.directoryNotLoaded(what))
    }

    func failed(_ error: any Error) {
        if !state.withLock({ $0.loaded }) { health?.report(.directoryNotLoaded(what), reason: "\(error)") }
    }

    /// Reloads when the store's change version is past the loaded one. A
    /// store that cannot answer leaves the directory as it is (with a
    /// warning, once until it answers again): delivery goes on with what was
    /// loaded, as it did before the store failed.
    func catchUp(version current: () async throws -> Int64, refresh: () async -> Void) async {
        do {
            let version = try await current()
            let recovered = state.withLock { state in
                defer { state.catchUpFailing = false }
                return state.catchUpFailing
            }
            if recovered { logger.notice("The store answers again; the \(what) directory follows it", metadata: ["what": "\(what)"]) }
            if version > state.withLock({ $0.version }) { await refresh() }
        } catch is CancellationError {
            // Cut short by shutdown: not the store failing.
        } catch {
            let first = state.withLock { state in
                defer { state.catchUpFailing = true }
                return !state.catchUpFailing
            }
            if first {
                logger.warning(
                    "Cannot check the store for changes; matching against the \(what) loaded so far",
                    metadata: ["error": "\(error)"])
            }
        }
    }

    func waitUntilLoaded() async {
        while !state.withLock({ $0.loaded }) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
