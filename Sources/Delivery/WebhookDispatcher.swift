import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle

/// Reads `.acr` in the `<prefix>.webhooks` group and delivers each record to
/// every matching webhook. Deliveries run concurrently, each in its
/// webhook's lane (see `DeliveryLanes`): a slow or failing endpoint holds at
/// most one attempt deadline, and a failure, a full lane or an open breaker
/// moves to a retry tier at once, so other webhooks never wait. Offsets are
/// committed only behind records whose every delivery has a durable outcome
/// (see `RecordLifecycle`).
public final class WebhookDispatcher: Service, Sendable {
    let consumerConfiguration: KafkaConsumerConfiguration
    let layout: TopicLayout
    let directory: WebhookDirectory
    let attempts: WebhookAttempts
    let maxInFlight: Int
    let lossMonitor: DataLossMonitor?
    let logger: Logger

    public init(
        client: KafkaClientConfiguration, layout: TopicLayout, directory: WebhookDirectory, attempts: WebhookAttempts,
        maxInFlight: Int = 4096, lossMonitor: DataLossMonitor?, logger: Logger
    ) {
        consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: layout.webhookDispatcherGroup)
        self.layout = layout
        self.directory = directory
        self.attempts = attempts
        self.maxInFlight = maxInFlight
        self.lossMonitor = lossMonitor
        self.logger = logger
    }

    public func run() async throws {
        // Matching against webhooks not yet loaded would commit records that
        // matched nothing: wait for the store first (readiness says why).
        await directory.waitUntilLoaded()
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, lossMonitor: lossMonitor, logger: logger)
        try consumer.subscribe([layout.acr])
        let commits = CommitCoordinator()
        let sequencer = KeySequencer()
        await DispatchLoop.run(
            consumer: consumer, commits: commits, maxInFlight: maxInFlight, logger: logger, catchUp: directory.catchUp
        ) { record, group in
            // A registry without webhooks: nothing to parse or match.
            if let registry = record.recordHeaders.value(named: KafkaRecordFormat.Header.registry),
                !directory.hasWebhooks(registry: registry)
            {
                _ = RecordLifecycle(record, targets: 0, commits: commits)
                return
            }
            guard let event = Self.event(from: record) else {
                logger.warning(
                    "Skipping a record that is not an ACR event",
                    metadata: ["topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)"])
                _ = RecordLifecycle(record, targets: 0, commits: commits)
                return
            }
            let webhooks = directory.matches(event)
            let lifecycle = RecordLifecycle(record, targets: webhooks.count, commits: commits)
            let body = String(decoding: record.value, as: UTF8.self)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let traceparent = DeliveryTracing.traceparent(of: record)
            // One task per webhook: each waits on its own lane only.
            for webhook in webhooks {
                var delivery = DeliveryRecord(
                    targetKind: .webhook, registry: event.registry, target: webhook.name, eventID: event.id, attempt: 1,
                    dueAtMilliseconds: now, firstAttemptAtMilliseconds: now, body: body, originTopic: record.topic,
                    originPartition: record.partition, originOffset: record.offset,
                    publishedAtMilliseconds: record.timestampMilliseconds)
                delivery.targetCreatedAtMilliseconds = DeliveryRecord.milliseconds(webhook.createdAt)
                delivery.traceparent = traceparent
                guard webhook.ordering == .perKey else {
                    group.addTask { [attempts] in lifecycle.record(await attempts.attempt(delivery, webhook: webhook)) }
                    continue
                }
                // One repository's events in offset order: the turn is taken here, in the poll loop.
                let turn = sequencer.take("\(delivery.laneKey)|\(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "")")
                group.addTask { [attempts] in
                    let settled = await sequencer.wait(turn)
                        ? await attempts.attemptInOrder(delivery, webhook: webhook) : OrderedDelivery.notDurable
                    sequencer.finish(turn, durable: settled.isDurable)
                    lifecycle.record(settled)
                }
            }
        }
    }

    /// What matching needs, from the record: the ACR body, and the registry
    /// and location headers.
    static func event(from record: KafkaConsumerRecord) -> RegistryEvent? {
        KafkaRecordFormat.acrEvent(value: record.value, headers: record.recordHeaders)
    }
}
