import Hummingbird
import Logging

/// Turns every error into the JSON error body of DESIGN.md: our `APIError`s
/// as they are, Hummingbird's own (unknown route, bad method, body too large,
/// undecodable JSON) with a matching code, anything else a 500 with no details
/// (the details go to the log).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.translate(error, request: request).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try APIError(error.status, code: Self.code(for: error.status), message: Self.message(for: error.status, request: request))
                .response(from: request, context: context)
        } catch {
            context.logger.error(
                "Unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return try APIError(.internalServerError, code: "InternalError", message: "internal error; see the server log")
                .response(from: request, context: context)
        }
    }

    static func translate(_ error: HTTPError, request: Request) -> APIError {
        APIError(
            error.status, code: code(for: error.status), message: error.body ?? message(for: error.status, request: request),
            headers: error.headers)
    }

    static func message(for status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        case .notFound: "no route for \(request.method) \(request.uri.path)"
        case .methodNotAllowed: "\(request.method) is not allowed on \(request.uri.path)"
        case .contentTooLarge: "the request body is too large"
        default: status.reasonPhrase
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .badRequest: "BadRequest"
        case .unauthorized: "Unauthorized"
        case .forbidden: "Forbidden"
        case .notFound: "NotFound"
        case .methodNotAllowed: "MethodNotAllowed"
        case .conflict: "Conflict"
        case .contentTooLarge: "PayloadTooLarge"
        case .unsupportedMediaType: "UnsupportedMediaType"
        case .serviceUnavailable: "ServiceUnavailable"
        default: status.code < 500 ? "ClientError" : "InternalError"
        }
    }
}
