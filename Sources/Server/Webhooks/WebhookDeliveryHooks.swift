import Delivery
import RegistryEvents

/// What the management API needs of the delivery side.
public struct WebhookDeliveryHooks: Sendable {
    let directory: WebhookDirectory
    let attempts: WebhookAttempts

    public init(directory: WebhookDirectory, attempts: WebhookAttempts) {
        self.directory = directory
        self.attempts = attempts
    }

    func ping(_ webhook: Webhook) async -> (id: String, outcome: AttemptOutcome) { await attempts.ping(webhook) }
    func lane(of webhook: Webhook) -> DeliveryLanes.Snapshot { attempts.lane(of: webhook) }
    func webhooksChanged() async { await directory.refresh() }
    /// At create: a name that does not resolve yet is let through (each
    /// attempt refuses it until it resolves to a public address).
    func checkTarget(_ url: String) async throws { try await attempts.sender.targetGuard.check(url: url, allowUnresolved: true) }
}
