import Hummingbird

/// Requires `Authorization: Bearer <token>` when a token is configured; the
/// comparison takes the same time whatever the mismatch. The token is never
/// logged.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let realm: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let presented = request.headers[.authorization].flatMap { value -> String? in
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1])
        }
        guard let presented, Self.constantTimeEquals(Array(presented.utf8), Array(token.utf8)) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"\(realm)\""
            throw APIError(
                .unauthorized, code: "Unauthorized", message: "this route needs Authorization: Bearer <token>", headers: headers)
        }
        return try await next(request, context)
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
