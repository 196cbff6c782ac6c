import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle

/// Reads `.cloudevents` and the custom topics in one consumer group and
/// delivers each event to every matching subscription, in the
/// subscription's schema and batches. Deliveries run concurrently (bounded):
/// a slow endpoint holds its own batches only, and a failure moves to a
/// retry tier at once. A record is committed only once every delivery it
/// is part of has a durable outcome.
public final class SubscriptionDispatcher: Service, Sendable {
    let consumerConfiguration: KafkaConsumerConfiguration
    let layout: TopicLayout
    let routing: any SubscriptionRouting
    let deliverer: any SubscriptionDeliverer
    let targetKind: DeliveryRecord.TargetKind
    let linger: Duration
    let maxInFlight: Int
    let lossMonitor: DataLossMonitor?
    let logger: Logger

    /// - Parameters:
    ///   - group: the consumer group (the server's `<prefix>.subscriptions`,
    ///     or an in-process consumer's own).
    ///   - linger: how long a batch waits to fill.
    public init(
        client: KafkaClientConfiguration, group: String, layout: TopicLayout, routing: any SubscriptionRouting,
        deliverer: any SubscriptionDeliverer, targetKind: DeliveryRecord.TargetKind = .subscription,
        linger: Duration = .milliseconds(100), maxInFlight: Int = 256, lossMonitor: DataLossMonitor?, logger: Logger
    ) {
        consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: group)
        self.layout = layout
        self.routing = routing
        self.deliverer = deliverer
        self.targetKind = targetKind
        self.linger = linger
        self.maxInFlight = maxInFlight
        self.lossMonitor = lossMonitor
        self.logger = logger
    }

    /// The Kafka topics the routing needs read.
    var topics: [String] {
        (routing.readsRegistryEvents ? [layout.cloudEvents] : []) + routing.topicNames.map(layout.customTopic)
    }

    public func run() async throws {
        // Matching against subscriptions not yet loaded would commit records
        // that matched nothing: wait for the store first.
        await routing.waitUntilLoaded()
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, lossMonitor: lossMonitor, logger: logger)
        var subscribed = topics
        try consumer.subscribe(subscribed)
        let commits = CommitCoordinator()
        let batcher = SubscriptionBatcher(linger: linger)
        let reader = SubscriptionEventReader(layout: layout)
        let sequencer = KeySequencer()
        await DispatchLoop.run(
            consumer: consumer, commits: commits, maxInFlight: maxInFlight, logger: logger,
            tick: { group, final in
                for batch in batcher.due(everything: final) { self.launch(batch, sequencer: sequencer, in: &group) }
                // A custom topic created since: read it too.
                let wanted = self.topics
                if !final, wanted != subscribed {
                    do {
                        try consumer.subscribe(wanted)
                        subscribed = wanted
                    } catch {
                        self.logger.error("Cannot subscribe to the custom topics", metadata: ["error": "\(error)"])
                    }
                }
            },
            catchUp: routing.catchUp,
            { record, group in
                // Most records of a busy cluster concern nobody: no parse for them.
                if let scope = reader.scope(of: record), !routing.hasSubscriptions(in: scope) {
                    _ = RecordLifecycle(record, targets: 0, commits: commits)
                    return
                }
                guard let (scope, event) = reader.event(from: record) else {
                    logger.warning(
                        "Skipping a record that is not an event",
                        metadata: ["topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)"])
                    _ = RecordLifecycle(record, targets: 0, commits: commits)
                    return
                }
                let subscriptions = routing.matches(event, in: scope)
                let completion = RecordLifecycle(record, targets: subscriptions.count, commits: commits)
                for subscription in subscriptions {
                    let orderingKey = subscription.ordering == .perKey
                        ? record.key.map { String(decoding: $0, as: UTF8.self) } ?? "" : nil
                    let ready = batcher.add(
                        event.rendered(as: subscription.eventDeliverySchema), to: subscription, completion: completion, origin: record,
                        orderingKey: orderingKey)
                    for batch in ready { launch(batch, sequencer: sequencer, in: &group) }
                }
            })
    }

    private func launch(_ batch: SubscriptionBatcher.Batch, sequencer: KeySequencer, in group: inout DiscardingTaskGroup) {
        let subscription = batch.subscription
        let (body, contentType) = SubscriptionBody.render(batch.events, schema: subscription.eventDeliverySchema)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var record = DeliveryRecord(
            targetKind: targetKind, registry: subscription.scope.kind == .registry ? subscription.scope.name : "",
            target: subscription.name, eventID: batch.events.first?["id"]?.stringValue ?? "", attempt: 1,
            dueAtMilliseconds: now, firstAttemptAtMilliseconds: now, body: body, originTopic: batch.origin.topic,
            originPartition: batch.origin.partition, originOffset: batch.origin.offset, scope: subscription.scope.description,
            contentType: contentType, eventCount: batch.events.count, publishedAtMilliseconds: batch.origin.timestampMilliseconds)
        // An in-process handler has no stored incarnation to compare.
        record.traceparent = DeliveryTracing.traceparent(of: batch.origin)
        if targetKind == .subscription { record.targetCreatedAtMilliseconds = DeliveryRecord.milliseconds(subscription.createdAt) }
        guard let orderingKey = batch.orderingKey else {
            group.addTask { [deliverer] in
                let settled = await deliverer.attempt(record, subscription: subscription)
                for completion in batch.completions { completion.record(settled) }
            }
            return
        }
        // One key's batches in order: the turn is taken here, in the poll loop.
        let turn = sequencer.take("\(record.laneKey)|\(orderingKey)")
        group.addTask { [deliverer] in
            let settled = await sequencer.wait(turn)
                ? await deliverer.attemptInOrder(record, subscription: subscription) : OrderedDelivery.notDurable
            sequencer.finish(turn, durable: settled.isDurable)
            for completion in batch.completions { completion.record(settled) }
        }
    }
}
