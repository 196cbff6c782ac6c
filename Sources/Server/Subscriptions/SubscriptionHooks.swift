import Delivery
import RegistryEvents

/// What the subscription and topic APIs need of the running server: the
/// dispatcher's directory, endpoint validation, the SSRF guard, and Kafka
/// topic creation (custom topics, dead-letter topics).
public struct SubscriptionHooks: Sendable {
    let directory: SubscriptionDirectory
    let validator: SubscriptionValidator
    let sender: WebhookSender

    public init(directory: SubscriptionDirectory, validator: SubscriptionValidator, sender: WebhookSender) {
        self.directory = directory
        self.validator = validator
        self.sender = sender
    }

    func changed() async { await directory.refresh() }
    func checkTarget(_ url: String) throws { try sender.targetGuard.check(url: url) }
    func validate(_ subscription: EventSubscription) async -> SubscriptionValidator.Verdict { await validator.validate(subscription) }
}
