import Hummingbird
import Kafka

/// Liveness and readiness. `/healthz` answers while the process runs;
/// `/readyz` only while Kafka answers a metadata request, so a load balancer
/// stops sending registry notifications that could not be acknowledged.
struct HealthController<Context: RequestContext> {
    let producer: KafkaProducer

    func addRoutes(to router: Router<Context>) {
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
            return Status(status: "ready")
        } catch {
            throw APIError.unavailable("Kafka is not reachable: \(error)", code: "KafkaUnavailable")
        }
    }
}
