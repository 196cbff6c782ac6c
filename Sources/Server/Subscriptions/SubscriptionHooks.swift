import Delivery
import RegistryEvents

/// What the subscription and topic APIs need of the delivery side: endpoint
/// validation, the target guard, lanes, and telling the dispatcher a
/// subscription or topic changed.
public protocol SubscriptionValidating: Sendable {
    func lane(of subscription: EventSubscription) -> DeliveryLanes.Snapshot?
    func changed() async
    func checkTarget(_ url: String) async throws
    func validate(_ subscription: EventSubscription) async -> SubscriptionValidator.Verdict
    /// `nil` when an HTTP dead-letter endpoint consents, else why not.
    func validateDeadLetterEndpoint(_ url: String) async -> String?
    /// Whether any subscription listens to `registry`.
    func listensTo(registry: String) -> Bool
}

/// The running server's subscription deliveries and validator.
public struct SubscriptionHooks: SubscriptionValidating {
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

    public func lane(of subscription: EventSubscription) -> DeliveryLanes.Snapshot? { attempts?.lane(of: subscription) }

    public func changed() async { await directory.refresh() }
    public func checkTarget(_ url: String) async throws { try await sender.targetGuard.check(url: url, allowUnresolved: true) }
    public func validate(_ subscription: EventSubscription) async -> SubscriptionValidator.Verdict { await validator.validate(subscription) }
    public func validateDeadLetterEndpoint(_ url: String) async -> String? { await validator.validateDeadLetterEndpoint(url) }
    public func listensTo(registry: String) -> Bool { directory.hasSubscriptions(in: SubscriptionScope.registry(registry)) }
}
