import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle
import Synchronization

/// Reads the retry tiers in the `<prefix>.retry` group and makes each
/// delivery's next attempt when it is due. Nothing sleeps in the poll loop.
///
/// Every record in a tier waits that tier's delay after it was written
/// (`DeliveryRecord.tier` puts a wait in the longest tier not longer than
/// it), so a tier's records come due in offset order. A head due within
/// `holdWindow` (the shortest tier's delay) is held in memory while the
/// partition reads on; a head due later parks its partition (paused, and
/// read again from the head once due), which holds back only records due
/// later still. A record that has waited its tier but is due later (jitter,
/// a long Retry-After, a wait past the longest tier) is written again to the
/// tier for what is left.
///
/// A parked partition's head stays in flight in the commit tracker, and its
/// later records are ignored until the head is read again, so no offset
/// past an unprocessed record is ever committed, even when pause, seek or
/// resume fail (they are retried each pass until they succeed).
public final class RetryDispatcher: Service, Sendable {
    private struct Parked {
        var head: Int64
        var until: ContinuousClock.Instant
        /// Pause and seek went through (else retried next pass).
        var paused = false
    }

    let consumerConfiguration: KafkaConsumerConfiguration
    let layout: TopicLayout
    let targets: [any RetryTarget]
    let maxInFlight: Int
    let holdWindow: Duration
    let lossMonitor: DataLossMonitor?
    let logger: Logger
    private let parked = Mutex<[KafkaTopicPartition: Parked]>([:])
    /// The assignment generation `tendParked` last saw.
    private let seenGeneration = Mutex(0)

    /// - Parameter group: the server's `<prefix>.retry`, or an in-process
    ///   consumer's own.
    public init(
        client: KafkaClientConfiguration, group: String, layout: TopicLayout, targets: [any RetryTarget], maxInFlight: Int = 256,
        lossMonitor: DataLossMonitor? = nil, logger: Logger
    ) {
        consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: group)
        self.layout = layout
        self.targets = targets
        self.maxInFlight = maxInFlight
        holdWindow = TopicLayout.retryTierDelays.min() ?? .seconds(10)
        self.lossMonitor = lossMonitor
        self.logger = logger
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, lossMonitor: lossMonitor, logger: logger)
        try consumer.subscribe(layout.retryTiers)
        let commits = CommitCoordinator()
        let tierDelays = Dictionary(uniqueKeysWithValues: TopicLayout.retryTierDelays.map { (layout.retryTier($0), $0) })
        await DispatchLoop.run(
            consumer: consumer, commits: commits, maxInFlight: maxInFlight, logger: logger,
            tick: { _, final in if !final { self.tendParked(consumer) } },
            catchUp: { for target in self.targets { await target.catchUp() } }
        ) { record, group in
            // Records after a parked head are read again once it is due.
            if parked.withLock({ $0[record.topicPartition] != nil }) { return }
            guard let delivery = try? JSONDecoder().decode(DeliveryRecord.self, from: Data(record.value)) else {
                logger.warning("Skipping a retry record that cannot be read", metadata: ["offset": "\(record.offset)"])
                _ = RecordLifecycle(record, targets: 0, commits: commits)
                return
            }
            // Another consumer's retry (an in-process handler's, or ours seen by it).
            guard let target = targets.first(where: { $0.handles(delivery) }) else {
                _ = RecordLifecycle(record, targets: 0, commits: commits)
                return
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let tierDue = (record.timestampMilliseconds ?? delivery.dueAtMilliseconds) + (tierDelays[record.topic] ?? .zero).wholeMilliseconds
            let wake = min(delivery.dueAtMilliseconds, tierDue)
            if wake - now > holdWindow.wholeMilliseconds {
                commits.start(record)
                park(record.topicPartition, head: record.offset, for: .milliseconds(wake - now), consumer: consumer)
                return
            }
            let lifecycle = RecordLifecycle(record, targets: 1, commits: commits)
            group.addTask { [self] in
                let due = wake <= now ? true : await waitInMemory(.milliseconds(wake - now))
                guard due else {
                    // Shutting down before it was due: not settled, so not committed (and no longer pending).
                    lifecycle.record(DeliverySettlement.Settled(result: .retrying, deadLetters: [], isDurable: false))
                    return
                }
                lifecycle.record(await process(delivery, target: target))
            }
        }
    }

    /// The next attempt, or, when the record is due later than its tier,
    /// the wait for what is left.
    private func process(_ delivery: DeliveryRecord, target: any RetryTarget) async -> DeliverySettlement.Settled {
        let remaining = Duration.milliseconds(delivery.dueAtMilliseconds - Int64(Date().timeIntervalSince1970 * 1000))
        if remaining > holdWindow {
            let durable = await target.settlement.reenqueue(delivery, remaining: remaining)
            return DeliverySettlement.Settled(result: .retrying, deadLetters: [], isDurable: durable)
        }
        if remaining > .zero, !(await waitInMemory(remaining)) {
            return DeliverySettlement.Settled(result: .retrying, deadLetters: [], isDurable: false)
        }
        return await target.retry(delivery)
    }

    /// Sleeps, unless a graceful shutdown comes first (false then: the
    /// record stays uncommitted and is read again after a restart).
    private func waitInMemory(_ delay: Duration) async -> Bool {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        return !Task.isShuttingDownGracefully && !Task.isCancelled
    }

    private func park(_ partition: KafkaTopicPartition, head: Int64, for delay: Duration, consumer: KafkaConsumer) {
        parked.withLock { $0[partition] = Parked(head: head, until: .now + delay) }
        pauseAndRewind(partition, consumer: consumer)
    }

    private func pauseAndRewind(_ partition: KafkaTopicPartition, consumer: KafkaConsumer) {
        guard let head = parked.withLock({ $0[partition]?.head }) else { return }
        do {
            try consumer.pause([partition])
            try consumer.seek(partition, to: head)
            parked.withLock { $0[partition]?.paused = true }
        } catch {
            logger.error(
                "Cannot pause a retry tier partition; its later records stay ignored and it is tried again",
                metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// Once per pass: pauses what could not be paused yet, rewinds and
    /// resumes what is due, forgets partitions no longer owned.
    private func tendParked(_ consumer: KafkaConsumer) {
        let owned = consumer.assignment
        let now = ContinuousClock.now
        let all = parked.withLock { parked in
            parked = parked.filter { owned.contains($0.key) }
            return parked
        }
        // librdkafka keeps a pause across a re-assignment: a partition that
        // came back (parked before, or paused when revoked) must fetch again.
        let generation = consumer.assignmentGeneration
        if seenGeneration.withLock({ seen in defer { seen = generation }; return seen != generation }) {
            let unparked = owned.subtracting(all.keys)
            do {
                try consumer.resume(Array(unparked))
            } catch {
                seenGeneration.withLock { $0 = -1 }  // try again next pass
                logger.error("Cannot resume re-assigned retry tier partitions; trying again", metadata: ["error": "\(error)"])
            }
        }
        for (partition, state) in all {
            guard state.paused else {
                pauseAndRewind(partition, consumer: consumer)
                continue
            }
            guard now >= state.until else { continue }
            do {
                // Rewind again before resuming: nothing read past the head
                // while parked may count as read.
                try consumer.seek(partition, to: state.head)
                try consumer.resume([partition])
                parked.withLock { _ = $0.removeValue(forKey: partition) }
            } catch {
                logger.error(
                    "Cannot resume a retry tier partition; trying again", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
    }
}
