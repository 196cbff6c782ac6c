import CRdKafka
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A Kafka consumer that never commits behind the application's back.
///
/// Either a consumer-group member (`subscribe`) whose offsets move only through
/// `commit`, or a free reader of explicit partitions (`assign`) that never
/// commits. Every C call that polls or closes runs on one serial queue, off the
/// cooperative pool; commits run on the shared blocking queue.
///
/// As a `Service` it closes (leaving the group) on graceful shutdown; the
/// `records` sequence then ends.
public final class KafkaConsumer: Service, Sendable {
    /// Where a manually assigned partition starts.
    public enum StartOffset: Sendable, Hashable {
        case beginning, end
        case offset(Int64)

        var rawValue: Int64 {
            switch self {
            case .beginning: Int64(RD_KAFKA_OFFSET_BEGINNING)
            case .end: Int64(RD_KAFKA_OFFSET_END)
            case .offset(let offset): offset
            }
        }
    }

    private enum Lifecycle {
        case open, closing, closed
    }

    private let tracker: ConsumerPartitionTracker
    private let client: RDKafkaClient
    private let configuration: KafkaConsumerConfiguration
    private let pollQueue = DispatchQueue(label: "regevents.kafka.consumer.poll")
    private let lifecycle = Mutex(Lifecycle.open)
    /// The partitions this application paused. Only these are ever resumed:
    /// librdkafka 2.0.2 can rewind the fetch position of a partition resumed
    /// while not paused (librdkafka#4637), which redelivers and can move
    /// the committed offset back.
    private let pausedByUs = Mutex<Set<KafkaTopicPartition>>([])
    /// A group member (`subscribe`), as opposed to a reader of assigned partitions.
    private let subscribed = Atomic<Bool>(false)
    /// While a rebalance runs (after a re-subscription, or once a commit was
    /// answered REBALANCE_IN_PROGRESS): the rebalance count it started from,
    /// and until when commits wait. librdkafka 2.0.2 takes a
    /// commit answered ILLEGAL_GENERATION in a cooperative rebalance as the
    /// loss of the whole assignment, and every partition is read again from
    /// its last commit (librdkafka#4059): held back, a commit goes out once
    /// the new assignment is in.
    private let commitsHeld = Mutex<(rebalances: Int, until: ContinuousClock.Instant)?>(nil)
    private let lossMonitor: DataLossMonitor?
    private let logger: Logger

    /// - Parameter lossMonitor: where retention losses of this group are
    ///   recorded; `nil` for consumers that do not commit.
    public init(configuration: KafkaConsumerConfiguration, lossMonitor: DataLossMonitor? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.lossMonitor = lossMonitor
        self.logger = logger
        let tracker = ConsumerPartitionTracker()
        self.tracker = tracker
        client = try RDKafkaClient.make(kind: .consumer, properties: configuration.properties, retaining: tracker) { conf in
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(tracker).toOpaque())
            if configuration.groupID != nil {
                rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
            }
        }
        // Route the main queue (logs, errors) through consumer polls.
        client.withHandle { _ = rd_kafka_poll_set_consumer($0) }
        if configuration.groupID != nil {
            let client = self.client
            let group = configuration.groupID ?? ""
            let monitor = lossMonitor
            let requestTimeout = configuration.client.requestTimeout
            tracker.onAssigned.withLock {
                $0 = { tracker, partitions in
                    RDKafkaClient.blockingQueue.async {
                        Self.checkCommittedAgainstLogStart(
                            partitions, client: client, tracker: tracker, group: group, monitor: monitor,
                            timeout: requestTimeout)
                    }
                }
            }
        }
    }

    /// Commits, as partitions are revoked (another member takes them, or
    /// this one leaves), what their owner finished with them: `offsets` gives
    /// it for the partitions named, `confirmed` hears what Kafka confirmed.
    /// The commit is synchronous, in the rebalance, before they go; without
    /// it the new owner starts from the last regular commit, which a
    /// rebalance holds back (`commitsHeld`), and delivers seconds of records
    /// again. Set before the first poll.
    public func commitOnRevocation(
        _ offsets: @escaping @Sendable ([KafkaTopicPartition]) -> [KafkaCommitOffset],
        confirmed: @escaping @Sendable ([KafkaCommitOffset]) -> Void
    ) {
        tracker.revocationCommits.withLock { $0 = .init(offsets: offsets, confirmed: confirmed) }
    }

    /// Joins the consumer group and subscribes to `topics`.
    public func subscribe(_ topics: [String]) throws {
        guard configuration.groupID != nil else {
            throw KafkaError.make(.configuration, reason: "subscribe needs a consumer group id")
        }
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        if subscribed.load(ordering: .relaxed) { holdCommitsUntilRebalanced() }
        let err = client.withHandle { rd_kafka_subscribe($0, list) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            commitsHeld.withLock { $0 = nil }
            throw KafkaError.rdKafka(.consume, err, context: "subscribe to \(topics.joined(separator: ","))")
        }
        subscribed.store(true, ordering: .relaxed)
        logger.info("Kafka consumer subscribed", metadata: ["group": "\(configuration.groupID ?? "")", "topics": "\(topics)"])
    }

    /// Reads the given partitions from the given offsets, outside any group.
    public func assign(_ partitions: [KafkaTopicPartition: StartOffset]) throws {
        let list = RDKafkaTopicPartitionList(
            Array(partitions.keys), offsets: partitions.mapValues(\.rawValue))
        let err = list.withPointer { pointer in client.withHandle { rd_kafka_assign($0, pointer) } }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.consume, err, context: "assign partitions")
        }
        tracker.assign(Array(partitions.keys))
    }

    /// Stops fetching `partitions` (e.g. a retry tier whose next record is not
    /// due yet) without leaving the group; other partitions go on.
    ///
    /// - Throws: a `.consume` `KafkaError` naming the first partition
    ///   librdkafka could not pause (`_UNKNOWN_PARTITION`: a topic this
    ///   consumer has no state for); the others are paused. (librdkafka 2.0.2
    ///   accepts any partition number of a topic it knows.)
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        // Noted first: a call that fails for one partition still pauses the others.
        pausedByUs.withLock { $0.formUnion(partitions) }
        try changeFetching(partitions, paused: true)
    }

    /// Fetches `partitions` again after `pause`; a partition this consumer
    /// did not pause is left alone (see `pausedByUs`).
    ///
    /// - Throws: as `pause` does, naming the partition that failed.
    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        let paused = pausedByUs.withLock { paused in partitions.filter { paused.contains($0) } }
        try changeFetching(paused, paused: false)
        pausedByUs.withLock { $0.subtract(paused) }
    }

    /// The group's rebalance protocol: "COOPERATIVE", "EAGER", or "NONE"
    /// until the group has chosen one.
    public var rebalanceProtocol: String { client.withHandle { Kafka.rebalanceProtocol($0) } }

    /// Makes the next poll of `partition` start at `offset` (e.g. to read a
    /// not-yet-due record again once it is due). Waits up to 5 s for the
    /// fetcher to take the new position.
    ///
    /// - Throws: a `.consume` `KafkaError` naming the partition when the call
    ///   or the partition's seek failed (`_UNKNOWN_PARTITION` for a topic this
    ///   consumer never saw, `_STATE` for a partition it does not fetch, `_TIMED_OUT`).
    public func seek(_ partition: KafkaTopicPartition, to offset: Int64) throws {
        let list = RDKafkaTopicPartitionList([partition], offsets: [partition: offset])
        let error = list.withPointer { pointer in client.withHandle { rd_kafka_seek_partitions($0, pointer, 5000) } }
        if let error {
            defer { rd_kafka_error_destroy(error) }
            throw KafkaError.rdKafka(.consume, rd_kafka_error_code(error), context: "seek \(partition) to \(offset)")
        }
        try Self.throwFirstPartitionError(in: list, doing: "seek to \(offset)")
    }

    private func changeFetching(_ partitions: [KafkaTopicPartition], paused: Bool) throws {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(partitions)
        let err = list.withPointer { pointer in
            client.withHandle { paused ? rd_kafka_pause_partitions($0, pointer) : rd_kafka_resume_partitions($0, pointer) }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.consume, err, context: paused ? "pause partitions" : "resume partitions")
        }
        try Self.throwFirstPartitionError(in: list, doing: paused ? "pause" : "resume")
    }

    /// librdkafka reports a partition it could not pause, resume or seek in
    /// that partition's `err`, while the call itself succeeds.
    private static func throwFirstPartitionError(in list: RDKafkaTopicPartitionList, doing action: String) throws {
        guard let failed = list.entries().first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) else { return }
        throw KafkaError.rdKafka(.consume, failed.error, context: "\(action) \(failed.topicPartition)")
    }

    /// The partitions this consumer owns now.
    public var assignment: Set<KafkaTopicPartition> { tracker.assigned }

    /// Grows with every assignment (rebalance): a change means partitions
    /// may have come back, and librdkafka keeps an application's pause on a
    /// partition across a re-assignment.
    public var assignmentGeneration: Int { tracker.generation }

    /// Waits up to `timeout` for records and returns what arrived (up to
    /// `maxPollRecords`); empty when nothing came or the consumer is closed.
    public func poll(timeout: Duration = .milliseconds(100)) async throws -> [KafkaConsumerRecord] {
        try await withCheckedThrowingContinuation { continuation in
            pollQueue.async { [self] in
                continuation.resume(with: Result { try pollBatch(timeout: timeout) })
            }
        }
    }

    /// Every record, one at a time, until the consumer closes or the task is cancelled.
    public var records: KafkaConsumerRecords { KafkaConsumerRecords(consumer: self) }

    var isOpen: Bool { lifecycle.withLock { $0 == .open } }

    private func pollBatch(timeout: Duration) throws -> [KafkaConsumerRecord] {
        guard isOpen else { return [] }
        var records: [KafkaConsumerRecord] = []
        var wait = Int32(timeout.wholeMilliseconds)
        while records.count < configuration.maxPollRecords {
            guard let message = client.withHandle({ rd_kafka_consumer_poll($0, wait) }) else { break }
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let err = message.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                try handlePollError(err, message)
                continue
            }
            let record = Self.record(from: message)
            if let expected = tracker.observe(record.topicPartition, offset: record.offset) {
                checkGap(record.topicPartition, expected: expected, received: record.offset)
            }
            records.append(record)
        }
        return records
    }

    private func handlePollError(_ err: rd_kafka_resp_err_t, _ message: UnsafeMutablePointer<rd_kafka_message_t>) throws {
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        let reason = String(cString: rd_kafka_message_errstr(message))
        if err == RD_KAFKA_RESP_ERR__FATAL {
            throw KafkaError.rdKafka(.consume, err, context: reason)
        }
        logger.log(
            level: ExpectedDisconnects.areExpected(for: client.name) ? .debug : .warning,
            "Kafka consumer error",
            metadata: ["group": "\(configuration.groupID ?? "-")", "error": "\(String(cString: rd_kafka_err2name(err)))", "reason": "\(reason)"])
    }

    /// A record skipped ahead of the expected offset: find out whether
    /// retention deleted the ones in between (gaps also come from compaction
    /// and transaction markers, which are not losses).
    private func checkGap(_ topicPartition: KafkaTopicPartition, expected: Int64, received: Int64) {
        guard let group = configuration.groupID, let lossMonitor else { return }
        guard let (low, _) = try? client.watermarks(topicPartition, timeout: configuration.client.requestTimeout) else { return }
        if low > expected {
            lossMonitor.record(group: group, topicPartition: topicPartition, from: expected, to: min(low, received))
        }
    }

    private static func checkCommittedAgainstLogStart(
        _ partitions: [KafkaTopicPartition], client: RDKafkaClient, tracker: ConsumerPartitionTracker,
        group: String, monitor: DataLossMonitor?, timeout: Duration
    ) {
        guard let committed = try? client.committed(partitions, timeout: timeout) else { return }
        for (topicPartition, offset) in committed {
            guard let (low, _) = try? client.watermarks(topicPartition, timeout: timeout) else { continue }
            guard tracker.setStart(topicPartition, offset: max(offset, low)) else { continue }
            if offset < low {
                monitor?.record(group: group, topicPartition: topicPartition, from: offset, to: low)
            }
        }
    }

    private static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaConsumerRecord {
        let m = message.pointee
        let topic = String(cString: rd_kafka_topic_name(m.rkt))
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var headerValue: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaConsumerRecord(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, headers: headers,
            timestampMilliseconds: timestamp >= 0 ? timestamp : nil)
    }

    /// Commits the given offsets synchronously. Offsets of partitions this
    /// consumer no longer owns are skipped (another member owns them now), and
    /// nothing is committed while a rebalance runs (`commitsHeld`); returns
    /// the offsets that were committed.
    @discardableResult
    public func commit(_ offsets: [KafkaCommitOffset]) async throws -> [KafkaCommitOffset] {
        guard configuration.groupID != nil else {
            throw KafkaError.make(.commit, reason: "a consumer without a group cannot commit")
        }
        let rebalances = tracker.rebalances
        let held = commitsHeld.withLock { held -> Bool in
            guard let hold = held else { return false }
            if rebalances != hold.rebalances || ContinuousClock.now >= hold.until { held = nil }
            return held != nil
        }
        // Nothing committed yet: the caller commits them on a later pass.
        if held { return [] }
        let client = self.client
        let tracker = self.tracker
        return try await RDKafkaClient.offloaded {
            tracker.revocationGate.lock()
            defer { tracker.revocationGate.unlock() }
            let owned = tracker.assigned
            var highest: [KafkaTopicPartition: Int64] = [:]
            for offset in offsets where owned.contains(offset.topicPartition) {
                highest[offset.topicPartition] = max(highest[offset.topicPartition] ?? 0, offset.offset)
            }
            guard !highest.isEmpty else { return [] }
            let list = RDKafkaTopicPartitionList(Array(highest.keys), offsets: highest)
            let err = list.withPointer { pointer in client.withHandle { rd_kafka_commit($0, pointer, 0) } }
            if err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS {
                // The group is rebalancing: a commit sent after its new
                // generation starts is answered ILLEGAL_GENERATION, which
                // loses the assignment (see `commitsHeld`). Wait for it.
                self.holdCommitsUntilRebalanced()
                return []
            }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(.commit, err, context: "commit offsets")
            }
            return highest.map { KafkaCommitOffset(topicPartition: $0.key, offset: $0.value) }
        }
    }

    /// Holds commits until the next rebalance callback (or three session
    /// timeouts, should none come).
    private func holdCommitsUntilRebalanced() {
        commitsHeld.withLock { $0 = (tracker.rebalances, .now + configuration.sessionTimeout * 3) }
    }

    /// Commits the offset after `record`.
    @discardableResult
    public func commit(_ record: KafkaConsumerRecord) async throws -> Bool {
        try await !commit([KafkaCommitOffset(after: record)]).isEmpty
    }

    /// This group's committed offsets for `partitions` (`nil` entries omitted).
    public func committed(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        let client = self.client
        let timeout = configuration.client.requestTimeout
        return try await RDKafkaClient.offloaded { try client.committed(partitions, timeout: timeout) }
    }

    /// Leaves the group (revoking partitions without committing anything
    /// unprocessed) and stops polling. Safe to call more than once.
    public func close() async {
        let shouldClose = lifecycle.withLock { state -> Bool in
            guard state == .open else { return false }
            state = .closing
            return true
        }
        guard shouldClose else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pollQueue.async { [self] in
                leaveGroupSafely()
                continuation.resume()
            }
        }
        lifecycle.withLock { $0 = .closed }
        logger.info("Kafka consumer closed", metadata: ["group": "\(configuration.groupID ?? "-")"])
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes the handle around two librdkafka 2.0.2 faults of cooperative
    /// groups. Runs on the poll queue; records polled here are dropped
    /// uncommitted, so they are delivered again by whoever gets their partition.
    /// - A member closed after joining but before its first assignment
    ///   aborts the process when destroyed (librdkafka#4312, fixed in 2.3.0):
    ///   wait for that assignment first; if it never comes, leak the handle.
    /// - `rd_kafka_consumer_close` can hang when an assignment arrives while
    ///   it runs (librdkafka#4527, fixed in 2.4.0): unsubscribe and let the
    ///   revocation finish first.
    private func leaveGroupSafely() {
        if subscribed.load(ordering: .relaxed), rebalanceProtocol != "EAGER" {
            let deadline = ContinuousClock.now + configuration.sessionTimeout + .seconds(10)
            while tracker.generation == 0, rebalanceProtocol == "COOPERATIVE", ContinuousClock.now < deadline {
                drainPoll()
            }
            if tracker.generation == 0, rebalanceProtocol == "COOPERATIVE" {
                client.mustNotDestroy.store(true, ordering: .relaxed)
                logger.warning("Kafka consumer never got its first assignment; its handle is left open until exit")
            }
            _ = client.withHandle { rd_kafka_unsubscribe($0) }
            let drained = ContinuousClock.now + .seconds(10)
            while !tracker.assigned.isEmpty, ContinuousClock.now < drained { drainPoll() }
        }
        _ = client.withHandle { rd_kafka_consumer_close($0) }
    }

    /// One poll that serves callbacks (the rebalance) and drops what it read.
    private func drainPoll() {
        if let message = client.withHandle({ rd_kafka_consumer_poll($0, 100) }) { rd_kafka_message_destroy(message) }
    }
}

/// The records of a consumer as an `AsyncSequence`. Ends when the consumer
/// closes or the iterating task is cancelled; a fatal client error is thrown.
public struct KafkaConsumerRecords: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerRecord
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var buffer: [KafkaConsumerRecord] = []
        var index = 0

        public mutating func next() async throws -> KafkaConsumerRecord? {
            while index >= buffer.count {
                guard consumer.isOpen, !Task.isCancelled else { return nil }
                buffer = try await consumer.poll()
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}
