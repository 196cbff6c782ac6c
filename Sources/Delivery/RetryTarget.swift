import Logging
import RegistryEvents

/// Makes the next attempt of a delivery read back from a retry tier, for the
/// kind of target it handles.
public protocol RetryTarget: Sendable {
    /// Whether this target handles `delivery` (by kind and, for in-process
    /// handlers, by group); the retry dispatcher skips what no target claims.
    func handles(_ delivery: DeliveryRecord) -> Bool
    func retry(_ delivery: DeliveryRecord) async
}

/// Webhook retries: the webhook as it is now (dropped if deleted or disabled).
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

    public func retry(_ delivery: DeliveryRecord) async {
        guard let webhook = directory.webhook(registry: delivery.registry, name: delivery.target), webhook.status == .enabled else {
            logger.notice(
                "Dropping a retry: the webhook no longer exists or is disabled",
                metadata: ["registry": "\(delivery.registry)", "webhook": "\(delivery.target)", "event": "\(delivery.eventID)"])
            return
        }
        await attempts.attempt(delivery, webhook: webhook)
    }
}

/// Subscription (or in-process handler) retries: the subscription as it is
/// now (dropped if deleted; Event Grid drops an event whose subscription is gone).
public struct SubscriptionRetryTarget: RetryTarget {
    let routing: any SubscriptionRouting
    let deliverer: any SubscriptionDeliverer
    let kind: DeliveryRecord.TargetKind
    /// For handlers: only this consumer's own retries.
    let target: String?
    let logger: Logger

    public init(
        routing: any SubscriptionRouting, deliverer: any SubscriptionDeliverer, kind: DeliveryRecord.TargetKind = .subscription,
        target: String? = nil, logger: Logger
    ) {
        self.routing = routing
        self.deliverer = deliverer
        self.kind = kind
        self.target = target
        self.logger = logger
    }

    public func handles(_ delivery: DeliveryRecord) -> Bool {
        delivery.targetKind == kind && (target == nil || delivery.target == target)
    }

    public func retry(_ delivery: DeliveryRecord) async {
        guard let scope = delivery.scope.flatMap(SubscriptionScope.init(description:)),
            let subscription = routing.subscription(scope: scope, name: delivery.target)
        else {
            logger.notice(
                "Dropping a retry: the subscription no longer exists",
                metadata: ["scope": "\(delivery.scopeDescription)", "subscription": "\(delivery.target)", "event": "\(delivery.eventID)"])
            return
        }
        await deliverer.attempt(delivery, subscription: subscription)
    }
}
