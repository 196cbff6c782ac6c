import Delivery
import Hummingbird
import Kafka
import Store

/// Liveness and readiness. `/healthz` answers while the process runs;
/// `/readyz` only while Kafka answers a metadata request and the store a
/// query and the dispatchers report no problem, so a load balancer stops sending what could not be handled.
struct HealthController<Context: RequestContext> {
    let producer: KafkaProducer
    let store: any WebhookStore
    /// Problems the dispatchers report (Kafka refusing outcome records,
    /// directories not loaded); `nil` when the server runs without delivery.
    let deliveryHealth: DeliveryHealth?

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("healthz", use: health)
        router.get("readyz", use: ready)
    }

    struct Status: ResponseEncodable {
        let status: String
    }

    @Sendable func health(_ request: Request, context: Context) async throws -> Status {
        Status(status: "ok")
    }

    @Sendable func ready(_ request: Request, context: Context) async throws -> Status {
        do {
            _ = try await producer.metadata(timeout: .seconds(2))
        } catch {
            throw APIError.unavailable("Kafka is not reachable: \(error)", code: "KafkaUnavailable")
        }
        do {
            try await store.ping()
        } catch {
            throw APIError.unavailable("the store is not reachable: \(error)", code: "StoreUnavailable")
        }
        if let reasons = deliveryHealth?.reasons, !reasons.isEmpty {
            throw APIError.unavailable("delivery is not ready: \(reasons.joined(separator: "; "))", code: "DeliveryNotReady")
        }
        return Status(status: "ready")
    }
}
