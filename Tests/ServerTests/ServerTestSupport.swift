import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Prometheus
import RegistryEvents
import Server
import Testing

let serverTestLogger: Logger = {
    var logger = Logger(label: "server-tests")
    logger.logLevel = .critical
    return logger
}()

/// A server wired to a fresh embedded cluster, as `regevents serve` wires it,
/// tested through the router.
func withTestServer(
    partitions: Int = 2, _ body: @escaping @Sendable (ServerDependencies, any TestClientProtocol) async throws -> Void
) async throws {
    var configuration = ServerConfiguration(partitions: partitions)
    configuration.kafkaStartupTimeout = .seconds(5)
    let connection = try await KafkaConnection.connect(configuration, logger: serverTestLogger)
    let producer = try connection.makeProducer(logger: serverTestLogger)
    let dependencies = ServerDependencies(
        configuration: configuration, connection: connection, producer: producer, metrics: PrometheusCollectorRegistry())
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
