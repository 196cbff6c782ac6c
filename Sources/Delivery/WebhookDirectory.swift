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
        loads = DirectoryLoads(what: "webhooks", health: health, logger: logger)
        self.logger = logger
    }

    public func refresh() async {
        let load = loads.begin()
        do {
            // The version first: the webhooks read after it are at least that new.
            let version = try await store.changeVersion(of: .webhooks)
            let all = try await store.allWebhooks()
            loads.install(load, version: version) { webhooks.withLock { $0 = Dictionary(grouping: all, by: \.registry) } }
        } catch is CancellationError {
            // Cut short by shutdown: not the store failing.
        } catch {
            loads.failed(error)
            logger.error("Cannot load webhooks from the store", metadata: ["error": "\(error)"])
        }
    }

    /// Reloads first if the store has changes this directory has not loaded
    /// yet. A dispatcher calls it before matching what it polled, so a
    /// record ingested after a webhook was created through another node is
    /// never matched against a directory that has not heard of it.
    public func catchUp() async {
        await loads.catchUp(version: { try await store.changeVersion(of: .webhooks) }, refresh: refresh)
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
