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
    let targets: [any RetryTarget]
    let maxInFlight: Int
    let logger: Logger
    private let paused = Mutex<Set<KafkaTopicPartition>>([])

    /// - Parameter group: the server's `<prefix>.retry`, or an in-process
    ///   consumer's own.
    public init(
        client: KafkaClientConfiguration, group: String, layout: TopicLayout, targets: [any RetryTarget], maxInFlight: Int = 256,
        logger: Logger
    ) {
        consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: group)
        self.layout = layout
        self.targets = targets
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
            // Another consumer's retry (an in-process handler's, or ours seen by it).
            guard let target = targets.first(where: { $0.handles(delivery) }) else {
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
            group.addTask {
                await target.retry(delivery)
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
}
