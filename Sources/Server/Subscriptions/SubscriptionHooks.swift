import Delivery
import RegistryEvents

/// What the subscription and topic APIs need of the running server: the
/// dispatcher's directory, endpoint validation, the SSRF guard, and Kafka
/// topic creation (custom topics, dead-letter topics).
public struct SubscriptionHooks: Sendable {
    let directory: SubscriptionDirectory
    let validator: SubscriptionValidator
    let sender: WebhookSender
    /// For the lanes `subscription show` reports; `nil` shows none.
    let attempts: SubscriptionAttempts?

    public init(
        directory: SubscriptionDirectory, validator: SubscriptionValidator, sender: WebhookSender, attempts: SubscriptionAttempts? = nil
    ) {
        self.directory = directory
        self.validator = validator
        self.sender = sender
        self.attempts = attempts
    }

    func lane(of subscription: EventSubscription) -> DeliveryLanes.Snapshot? { attempts?.lane(of: subscription) }

    func changed() async { await directory.refresh() }
    /// At create, as for webhooks: a name not resolving yet passes; attempts refuse it.
    func checkTarget(_ url: String) async throws { try await sender.targetGuard.check(url: url, allowUnresolved: true) }
    func validate(_ subscription: EventSubscription) async -> SubscriptionValidator.Verdict { await validator.validate(subscription) }
    func validateDeadLetterEndpoint(_ url: String) async -> String? { await validator.validateDeadLetterEndpoint(url) }
}
