import CRdKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent, `acks=all` producer whose `send` returns only once the
/// cluster acknowledged the record.
///
/// Many sends may be in flight at once: each registers a continuation under a
/// numeric id passed to librdkafka as the message opaque, and a dedicated poll
/// thread resumes it when the delivery report event arrives. As a `Service`,
/// it flushes on graceful shutdown; used outside a `ServiceGroup`, call
/// `shutdown()` when done.
///
/// A fatal error (an idempotence guarantee librdkafka can no longer keep)
/// ends a librdkafka handle for good. The producer then fails the sends in
/// flight on it with that error (`isFatal`; the record may or may not have
/// been written, so the caller decides whether to send again) and replaces
/// the handle with a new one built from the same configuration, so later
/// sends work without the caller doing anything. The poll thread is the only
/// one that replaces the handle; the state machine owns which one is current.
public final class KafkaProducer: Service, Sendable {
    private let state: Mutex<ProducerStateMachine>
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger
    /// Signalled when the poll thread returns: `shutdown()` waits for it, so
    /// nothing of this producer runs once it says it stopped (the embedded
    /// cluster may go next).
    private let pollThreadFinished = DispatchSemaphore(value: 0)

    /// - Throws: a `.configuration` `KafkaError` when an extra property would
    ///   weaken acks or idempotence (`KafkaProducerConfiguration.validate()`),
    ///   or librdkafka's own message for a bad property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        let handle = try ProducerHandle.make(configuration: configuration, generation: 0)
        state = Mutex(ProducerStateMachine(handle: handle))
        let thread = Thread { [self] in
            pollEvents()
            pollThreadFinished.signal()
        }
        thread.name = "regevents.kafka.producer"
        thread.start()
        logger.info(
            "Kafka producer started",
            metadata: ["bootstrap": "\(configuration.client.bootstrapServers)", "client": "\(handle.client.name)"])
    }

    /// How many times a fatal error made this producer replace its librdkafka handle.
    public var recreations: Int { state.withLock { $0.recreations } }

    /// The handle sends go to now.
    var currentHandle: ProducerHandle { state.withLock { $0.handle } }

    /// Sends waiting for their delivery report.
    var inFlight: Int { state.withLock { $0.inFlight } }

    /// Produces `record` and waits for its acknowledgement.
    ///
    /// A full local queue, or a handle being replaced after a fatal error, is
    /// waited out (up to the message timeout). Once handed to librdkafka a
    /// record cannot be taken back, so cancelling the calling task does not
    /// cancel the send.
    ///
    /// - Throws: a `KafkaError`; `isFatal` when the handle failed fatally while
    ///   the record was in flight (it may or may not have been written; the
    ///   producer has replaced the handle, so sending again works).
    public func send(_ record: KafkaProducerRecord) async throws -> KafkaDeliveryReceipt {
        let deadline = ContinuousClock.now + configuration.messageTimeout
        while true {
            do {
                return try await sendOnce(record)
            } catch let error as KafkaError where Self.notTaken(error) {
                // librdkafka did not take the record: trying again cannot write it twice.
                guard ContinuousClock.now < deadline else { throw error }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// Produces every record and returns their receipts in order. Records are
    /// handed to librdkafka one after another, in order (so one key's records
    /// keep their order in their partition), and are all in flight together;
    /// the caller waits once, for all their reports. It waits for all of
    /// them even when one fails, then throws the first error, so a caller
    /// never reports a half-produced batch as done.
    public func send(contentsOf records: [KafkaProducerRecord]) async throws -> [KafkaDeliveryReceipt] {
        let batch = await enqueue(contentsOf: records)
        var receipts: [KafkaDeliveryReceipt] = []
        receipts.reserveCapacity(records.count)
        var firstError: (any Error)?
        for result in await batch.results() {
            switch result {
            case .success(let receipt): receipts.append(receipt)
            case .failure(let error): firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return receipts
    }

    /// Hands every record to librdkafka, in order, and returns without
    /// waiting for their acknowledgements: the batch reports them
    /// (`BatchDelivery.whenComplete` or `results()`). A full local queue is
    /// waited out as in `send`; a record that cannot be handed over fails
    /// its slot.
    public func enqueue(contentsOf records: [KafkaProducerRecord]) async -> BatchDelivery {
        let batch = BatchDelivery(count: records.count)
        for (index, record) in records.enumerated() {
            await enqueue(record, into: batch, at: index)
        }
        return batch
    }

    /// A refusal that means librdkafka did not take the record: a full
    /// queue, or a handle that failed fatally and is being replaced.
    private static func notTaken(_ error: KafkaError) -> Bool {
        error.code == .produce && (error.isFatal || error.rdKafkaCode == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
    }

    private func sendOnce(_ record: KafkaProducerRecord) async throws -> KafkaDeliveryReceipt {
        try await withCheckedThrowingContinuation { continuation in
            switch state.withLock({ $0.register(.single(continuation)) }) {
            case .reject:
                continuation.resume(throwing: KafkaError.make(.shutdown, reason: "the producer is shutting down"))
            case .produce(let id, let handle):
                do {
                    try produce(record, id: id, on: handle)
                    state.withLock { $0.handedOver(id) }
                } catch {
                    state.withLock { $0.complete(id) }?.resume(throwing: error)
                }
            }
        }
    }

    /// Hands `record` to librdkafka as slot `index` of `batch`, waiting out
    /// a full queue or a handle being replaced (up to the message timeout);
    /// a record it cannot hand over completes its slot with the error.
    private func enqueue(_ record: KafkaProducerRecord, into batch: BatchDelivery, at index: Int) async {
        let deadline = ContinuousClock.now + configuration.messageTimeout
        while true {
            switch state.withLock({ $0.register(.batch(batch, index: index)) }) {
            case .reject:
                batch.complete(index, with: .failure(KafkaError.make(.shutdown, reason: "the producer is shutting down")))
                return
            case .produce(let id, let handle):
                do {
                    try produce(record, id: id, on: handle)
                    state.withLock { $0.handedOver(id) }
                    return
                } catch let error as KafkaError where Self.notTaken(error) && ContinuousClock.now < deadline {
                    // Not taken: unregister and try again. A fatal error
                    // leaves sends not yet handed over alone, so the slot is
                    // still open.
                    _ = state.withLock { $0.complete(id) }
                    try? await Task.sleep(for: .milliseconds(2))
                } catch {
                    state.withLock { $0.complete(id) }?.resume(throwing: error)
                    return
                }
            }
        }
    }

    private func produce(_ record: KafkaProducerRecord, id: UInt, on handle: ProducerHandle) throws {
        let client = handle.client
        // Headers go as one list we own until the record is enqueued
        // (VTYPE_HEADERS): with VTYPE_HEADER, librdkafka 2.0.2 frees them
        // twice when the enqueue fails (a refused topic), librdkafka#4627.
        // On failure the list is still ours. `header_add` copies names and values.
        let headers: OpaquePointer? = record.headers.isEmpty ? nil : rd_kafka_headers_new(record.headers.count)
        for header in record.headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count) }
            } else {
                _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
            }
        }
        let err: rd_kafka_resp_err_t = record.topic.withCString { topic in
            record.value.withUnsafeBytes { value in
                withOptionalBytes(record.key) { key in
                    var arguments: (rd_kafka_vu_t, rd_kafka_vu_t, rd_kafka_vu_t, rd_kafka_vu_t, rd_kafka_vu_t, rd_kafka_vu_t, rd_kafka_vu_t) =
                        (rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t())
                    arguments.0.vtype = RD_KAFKA_VTYPE_TOPIC
                    arguments.0.u.cstr = topic
                    arguments.1.vtype = RD_KAFKA_VTYPE_PARTITION
                    arguments.1.u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                    arguments.2.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    arguments.2.u.i = RD_KAFKA_MSG_F_COPY
                    arguments.3.vtype = RD_KAFKA_VTYPE_VALUE
                    arguments.3.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    arguments.3.u.mem.size = value.count
                    arguments.4.vtype = RD_KAFKA_VTYPE_OPAQUE
                    arguments.4.u.ptr = UnsafeMutableRawPointer(bitPattern: id)
                    var count = 5
                    // Optional arguments fill the slots in order.
                    withUnsafeMutableBytes(of: &arguments) { raw in
                        let slots = raw.bindMemory(to: rd_kafka_vu_t.self)
                        if let key {
                            slots[count].vtype = RD_KAFKA_VTYPE_KEY
                            slots[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                            slots[count].u.mem.size = key.count
                            count += 1
                        }
                        if let headers {
                            slots[count].vtype = RD_KAFKA_VTYPE_HEADERS
                            slots[count].u.headers = headers
                            count += 1
                        }
                    }
                    let error = withUnsafePointer(to: &arguments) { pointer in
                        pointer.withMemoryRebound(to: rd_kafka_vu_t.self, capacity: 7) { arguments in
                            client.withHandle { rd_kafka_produceva($0, arguments, count) }
                        }
                    }
                    defer { if let error { rd_kafka_error_destroy(error) } }
                    return error.map { rd_kafka_error_code($0) } ?? RD_KAFKA_RESP_ERR_NO_ERROR
                }
            }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if let headers { rd_kafka_headers_destroy(headers) }
            if let (fatal, reason) = handle.raisedFatalError() {
                // A handle that failed fatally refuses every record with the
                // underlying error (not `_FATAL`); the poll thread replaces it.
                throw KafkaError.fatal(
                    .produce, fatal, reason: "cannot enqueue record for \(record.topic): the producer failed fatally (\(reason))")
            }
            throw KafkaError.rdKafka(.produce, err, context: "cannot enqueue record for \(record.topic)")
        }
    }

    /// Drains delivery reports and errors until the producer is finished, and
    /// replaces the handle after a fatal error. Runs on its own thread so a
    /// report resumes its sender without waiting for a poll interval.
    private func pollEvents() {
        while true {
            switch state.withLock({ $0.nextPollAction() }) {
            case .terminate:
                return
            case .poll(let handle):
                drainNextEvent(of: handle, timeoutMilliseconds: 100)
            case .recreate(let broken, let failedAttempts):
                if failedAttempts > 0 {
                    // Back off (0.2 s, doubling, up to 5 s) between failed attempts.
                    Thread.sleep(forTimeInterval: min(5, 0.1 * Double(1 << min(failedAttempts, 6))))
                }
                recreate(replacing: broken)
            }
        }
    }

    private func drainNextEvent(of handle: ProducerHandle, timeoutMilliseconds: Int32) {
        // The event must be destroyed while its handle still exists.
        withExtendedLifetime(handle) {
            guard let event = handle.nextEvent(timeoutMilliseconds: timeoutMilliseconds) else { return }
            defer { rd_kafka_event_destroy(event) }
            switch Int32(rd_kafka_event_type(event)) {
            case Int32(RD_KAFKA_EVENT_DR):
                resumeSenders(of: event, on: handle)
            case Int32(RD_KAFKA_EVENT_ERROR):
                if rd_kafka_event_error_is_fatal(event) != 0 {
                    handleFatalError(on: handle)
                } else {
                    let err = rd_kafka_event_error(event)
                    let expected = ExpectedDisconnects.areExpected(for: handle.client.name)
                    logger.log(
                        level: expected ? .debug : .warning,
                        "Kafka producer error",
                        metadata: [
                            "error": "\(String(cString: rd_kafka_err2name(err)))",
                            "reason": "\(String(cString: rd_kafka_event_error_string(event)))",
                        ])
                }
            default:
                break
            }
        }
    }

    private func resumeSenders(of event: OpaquePointer, on handle: ProducerHandle) {
        var fatal: KafkaError?
        while let message = rd_kafka_event_message_next(event) {
            let id = UInt(bitPattern: message.pointee._private)
            let err = message.pointee.err
            let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
            let result: Result<KafkaDeliveryReceipt, any Error>
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                result = .success(KafkaDeliveryReceipt(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset))
            } else if fatal != nil || err == RD_KAFKA_RESP_ERR__FATAL || handle.raisedFatalError() != nil {
                // After a fatal error every failure (purged, refused) is that error.
                let error = fatal ?? fatalKafkaError(of: handle)
                fatal = error
                result = .failure(error)
            } else {
                result = .failure(KafkaError.rdKafka(.delivery, err, context: "delivery to \(topic) failed"))
            }
            state.withLock { $0.complete(id) }?.resume(with: result)
        }
        if fatal != nil { handleFatalError(on: handle) }
    }

    /// The error a send fails with when `handle` failed fatally.
    private func fatalKafkaError(of handle: ProducerHandle) -> KafkaError {
        let (err, reason) = handle.raisedFatalError() ?? (RD_KAFKA_RESP_ERR__FATAL, "fatal error")
        return KafkaError.fatal(
            .delivery, err,
            reason: "the producer failed fatally (\(reason)); the record may or may not have been written, "
                + "and the producer is being recreated")
    }

    /// Fails every send in flight on `handle` with its fatal error, once per
    /// handle; the poll loop then replaces the handle.
    private func handleFatalError(on handle: ProducerHandle) {
        let error = fatalKafkaError(of: handle)
        let action = state.withLock { $0.fatalErrorRaised(onGeneration: handle.generation) }
        guard case .fail(let sends, let recreating) = action else { return }
        logger.critical(
            "Kafka producer failed fatally; failing its in-flight sends\(recreating ? " and recreating it" : " (shutting down)")",
            metadata: [
                "error": "\(error.rdKafkaName ?? "-")", "reason": "\(error.reason)", "client": "\(handle.client.name)",
                "failedSends": "\(sends.count)", "generation": "\(handle.generation)",
            ])
        for send in sends { send.resume(throwing: error) }
    }

    /// Builds a new handle from the same configuration and makes it current;
    /// the broken one is destroyed once nothing holds it.
    private func recreate(replacing broken: ProducerHandle) {
        do {
            let handle = try ProducerHandle.make(configuration: configuration, generation: broken.generation + 1)
            let recreations = state.withLock { state -> Int in
                _ = state.recreated(handle)
                return state.recreations
            }
            logger.notice(
                "Kafka producer recreated after a fatal error",
                metadata: ["client": "\(handle.client.name)", "recreations": "\(recreations)"])
        } catch {
            state.withLock { $0.recreationFailed() }
            logger.error("Kafka producer could not be recreated; trying again", metadata: ["error": "\(error)"])
        }
    }

    /// Waits for outstanding records (up to `timeout`), then stops. Sends still
    /// unacknowledged after that fail with a `.shutdown` error.
    public func shutdown(timeout: Duration = .seconds(10)) async {
        guard state.withLock({ $0.beginShutdown() }) else { return }
        let inFlight = state.withLock { $0.inFlight }
        logger.info("Kafka producer flushing", metadata: ["inFlight": "\(inFlight)"])
        let handle = currentHandle
        let err = try? await RDKafkaClient.offloaded {
            handle.client.withHandle { rd_kafka_flush($0, Int32(timeout.wholeMilliseconds)) }
        }
        let abandoned = state.withLock { $0.finish() }
        let finished = pollThreadFinished
        _ = try? await RDKafkaClient.offloaded { finished.wait() }
        for continuation in abandoned {
            continuation.resume(throwing: KafkaError.make(.shutdown, reason: "producer shut down before the record was acknowledged"))
        }
        if let err, err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("Kafka producer flush incomplete", metadata: ["unacknowledged": "\(abandoned.count)"])
        } else {
            logger.info("Kafka producer stopped")
        }
    }

    /// Cluster metadata through this producer's connection (readiness checks).
    public func metadata(timeout: Duration = .seconds(2)) async throws -> [KafkaTopicMetadata] {
        let client = currentHandle.client
        return try await RDKafkaClient.offloaded { try client.metadata(timeout: timeout) }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}

private func withOptionalBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
