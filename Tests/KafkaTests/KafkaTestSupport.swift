@_spi(Testing) @_spi(Internal) import Kafka
import Logging
import Synchronization
import Testing

let testLogger: Logger = {
    var logger = Logger(label: "kafka-tests")
    logger.logLevel = .warning
    return logger
}()

/// Runs `body` with a fresh embedded cluster, shut down afterwards.
/// - Parameter refusingBroker: keep the last broker free, for `refuseProduce(to:)`.
func withEmbeddedCluster<T>(
    brokers: Int = 1, refusingBroker: Bool = false, _ body: (EmbeddedKafkaCluster) async throws -> T
) async throws -> T {
    let cluster = try refusingBroker
        ? EmbeddedKafkaCluster.reservingRefusingBroker(brokers: brokers, logger: testLogger)
        : EmbeddedKafkaCluster(brokers: brokers, logger: testLogger)
    defer { cluster.shutdown() }
    return try await body(cluster)
}

func withProducer<T>(
    _ cluster: EmbeddedKafkaCluster, configure: (inout KafkaProducerConfiguration) -> Void = { _ in },
    logger: Logger = testLogger, _ body: (KafkaProducer) async throws -> T
) async throws -> T {
    var configuration = KafkaProducerConfiguration(client: cluster.testClientConfiguration)
    configure(&configuration)
    let producer = try KafkaProducer(configuration: configuration, logger: logger)
    do {
        let result = try await body(producer)
        await producer.shutdown()
        return result
    } catch {
        await producer.shutdown()
        throw error
    }
}

func makeGroupConsumer(
    _ cluster: EmbeddedKafkaCluster, group: String, topics: [String], lossMonitor: DataLossMonitor? = nil
) throws -> KafkaConsumer {
    var configuration = KafkaConsumerConfiguration(client: cluster.testClientConfiguration, groupID: group)
    configuration.sessionTimeout = .seconds(6)
    let consumer = try KafkaConsumer(configuration: configuration, lossMonitor: lossMonitor, logger: testLogger)
    try consumer.subscribe(topics)
    return consumer
}

/// Polls until `count` records arrived or `limit` passes; what arrived is returned either way.
func collect(_ consumer: KafkaConsumer, count: Int, limit: Duration = .seconds(30)) async throws -> [KafkaConsumerRecord] {
    var records: [KafkaConsumerRecord] = []
    let deadline = ContinuousClock.now + limit
    while records.count < count, ContinuousClock.now < deadline {
        records += try await consumer.poll(timeout: .milliseconds(200))
    }
    return records
}

/// Waits until `condition` holds or `limit` passes; returns whether it held.
func eventually(limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

extension KafkaConsumerRecord {
    var valueString: String { String(decoding: value, as: UTF8.self) }
    var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

func record(_ topic: String, key: String?, value: String, headers: [KafkaHeader] = []) -> KafkaProducerRecord {
    KafkaProducerRecord(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
}

/// Keeps every log entry it is given, so a test can check what was logged
/// (and how often) instead of reading output.
struct CapturingLogHandler: LogHandler {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    final class Store: Sendable {
        private let entries = Mutex<[Entry]>([])
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        var all: [Entry] { entries.withLock { $0 } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append(
            Entry(level: event.level, message: event.message.description, metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
    }

    /// A logger that records into a fresh store, and the store.
    static func logger(_ label: String = "kafka-tests-captured") -> (Logger, Store) {
        let store = Store()
        return (Logger(label: label) { _ in CapturingLogHandler(store: store) }, store)
    }
}
