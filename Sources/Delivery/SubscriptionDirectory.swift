import Logging
import RegistryEvents
import ServiceLifecycle
import Store
import Synchronization

/// The event subscriptions and custom topics, in memory, so the data path
/// never reads the database per event. Reloaded when the API changes one,
/// and every few seconds in case another server sharing the store did.
public final class SubscriptionDirectory: Service, Sendable {
    private struct Snapshot {
        var subscriptions: [SubscriptionScope: [EventSubscription]] = [:]
        var topics: [String: CustomTopic] = [:]
    }

    private let store: any SubscriptionStore
    private let snapshot = Mutex(Snapshot())
    private let loads: DirectoryLoads
    private let interval: Duration
    private let logger: Logger

    public init(store: any SubscriptionStore, refreshInterval: Duration = .seconds(5), health: DeliveryHealth? = nil, logger: Logger) {
        self.store = store
        self.interval = refreshInterval
        loads = DirectoryLoads(what: "event subscriptions", health: health, logger: logger)
        self.logger = logger
    }

    public func refresh() async {
        let load = loads.begin()
        do {
            let version = try await store.changeVersion(of: .subscriptions)
            let subscriptions = try await store.allSubscriptions()
            let topics = try await store.topics()
            loads.install(load, version: version) {
                snapshot.withLock {
                    $0.subscriptions = Dictionary(grouping: subscriptions, by: \.scope)
                    $0.topics = Dictionary(uniqueKeysWithValues: topics.map { ($0.name, $0) })
                }
            }
        } catch is CancellationError {
            // Cut short by shutdown: not the store failing.
        } catch {
            loads.failed(error)
            logger.error("Cannot load event subscriptions from the store", metadata: ["error": "\(error)"])
        }
    }

    /// Reloads first if the store has changes not loaded yet (see `WebhookDirectory`).
    public func catchUp() async {
        await loads.catchUp(version: { try await store.changeVersion(of: .subscriptions) }, refresh: refresh)
    }

    /// Returns once loaded at least once (see `WebhookDirectory`).
    public func waitUntilLoaded() async { await loads.waitUntilLoaded() }

    /// The validated subscriptions of `scope` whose filter `event` passes.
    public func matches(_ event: PublishedEvent, in scope: SubscriptionScope) -> [EventSubscription] {
        snapshot.withLock { $0.subscriptions[scope] ?? [] }.filter { $0.isActive && $0.matches(event.envelope) }
    }

    public func hasSubscriptions(in scope: SubscriptionScope) -> Bool {
        snapshot.withLock { !($0.subscriptions[scope]?.isEmpty ?? true) }
    }

    public func subscription(scope: SubscriptionScope, name: String) -> EventSubscription? {
        snapshot.withLock { $0.subscriptions[scope]?.first { $0.name == name } }
    }

    /// The custom topics' names, sorted.
    public var topicNames: [String] { snapshot.withLock { $0.topics.keys.sorted() } }

    public func run() async throws {
        await refreshUntilShutdown(every: interval, changes: store.changes(of: .subscriptions), refresh)
    }
}
