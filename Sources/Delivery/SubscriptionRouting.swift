import RegistryEvents

/// Which subscriptions an event goes to, and which topics to read for them:
/// the server's directory, or the one subscription of an in-process consumer.
public protocol SubscriptionRouting: Sendable {
    func matches(_ event: PublishedEvent, in scope: SubscriptionScope) -> [EventSubscription]
    /// Whether any subscription could match an event of `scope`: when none
    /// can, the dispatcher does not parse the record at all.
    func hasSubscriptions(in scope: SubscriptionScope) -> Bool
    func subscription(scope: SubscriptionScope, name: String) -> EventSubscription?
    /// The custom topics whose Kafka topics are read.
    var topicNames: [String] { get }
    /// Whether `.cloudevents` (the registries' events) is read.
    var readsRegistryEvents: Bool { get }
    /// Returns once the routing can be trusted (loaded from the store).
    func waitUntilLoaded() async
    /// Brings the routing up to date with the store (`DispatchLoop`'s catch-up).
    func catchUp() async
}

extension SubscriptionRouting {
    public func waitUntilLoaded() async {}
    /// A fixed routing (an in-process handler's one subscription) is always current.
    public func catchUp() async {}
    public func hasSubscriptions(in scope: SubscriptionScope) -> Bool { true }
}

extension SubscriptionDirectory: SubscriptionRouting {
    public var readsRegistryEvents: Bool { true }
}

/// How a batch for a subscription is attempted: HTTP for event
/// subscriptions, a Swift call for in-process handlers.
public protocol SubscriptionDeliverer: Sendable {
    /// One attempt and its durable outcome.
    func attempt(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled
    /// A retry whose subscription is gone: not attempted, said so on `.deliveries`.
    func skip(_ record: DeliveryRecord, reason: String) async -> DeliverySettlement.Settled
    /// An attempt for an ordered (`perKey`) subscription: retried in place.
    func attemptInOrder(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled
}

extension SubscriptionDeliverer {
    public func attemptInOrder(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled {
        await attempt(record, subscription: subscription)
    }
}

extension SubscriptionAttempts: SubscriptionDeliverer {
    public func attempt(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled {
        await deliver(record, subscription: subscription)
    }

    public func skip(_ record: DeliveryRecord, reason: String) async -> DeliverySettlement.Settled {
        await settlement.skip(record, reason: reason)
    }

    public func attemptInOrder(_ record: DeliveryRecord, subscription: EventSubscription) async -> DeliverySettlement.Settled {
        await deliverInOrder(record, subscription: subscription)
    }
}
