import Logging
import RegistryEvents

/// Makes the next attempt of a delivery read back from a retry tier, for the
/// kind of target it handles.
public protocol RetryTarget: Sendable {
    /// Whether this target handles `delivery` (by kind and, for in-process
    /// handlers, by group); the retry dispatcher skips what no target claims.
    func handles(_ delivery: DeliveryRecord) -> Bool
    /// The next attempt and its durable outcome (`skipped` when the
    /// target is gone or disabled).
    func retry(_ delivery: DeliveryRecord) async -> DeliverySettlement.Settled
    /// Where a tier record that must wait longer is written again.
    var settlement: DeliverySettlement { get }
    /// Brings what the target is looked up in up to date with the store
    /// (`DispatchLoop`'s catch-up).
    func catchUp() async
}

/// Webhook retries: the webhook as it is now (skipped, with an audit
/// record, if deleted or disabled).
public struct WebhookRetryTarget: RetryTarget {
    let directory: WebhookDirectory
    let attempts: WebhookAttempts
    let logger: Logger

    public init(directory: WebhookDirectory, attempts: WebhookAttempts, logger: Logger) {
        self.directory = directory
        self.attempts = attempts
        self.logger = logger
    }

    public func handles(_ delivery: DeliveryRecord) -> Bool { delivery.targetKind == .webhook }

    public func catchUp() async { await directory.catchUp() }

    public var settlement: DeliverySettlement { attempts.settlement }

    public func retry(_ delivery: DeliveryRecord) async -> DeliverySettlement.Settled {
        guard let webhook = directory.webhook(registry: delivery.registry, name: delivery.target) else {
            return await attempts.settlement.skip(delivery, reason: "the webhook was deleted")
        }
        guard delivery.isFor(targetCreatedAt: webhook.createdAt) else {
            return await attempts.settlement.skip(delivery, reason: "the webhook was deleted and created again")
        }
        guard webhook.status == .enabled else {
            return await attempts.settlement.skip(delivery, reason: "the webhook is disabled")
        }
        return await attempts.attempt(delivery, webhook: webhook)
    }
}

/// Subscription (or in-process handler) retries: the subscription as it is
/// now (skipped, with an audit record, if deleted: Event Grid drops an event
/// whose subscription is gone).
public struct SubscriptionRetryTarget: RetryTarget {
    let routing: any SubscriptionRouting
    let deliverer: any SubscriptionDeliverer
    public let settlement: DeliverySettlement
    let kind: DeliveryRecord.TargetKind
    /// For handlers: only this consumer's own retries.
    let target: String?
    let logger: Logger

    public init(
        routing: any SubscriptionRouting, deliverer: any SubscriptionDeliverer, settlement: DeliverySettlement,
        kind: DeliveryRecord.TargetKind = .subscription, target: String? = nil, logger: Logger
    ) {
        self.routing = routing
        self.deliverer = deliverer
        self.settlement = settlement
        self.kind = kind
        self.target = target
        self.logger = logger
    }

    public func catchUp() async { await routing.catchUp() }

    public func handles(_ delivery: DeliveryRecord) -> Bool {
        delivery.targetKind == kind && (target == nil || delivery.target == target)
    }

    public func retry(_ delivery: DeliveryRecord) async -> DeliverySettlement.Settled {
        guard let scope = delivery.scope.flatMap(SubscriptionScope.init(description:)),
            let subscription = routing.subscription(scope: scope, name: delivery.target)
        else {
            return await deliverer.skip(delivery, reason: "the subscription was deleted")
        }
        guard delivery.isFor(targetCreatedAt: subscription.createdAt) else {
            return await deliverer.skip(delivery, reason: "the subscription was deleted and created again")
        }
        return await deliverer.attempt(delivery, subscription: subscription)
    }
}
