import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle
import Synchronization

/// Reads the retry tiers in the `<prefix>.retry` group and makes each
/// delivery's next attempt when it is due. A record not yet due pauses its
/// partition (and rewinds to it) until then; other partitions and tiers go
/// on. Nothing sleeps in the poll loop.
public final class RetryDispatcher: Service, Sendable {
    let consumerConfiguration: KafkaConsumerConfiguration
    let layout: TopicLayout
    let directory: WebhookDirectory
    let attempts: WebhookAttempts
    let maxInFlight: Int
    let logger: Logger
    private let paused = Mutex<Set<KafkaTopicPartition>>([])

    public init(
        client: KafkaClientConfiguration, layout: TopicLayout, directory: WebhookDirectory, attempts: WebhookAttempts,
        maxInFlight: Int = 256, logger: Logger
    ) {
        consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: layout.retryGroup)
        self.layout = layout
        self.directory = directory
        self.attempts = attempts
        self.maxInFlight = maxInFlight
        self.logger = logger
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        try consumer.subscribe(layout.retryTiers)
        let commits = CommitCoordinator()
        await DispatchLoop.run(consumer: consumer, commits: commits, maxInFlight: maxInFlight, logger: logger) { record, group in
            // Records after a not-yet-due one in its partition are read again after the rewind.
            if paused.withLock({ $0.contains(record.topicPartition) }) { return }
            guard let delivery = try? JSONDecoder().decode(DeliveryRecord.self, from: Data(record.value)) else {
                logger.warning("Skipping a retry record that cannot be read", metadata: ["offset": "\(record.offset)"])
                commits.start(record)
                commits.complete(record)
                return
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            if delivery.dueAtMilliseconds > now {
                wait(record.topicPartition, from: record.offset, for: .milliseconds(delivery.dueAtMilliseconds - now),
                     consumer: consumer, group: &group)
                return
            }
            commits.start(record)
            group.addTask { [self] in
                await retry(delivery)
                commits.complete(record)
            }
        }
    }

    private func wait(
        _ partition: KafkaTopicPartition, from offset: Int64, for delay: Duration, consumer: KafkaConsumer,
        group: inout DiscardingTaskGroup
    ) {
        do {
            try consumer.pause([partition])
            try consumer.seek(partition, to: offset)
        } catch {
            logger.error("Cannot pause a retry tier partition", metadata: ["partition": "\(partition)", "error": "\(error)"])
            return
        }
        paused.withLock { _ = $0.insert(partition) }
        group.addTask { [self] in
            // A wait of hours must not hold up a graceful shutdown: the
            // record stays uncommitted and is read again after a restart.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            guard !Task.isShuttingDownGracefully else { return }
            paused.withLock { _ = $0.remove(partition) }
            do {
                try consumer.resume([partition])
            } catch {
                logger.error("Cannot resume a retry tier partition", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
    }

    private func retry(_ delivery: DeliveryRecord) async {
        guard let webhook = directory.webhook(registry: delivery.registry, name: delivery.target) else {
            logger.notice(
                "Dropping a retry: the webhook no longer exists",
                metadata: ["registry": "\(delivery.registry)", "webhook": "\(delivery.target)", "event": "\(delivery.eventID)"])
            return
        }
        guard webhook.status == .enabled else {
            logger.notice(
                "Dropping a retry: the webhook is disabled",
                metadata: ["registry": "\(delivery.registry)", "webhook": "\(delivery.target)", "event": "\(delivery.eventID)"])
            return
        }
        await attempts.attempt(delivery, webhook: webhook)
    }
}
