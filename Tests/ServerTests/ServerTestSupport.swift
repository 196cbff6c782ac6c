import Delivery
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Prometheus
import RegistryEvents
import Server
import Store
import Testing

let serverTestLogger: Logger = {
    var logger = Logger(label: "server-tests")
    logger.logLevel = .critical
    return logger
}()

/// Settings of the test server beyond the common ones.
struct TestServerOptions {
    var insecureNoAuth = false
    var subscriptionQuota = 500
    var customTopicQuota = 100
}

/// A server wired to a fresh embedded cluster, as `regevents serve` wires it,
/// tested through the router.
func withTestServer(
    partitions: Int = 2, ingest: IngestSettings = IngestSettings(), messageTimeout: Duration = .seconds(30),
    adminToken: String? = nil, webhookQuota: Int = 500, deliveryHealth: DeliveryHealth? = nil,
    options: TestServerOptions = TestServerOptions(),
    _ body: @escaping @Sendable (ServerDependencies, any TestClientProtocol) async throws -> Void
) async throws {
    var configuration = ServerConfiguration(partitions: partitions, ingest: ingest)
    configuration.kafkaStartupTimeout = .seconds(5)
    configuration.kafkaMessageTimeout = messageTimeout
    configuration.adminToken = adminToken
    configuration.webhookQuota = webhookQuota
    configuration.insecureNoAuth = options.insecureNoAuth
    configuration.subscriptionQuota = options.subscriptionQuota
    configuration.customTopicQuota = options.customTopicQuota
    let connection = try await KafkaConnection.connect(configuration, logger: serverTestLogger)
    let producer = try connection.makeProducer(logger: serverTestLogger)
    var wired = ServerDependencies(
        configuration: configuration, connection: connection, producer: producer, metrics: PrometheusCollectorRegistry(),
        http: nil, store: try SQLiteStore.inMemory())
    wired.deliveryHealth = deliveryHealth
    let dependencies = wired
    let app = Application(router: buildRouter(dependencies), logger: serverTestLogger)
    do {
        try await app.test(.router) { client in try await body(dependencies, client) }
    } catch {
        await producer.shutdown()
        connection.embeddedCluster?.shutdown()
        throw error
    }
    await producer.shutdown()
    connection.embeddedCluster?.shutdown()
}

struct ErrorBody: Decodable, Equatable {
    struct Inner: Decodable, Equatable {
        let code: String
        let message: String
    }
    let error: Inner
}

extension TestResponse {
    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }
}

/// Reads every record of `topic` from the beginning, outside any group.
func readTopic(_ dependencies: ServerDependencies, _ topic: String, expecting count: Int) async throws -> [KafkaConsumerRecord] {
    let client = dependencies.connection.clientConfiguration
    let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: nil), logger: serverTestLogger)
    let partitions = dependencies.configuration.partitions
    try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map {
        (KafkaTopicPartition(topic: topic, partition: Int32($0)), KafkaConsumer.StartOffset.beginning)
    }))
    var records: [KafkaConsumerRecord] = []
    let deadline = ContinuousClock.now + .seconds(20)
    while records.count < count, ContinuousClock.now < deadline {
        records += try await consumer.poll(timeout: .milliseconds(200))
    }
    // One more short poll shows whether anything beyond the expected arrived.
    records += try await consumer.poll(timeout: .milliseconds(300))
    await consumer.close()
    return records.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
}

func fixture(_ name: String) throws -> ByteBuffer {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/distribution/\(name)")
    return ByteBuffer(bytes: Array(try Data(contentsOf: url)))
}

extension KafkaConsumerRecord {
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any])
    }
    func headerValue(_ key: String) -> String? { header(key)?.stringValue }
}

extension HTTPFields {
    /// What every management request with a body sends.
    static let json: HTTPFields = [.contentType: "application/json"]
}
