import Logging
import RegistryEvents
import ServiceLifecycle
import Store
import Synchronization

/// The webhooks, in memory, so the data path never reads the database per
/// event. Reloaded when the store announces a change (made through any node
/// sharing it), and every few seconds as a safety net.
public final class WebhookDirectory: Service, Sendable {
    private let store: any WebhookStore
    private let webhooks = Mutex<[String: [Webhook]]>([:])
    private let loads: DirectoryLoads
    private let interval: Duration
    private let logger: Logger

    public init(store: any WebhookStore, refreshInterval: Duration = .seconds(5), health: DeliveryHealth? = nil, logger: Logger) {
        self.store = store
        self.interval = refreshInterval
        loads = DirectoryLoads(what: "webhooks", health: health)
        self.logger = logger
    }

    public func refresh() async {
        let load = loads.begin()
        do {
            let all = try await store.allWebhooks()
            loads.install(load) { webhooks.withLock { $0 = Dictionary(grouping: all, by: \.registry) } }
        } catch {
            loads.failed(error)
            logger.error("Cannot load webhooks from the store", metadata: ["error": "\(error)"])
        }
    }

    /// Returns once the webhooks have been loaded at least once: until then
    /// a dispatcher must not consume (it would commit records that matched
    /// nothing).
    public func waitUntilLoaded() async { await loads.waitUntilLoaded() }

    /// The enabled webhooks `event` is delivered to.
    public func matches(_ event: RegistryEvent) -> [Webhook] {
        webhooks.withLock { $0[event.registry] ?? [] }.filter { $0.matches(event) }
    }

    /// Whether `registry` has any webhook (else its records are not parsed).
    public func hasWebhooks(registry: String) -> Bool {
        webhooks.withLock { !($0[registry]?.isEmpty ?? true) }
    }

    public func webhook(registry: String, name: String) -> Webhook? {
        webhooks.withLock { $0[registry]?.first { $0.name == name } }
    }

    public func run() async throws {
        await refreshUntilShutdown(every: interval, changes: store.changes(of: .webhooks), refresh)
    }
}

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
/// that change installed), and whether one has succeeded yet.
final class DirectoryLoads: Sendable {
    private struct State {
        var started: UInt64 = 0
        var installed: UInt64 = 0
        var loaded = false
    }

    private let state = Mutex(State())
    private let what: String
    private let health: DeliveryHealth?

    init(what: String, health: DeliveryHealth?) {
        self.what = what
        self.health = health
    }

    /// Numbers a load before it reads the store.
    func begin() -> UInt64 {
        state.withLock { state in
            state.started += 1
            return state.started
        }
    }

    /// Installs a load's result unless a newer load already did.
    func install(_ load: UInt64, _ body: () -> Void) {
        state.withLock { state in
            guard load > state.installed else { return }
            state.installed = load
            state.loaded = true
            body()
        }
        health?.clear(.directoryNotLoaded(what))
    }

    func failed(_ error: any Error) {
        if !state.withLock({ $0.loaded }) { health?.report(.directoryNotLoaded(what), reason: "\(error)") }
    }

    func waitUntilLoaded() async {
        while !state.withLock({ $0.loaded }) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
