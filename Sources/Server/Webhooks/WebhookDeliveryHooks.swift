import Delivery
import RegistryEvents

/// What the webhook API needs of the delivery side: pings, lanes, the
/// target guard, and telling the dispatchers a webhook changed.
public protocol WebhookPinger: Sendable {
    func ping(_ webhook: Webhook) async -> (id: String, outcome: AttemptOutcome)
    func lane(of webhook: Webhook) -> DeliveryLanes.Snapshot
    func webhooksChanged() async
    /// At create: a name that does not resolve yet is let through (each
    /// attempt refuses it until it resolves to a public address).
    func checkTarget(_ url: String) async throws
    /// Whether any webhook listens to `registry` (metrics label it by name only then).
    func listensTo(registry: String) -> Bool
}

/// The running server's webhook deliveries.
public struct WebhookDeliveryHooks: WebhookPinger {
    let directory: WebhookDirectory
    let attempts: WebhookAttempts

    public init(directory: WebhookDirectory, attempts: WebhookAttempts) {
        self.directory = directory
        self.attempts = attempts
    }

    public func ping(_ webhook: Webhook) async -> (id: String, outcome: AttemptOutcome) { await attempts.ping(webhook) }
    public func lane(of webhook: Webhook) -> DeliveryLanes.Snapshot { attempts.lane(of: webhook) }
    public func webhooksChanged() async { await directory.refresh() }
    public func checkTarget(_ url: String) async throws { try await attempts.sender.targetGuard.check(url: url, allowUnresolved: true) }
    public func listensTo(registry: String) -> Bool { directory.hasWebhooks(registry: registry) }
}
