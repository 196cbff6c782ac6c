import AsyncHTTPClient
import Delivery
import ServiceLifecycle

/// The process's outbound HTTP: one client configuration, deliveries pinned
/// to checked addresses, chart-config reads with their own few pins. A
/// service so that its clients close on shutdown, after the dispatchers
/// (it starts before them, so it stops after them).
final class OutboundHTTP: Service, Sendable {
    private let client: HTTPClient
    private let deliveryPins: PinnedHTTPClients
    private let chartPins: PinnedHTTPClients
    /// Webhook and subscription deliveries, handshakes, pings, dead-letter POSTs.
    let deliveries: GuardedHTTPClient
    /// Chart-config reads go to hosts an event names: their own few pins,
    /// so made-up names cannot push the deliveries' clients out.
    let chartReads: GuardedHTTPClient
    /// The operations webhook: the operator's own endpoint, often on a
    /// private network, so private addresses are allowed.
    let operations: GuardedHTTPClient

    init(_ delivery: DeliveryConfiguration) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(5)
        // A backstop only: each attempt's own deadline covers everything.
        configuration.timeout.read = .seconds(delivery.attemptTimeout.components.seconds)
        // The per-endpoint concurrency limit: at most this many deliveries to
        // one host at once; the rest queue for a connection.
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: delivery.connectionsPerHost)
        configuration.proxy = delivery.egressProxy
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        // Connections go to the address the guard checked (DNS rebinding).
        deliveryPins = PinnedHTTPClients(configuration: configuration, retireAfter: delivery.attemptTimeout + .seconds(30))
        chartPins = PinnedHTTPClients(configuration: configuration, retireAfter: .seconds(5), capacity: 32)
        deliveries = GuardedHTTPClient(httpClient: client, pinned: deliveryPins, targetGuard: delivery.targetGuard)
        chartReads = GuardedHTTPClient(httpClient: client, pinned: chartPins, targetGuard: delivery.targetGuard)
        var operatorGuard = delivery.targetGuard
        operatorGuard.allowPrivate = true
        operations = GuardedHTTPClient(httpClient: client, pinned: deliveryPins, targetGuard: operatorGuard)
    }

    func run() async throws {
        try? await gracefulShutdown()
        await deliveryPins.shutdown()
        await chartPins.shutdown()
        try? await client.shutdown()
    }
}
