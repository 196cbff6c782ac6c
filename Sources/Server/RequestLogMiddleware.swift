import Hummingbird

/// Logs each request's method and path at debug level, never its query:
/// Quay's and Docker Hub's routes take the ingest token as `access_token`
/// there, and a topic's publish may carry its key. (Hummingbird's
/// `LogRequestsMiddleware` logs the whole URI.)
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        context.logger.debug(
            "Request", metadata: ["hb.request.path": .string(request.uri.path), "hb.request.method": .string(request.method.rawValue)])
        return try await next(request, context)
    }
}
