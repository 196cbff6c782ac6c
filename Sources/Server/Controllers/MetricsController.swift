import Hummingbird
import Prometheus

/// `GET /metrics` in the Prometheus text format.
struct MetricsController<Context: RequestContext> {
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(4096)
            registry.emit(into: &buffer)
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
            response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        }
    }
}
