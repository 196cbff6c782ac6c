import Kafka
import Logging
import ServiceLifecycle

/// The poll loop every dispatcher shares: commit what became committable,
/// respect the in-flight bound, poll, hand each record over; on graceful
/// shutdown, finish what is in flight, commit, and leave the group.
enum DispatchLoop {
    /// - Parameter tick: called once per pass (and a last time with `true`
    ///   on the way out), for work that is due by time rather than by record.
    /// - Parameter maxInFlight: records received and not yet settled, at most.
    /// - Parameter maxPendingDeliveries: their deliveries (record × target)
    ///   not yet settled, at most: this bounds tasks and memory whatever the
    ///   fan-out.
    /// - Parameter catchUp: awaited after every poll that brought records,
    ///   before they are handed over: the directories catch up with the
    ///   store, so what was polled is matched against every target created
    ///   before it was ingested, through whichever node.
    static func run(
        consumer: KafkaConsumer, commits: CommitCoordinator, maxInFlight: Int, maxPendingDeliveries: Int = 1024, logger: Logger,
        tick: (inout DiscardingTaskGroup, _ final: Bool) -> Void = { _, _ in },
        catchUp: () async -> Void,
        _ handle: (KafkaConsumerRecord, inout DiscardingTaskGroup) -> Void
    ) async {
        consumer.commitOnRevocation(
            { partitions in commits.committable().filter { partitions.contains($0.topicPartition) } },
            confirmed: commits.confirm)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                tick(&group, false)
                await commit(commits, consumer: consumer, logger: logger)
                guard commits.inFlight < maxInFlight,
                    commits.pendingDeliveries.load(ordering: .relaxed) < maxPendingDeliveries
                else {
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                do {
                    let records = try await consumer.poll(timeout: .milliseconds(100))
                    if !records.isEmpty { await catchUp() }
                    for record in records {
                        // One poll can bring hundreds of records, each going to
                        // many targets: hand each over only while the bound holds.
                        while commits.pendingDeliveries.load(ordering: .relaxed) >= maxPendingDeliveries,
                            !Task.isShuttingDownGracefully, !Task.isCancelled
                        {
                            await commit(commits, consumer: consumer, logger: logger)
                            try? await Task.sleep(for: .milliseconds(2))
                        }
                        handle(record, &group)
                    }
                } catch {
                    logger.error("Dispatcher cannot poll Kafka", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            tick(&group, true)
        }
        // Audit records settled without waiting may still be on their way:
        // a moment for their acknowledgements, so the last commit covers them.
        let patience = ContinuousClock.now + .seconds(5)
        while commits.pendingDeliveries.load(ordering: .relaxed) > 0, !Task.isCancelled, ContinuousClock.now < patience {
            try? await Task.sleep(for: .milliseconds(5))
        }
        await commit(commits, consumer: consumer, logger: logger)
        await consumer.close()
    }

    /// Commits what became committable. An offset counts as committed only
    /// once Kafka confirmed it; a failed commit is tried again on the next
    /// pass (and, failing until a crash, the records are delivered again).
    static func commit(_ commits: CommitCoordinator, consumer: KafkaConsumer, logger: Logger) async {
        // Cancelled (not a graceful shutdown), outcomes may not have reached
        // Kafka: commit nothing, the records are read again.
        guard !Task.isCancelled else { return }
        commits.retain(only: consumer.assignment)
        let offsets = commits.committable()
        guard !offsets.isEmpty else { return }
        do {
            commits.confirm(try await consumer.commit(offsets))
        } catch {
            logger.warning("Commit failed; trying again on the next pass", metadata: ["error": "\(error)"])
        }
    }
}
