import AsyncHTTPClient
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Prometheus
import RegistryEvents
import Server
import Store
import Synchronization
import Testing

let serverTestLogger: Logger = {
    var logger = Logger(label: "server-tests")
    logger.logLevel = .critical
    return logger
}()

/// Settings of the test server beyond the common ones.
struct TestServerOptions {
    /// Deliveries and handshakes may reach loopback (the endpoint sink);
    /// false keeps serve's default target guard.
    var allowPrivateTargets = true
    var insecureNoAuth = false
    var subscriptionQuota = 500
    var customTopicQuota = 100
}

/// A server composed by the production composition (`composeServer`, as
/// `regevents serve` runs it: a fresh embedded cluster, a store in a temporary
/// directory, the dispatchers), tested through its router.
func withTestServer(
    partitions: Int = 2, ingest: IngestSettings = IngestSettings(), messageTimeout: Duration = .seconds(30),
    adminToken: String? = nil, webhookQuota: Int = 500, options: TestServerOptions = TestServerOptions(),
    _ body: @escaping @Sendable (ServerDependencies, any TestClientProtocol) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-server-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    var configuration = ServerConfiguration(store: .sqlite(directory: directory.path), partitions: partitions, ingest: ingest)
    configuration.kafkaStartupTimeout = .seconds(5)
    configuration.kafkaMessageTimeout = messageTimeout
    configuration.adminToken = adminToken
    configuration.webhookQuota = webhookQuota
    configuration.insecureNoAuth = options.insecureNoAuth
    configuration.subscriptionQuota = options.subscriptionQuota
    configuration.customTopicQuota = options.customTopicQuota
    configuration.delivery.targetGuard = TargetGuard(allowPrivate: options.allowPrivateTargets)
    try await EndpointSink.start()
    let dependencies = try await composeServer(configuration: configuration, metrics: PrometheusCollectorRegistry(), logger: serverTestLogger)
    let app = buildApplication(dependencies, logger: serverTestLogger)
    try await app.test(.router) { client in try await body(dependencies, client) }
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

/// An HTTP endpoint on loopback for the test server's subscriptions: it
/// answers a validation handshake with 200 and no `validationResponse`
/// (so the subscription awaits manual validation, as Event Grid's would),
/// consents to CloudEvents' abuse-protection OPTIONS, and takes deliveries.
/// One per test process, on a port picked when first named.
enum EndpointSink {
    static let port: Int = {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }()

    /// `http://127.0.0.1:<port><path>`.
    static func url(_ path: String = "/eg") -> String { "http://127.0.0.1:\(port)\(path)" }

    private static let running = Mutex<Task<Void, any Error>?>(nil)

    /// Starts it once; later calls return at once.
    static func start() async throws {
        let ready = running.withLock { running -> Bool in
            guard running == nil else { return true }
            running = Task { try await serve() }
            return false
        }
        if ready { return }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            // Any answer (a GET is not one of its routes) means it listens.
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: url("/probe")), timeout: .seconds(1))) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func serve() async throws {
        let router = Router()
        for path: RouterPath in ["/", "**"] {
            router.on(path, method: .options) { _, _ -> Response in
                Response(status: .ok, headers: [HTTPField.Name("WebHook-Allowed-Origin")!: "*"])
            }
            router.post(path) { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: serverTestLogger)
        try await app.run()
    }
}
