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
public final class KafkaProducer: Service, Sendable {
    private let client: RDKafkaClient
    private let eventQueue: SendablePointer
    private let state = Mutex(ProducerStateMachine())
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger

    /// - Throws: a `.configuration` `KafkaError` when an extra property would
    ///   weaken acks or idempotence (`KafkaProducerConfiguration.validate()`),
    ///   or librdkafka's own message for a bad property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        client = try RDKafkaClient.make(kind: .producer, properties: configuration.properties) { conf in
            // Delivery reports and errors arrive as events on the main queue,
            // which our poll thread drains (the event API needs no C closure context).
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR))
        }
        eventQueue = SendablePointer(client.withHandle { rd_kafka_queue_get_main($0) })
        let thread = Thread { [self] in pollDeliveryReports() }
        thread.name = "regevents.kafka.producer"
        thread.start()
        logger.info(
            "Kafka producer started",
            metadata: ["bootstrap": "\(configuration.client.bootstrapServers)", "client": "\(client.name)"])
    }

    deinit {
        rd_kafka_queue_destroy(eventQueue.pointer)
    }

    /// Produces `record` and waits for its acknowledgement.
    ///
    /// A full local queue is waited out (up to the message timeout). Once
    /// handed to librdkafka a record cannot be taken back, so cancelling the
    /// calling task does not cancel the send.
    public func send(_ record: KafkaProducerRecord) async throws -> KafkaDeliveryReceipt {
        try await send(record, enqueued: nil)
    }

    /// - Parameter enqueued: fired once librdkafka holds the record (or the
    ///   send gave up), so a caller can enqueue the next record after it.
    private func send(_ record: KafkaProducerRecord, enqueued: EnqueueSignal?) async throws -> KafkaDeliveryReceipt {
        defer { enqueued?.fire() }
        let deadline = ContinuousClock.now + configuration.messageTimeout
        while true {
            do {
                return try await sendOnce(record, enqueued: enqueued)
            } catch let error as KafkaError where error.rdKafkaCode == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue {
                guard ContinuousClock.now < deadline else { throw error }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// Produces every record and returns their receipts in order. Records are
    /// handed to librdkafka one after another, in order (so one key's records
    /// keep their order in their partition), and are all in flight together.
    /// It waits for all of them even when one fails, then throws the first
    /// error, so a caller never reports a half-produced batch as done.
    public func send(contentsOf records: [KafkaProducerRecord]) async throws -> [KafkaDeliveryReceipt] {
        // Sends are not cancellable once enqueued, so plain tasks lose nothing here.
        var sends: [Task<KafkaDeliveryReceipt, any Error>] = []
        sends.reserveCapacity(records.count)
        for record in records {
            await withCheckedContinuation { (enqueued: CheckedContinuation<Void, Never>) in
                let signal = EnqueueSignal { enqueued.resume() }
                sends.append(Task { try await self.send(record, enqueued: signal) })
            }
        }
        var receipts: [KafkaDeliveryReceipt] = []
        receipts.reserveCapacity(records.count)
        var firstError: (any Error)?
        for send in sends {
            do {
                receipts.append(try await send.value)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return receipts
    }

    private func sendOnce(_ record: KafkaProducerRecord, enqueued: EnqueueSignal?) async throws -> KafkaDeliveryReceipt {
        try await withCheckedThrowingContinuation { continuation in
            switch state.withLock({ $0.register(continuation) }) {
            case .reject:
                continuation.resume(throwing: KafkaError.make(.shutdown, reason: "the producer is shutting down"))
            case .produce(let id):
                do {
                    try produce(record, id: id)
                    enqueued?.fire()
                } catch {
                    state.withLock { $0.complete(id) }?.resume(throwing: error)
                }
            }
        }
    }

    private func produce(_ record: KafkaProducerRecord, id: UInt) throws {
        var cStrings: [UnsafeMutablePointer<CChar>] = []
        defer { cStrings.forEach { free($0) } }
        let topic = strdup(record.topic)!
        cStrings.append(topic)
        let headerNames = record.headers.map { header -> UnsafeMutablePointer<CChar> in
            let name = strdup(header.key)!
            cStrings.append(name)
            return name
        }
        let err: rd_kafka_resp_err_t = record.value.withUnsafeBytes { value in
            withOptionalBytes(record.key) { key in
                withHeaderValues(record.headers) { headerValues in
                    var arguments: [rd_kafka_vu_t] = []
                    var argument = rd_kafka_vu_t()
                    argument.vtype = RD_KAFKA_VTYPE_TOPIC
                    argument.u.cstr = UnsafePointer(topic)
                    arguments.append(argument)
                    argument = rd_kafka_vu_t()
                    argument.vtype = RD_KAFKA_VTYPE_PARTITION
                    argument.u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                    arguments.append(argument)
                    argument = rd_kafka_vu_t()
                    argument.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    argument.u.i = RD_KAFKA_MSG_F_COPY
                    arguments.append(argument)
                    argument = rd_kafka_vu_t()
                    argument.vtype = RD_KAFKA_VTYPE_VALUE
                    argument.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    argument.u.mem.size = value.count
                    arguments.append(argument)
                    if let key {
                        argument = rd_kafka_vu_t()
                        argument.vtype = RD_KAFKA_VTYPE_KEY
                        argument.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        argument.u.mem.size = key.count
                        arguments.append(argument)
                    }
                    argument = rd_kafka_vu_t()
                    argument.vtype = RD_KAFKA_VTYPE_OPAQUE
                    argument.u.ptr = UnsafeMutableRawPointer(bitPattern: id)
                    arguments.append(argument)
                    for (index, name) in headerNames.enumerated() {
                        argument = rd_kafka_vu_t()
                        argument.vtype = RD_KAFKA_VTYPE_HEADER
                        argument.u.header.name = UnsafePointer(name)
                        argument.u.header.val = headerValues[index]?.baseAddress
                        argument.u.header.size = headerValues[index].map { $0.count } ?? -1
                        arguments.append(argument)
                    }
                    let error = client.withHandle { rd_kafka_produceva($0, arguments, arguments.count) }
                    defer { if let error { rd_kafka_error_destroy(error) } }
                    return error.map { rd_kafka_error_code($0) } ?? RD_KAFKA_RESP_ERR_NO_ERROR
                }
            }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.produce, err, context: "cannot enqueue record for \(record.topic)")
        }
    }

    /// Drains delivery reports until the producer is finished. Runs on its own
    /// thread so a report resumes its sender without waiting for a poll interval.
    private func pollDeliveryReports() {
        while !state.withLock({ $0.isFinished }) {
            guard let event = rd_kafka_queue_poll(eventQueue.pointer, 100) else { continue }
            defer { rd_kafka_event_destroy(event) }
            switch Int32(rd_kafka_event_type(event)) {
            case Int32(RD_KAFKA_EVENT_DR):
                resumeSenders(of: event)
            case Int32(RD_KAFKA_EVENT_ERROR):
                let err = rd_kafka_event_error(event)
                let reason = String(cString: rd_kafka_event_error_string(event))
                let fatal = rd_kafka_event_error_is_fatal(event) != 0
                logger.log(
                    level: fatal ? .critical : .warning, "Kafka producer error",
                    metadata: ["error": "\(String(cString: rd_kafka_err2name(err)))", "reason": "\(reason)"])
            default:
                break
            }
        }
    }

    private func resumeSenders(of event: OpaquePointer) {
        while let message = rd_kafka_event_message_next(event) {
            let id = UInt(bitPattern: message.pointee._private)
            let result: Result<KafkaDeliveryReceipt, any Error>
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                result = .success(
                    KafkaDeliveryReceipt(
                        topic: String(cString: rd_kafka_topic_name(message.pointee.rkt)),
                        partition: message.pointee.partition, offset: message.pointee.offset))
            } else {
                let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
                result = .failure(KafkaError.rdKafka(.delivery, message.pointee.err, context: "delivery to \(topic) failed"))
            }
            state.withLock { $0.complete(id) }?.resume(with: result)
        }
    }

    /// Waits for outstanding records (up to `timeout`), then stops. Sends still
    /// unacknowledged after that fail with a `.shutdown` error.
    public func shutdown(timeout: Duration = .seconds(10)) async {
        guard state.withLock({ $0.beginShutdown() }) else { return }
        let inFlight = state.withLock { $0.inFlight }
        logger.info("Kafka producer flushing", metadata: ["inFlight": "\(inFlight)"])
        let client = self.client
        let err = try? await RDKafkaClient.offloaded {
            client.withHandle { rd_kafka_flush($0, Int32(timeout.wholeMilliseconds)) }
        }
        let abandoned = state.withLock { $0.finish() }
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
        let client = self.client
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

/// Gives every header value a stable buffer for the duration of the produce call.
private func withHeaderValues<T>(_ headers: [KafkaHeader], _ body: ([UnsafeRawBufferPointer?]) -> T) -> T {
    let buffers = headers.map { header -> UnsafeMutableRawBufferPointer? in
        guard let value = header.value else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: value.count, alignment: 1)
        buffer.copyBytes(from: value)
        return buffer
    }
    defer { buffers.forEach { $0?.deallocate() } }
    return body(buffers.map { $0.map { UnsafeRawBufferPointer($0) } })
}

/// Fires its action once, however often it is fired.
final class EnqueueSignal: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = Mutex(action)
    }

    func fire() {
        action.withLock { action in
            defer { action = nil }
            return action
        }?()
    }
}
