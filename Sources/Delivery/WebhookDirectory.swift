import Logging
import RegistryEvents
import ServiceLifecycle
import Store
import Synchronization

/// The webhooks, in memory, so the data path never reads the database per
/// event. Reloaded when the API changes a webhook, and every few seconds in
/// case another server sharing the store did.
public final class WebhookDirectory: Service, Sendable {
    private let store: any WebhookStore
    private let webhooks = Mutex<[String: [Webhook]]>([:])
    private let interval: Duration
    private let logger: Logger

    public init(store: any WebhookStore, refreshInterval: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.interval = refreshInterval
        self.logger = logger
    }

    public func refresh() async {
        do {
            let all = try await store.allWebhooks()
            webhooks.withLock { $0 = Dictionary(grouping: all, by: \.registry) }
        } catch {
            logger.error("Cannot load webhooks from the store", metadata: ["error": "\(error)"])
        }
    }

    /// The enabled webhooks `event` is delivered to.
    public func matches(_ event: RegistryEvent) -> [Webhook] {
        webhooks.withLock { $0[event.registry] ?? [] }.filter { $0.matches(event) }
    }

    public func webhook(registry: String, name: String) -> Webhook? {
        webhooks.withLock { $0[registry]?.first { $0.name == name } }
    }

    public func run() async throws {
        await refreshUntilShutdown(every: interval, refresh)
    }
}

/// Loads now, then again every `interval` until graceful shutdown: how the
/// in-memory directories follow the store.
func refreshUntilShutdown(every interval: Duration, _ refresh: () async -> Void) async {
    await refresh()
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        try? await Task.sleep(for: interval)
        await refresh()
    }
}
