import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle

/// Reads `.acr` in the `<prefix>.webhooks` group and delivers each record to
/// every matching webhook. Deliveries run concurrently (bounded): a slow or
/// failing endpoint holds one task, and a failure moves to a retry tier at
/// once, so other webhooks never wait. Offsets are committed only behind
/// records whose every delivery has a durable outcome.
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
        maxInFlight: Int = 256, lossMonitor: DataLossMonitor?, logger: Logger
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
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, lossMonitor: lossMonitor, logger: logger)
        try consumer.subscribe([layout.acr])
        let commits = CommitCoordinator()
        await DispatchLoop.run(consumer: consumer, commits: commits, maxInFlight: maxInFlight, logger: logger) { record, group in
            commits.start(record)
            group.addTask { [self] in
                await deliver(record)
                commits.complete(record)
            }
        }
    }

    private func deliver(_ record: KafkaConsumerRecord) async {
        guard let event = Self.event(from: record) else {
            logger.warning(
                "Skipping a record that is not an ACR event",
                metadata: ["topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)"])
            return
        }
        let webhooks = directory.matches(event)
        guard !webhooks.isEmpty else { return }
        let body = String(decoding: record.value, as: UTF8.self)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        await withDiscardingTaskGroup { group in
            for webhook in webhooks {
                let delivery = DeliveryRecord(
                    targetKind: .webhook, registry: event.registry, target: webhook.name, eventID: event.id, attempt: 1,
                    dueAtMilliseconds: now, firstAttemptAtMilliseconds: now, body: body, originTopic: record.topic,
                    originPartition: record.partition, originOffset: record.offset,
                    publishedAtMilliseconds: record.timestampMilliseconds)
                group.addTask { await self.attempts.attempt(delivery, webhook: webhook) }
            }
        }
    }

    /// What matching needs, from the record: the ACR body, and the registry
    /// and location headers.
    static func event(from record: KafkaConsumerRecord) -> RegistryEvent? {
        guard let payload = try? JSONDecoder().decode(ACRPayload.self, from: Data(record.value)),
            let action = RegistryAction(rawValue: payload.action), let target = payload.target,
            let registry = record.header("registry")?.stringValue
        else { return nil }
        return RegistryEvent(
            id: payload.id, timestamp: payload.timestamp, action: action, registry: registry,
            location: record.header("location")?.stringValue ?? "local",
            target: RegistryEvent.Target(digest: target.digest, repository: target.repository, tag: target.tag))
    }
}

/// The poll loop every dispatcher shares: commit what became committable,
/// respect the in-flight bound, poll, hand each record over; on graceful
/// shutdown, finish what is in flight, commit, and leave the group.
enum DispatchLoop {
    /// - Parameter tick: called once per pass (and a last time with `true`
    ///   on the way out), for work that is due by time rather than by record.
    static func run(
        consumer: KafkaConsumer, commits: CommitCoordinator, maxInFlight: Int, logger: Logger,
        tick: (inout DiscardingTaskGroup, _ final: Bool) -> Void = { _, _ in },
        _ handle: (KafkaConsumerRecord, inout DiscardingTaskGroup) -> Void
    ) async {
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                tick(&group, false)
                await commit(commits, consumer: consumer, logger: logger)
                guard commits.inFlight < maxInFlight else {
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                do {
                    for record in try await consumer.poll(timeout: .milliseconds(100)) { handle(record, &group) }
                } catch {
                    logger.error("Dispatcher cannot poll Kafka", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            tick(&group, true)
        }
        await commit(commits, consumer: consumer, logger: logger)
        await consumer.close()
    }

    static func commit(_ commits: CommitCoordinator, consumer: KafkaConsumer, logger: Logger) async {
        // Cancelled (not a graceful shutdown), outcomes may not have reached
        // Kafka: commit nothing, the records are read again.
        guard !Task.isCancelled else { return }
        commits.retain(only: consumer.assignment)
        let offsets = commits.takeCommittable()
        guard !offsets.isEmpty else { return }
        do {
            try await consumer.commit(offsets)
        } catch {
            logger.warning("Commit failed; the records will be delivered again", metadata: ["error": "\(error)"])
        }
    }
}
