import RegistryEvents

/// Which subscriptions an event goes to, and which topics to read for them:
/// the server's directory, or the one subscription of an in-process consumer.
public protocol SubscriptionRouting: Sendable {
    func matches(_ event: PublishedEvent, in scope: SubscriptionScope) -> [EventSubscription]
    func subscription(scope: SubscriptionScope, name: String) -> EventSubscription?
    /// The custom topics whose Kafka topics are read.
    var topicNames: [String] { get }
    /// Whether `.cloudevents` (the registries' events) is read.
    var readsRegistryEvents: Bool { get }
}

extension SubscriptionDirectory: SubscriptionRouting {
    public var readsRegistryEvents: Bool { true }
}

/// How a batch for a subscription is attempted: HTTP for event
/// subscriptions, a Swift call for in-process handlers.
public protocol SubscriptionDeliverer: Sendable {
    func attempt(_ record: DeliveryRecord, subscription: EventSubscription) async
}

extension SubscriptionAttempts: SubscriptionDeliverer {
    public func attempt(_ record: DeliveryRecord, subscription: EventSubscription) async {
        await deliver(record, subscription: subscription)
    }
}
