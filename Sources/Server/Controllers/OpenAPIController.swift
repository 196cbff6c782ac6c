import Hummingbird
import NIOCore

/// `GET /openapi.json`: the HTTP API's OpenAPI 3.1 document
/// (docs/openapi.yaml, embedded by scripts/openapi-json). Needs no token: it
/// describes the API and holds nothing of it.
struct OpenAPIController<Context: RequestContext> {
    func addRoutes(to router: RouterGroup<Context>) {
        router.get("openapi.json") { _, _ -> Response in
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
            response.headers[.contentType] = "application/json; charset=utf-8"
            return response
        }
    }
}
