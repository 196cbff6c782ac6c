import Hummingbird

/// Requires `Authorization: Bearer <token>` when a token is configured; the
/// comparison takes the same time whatever the mismatch. The token is never
/// logged.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let realm: String
    /// What the token is called and where a client takes it from, so the
    /// 401 says what to send: "admin token", "the CLI's --admin-token or …".
    let tokenName: String
    let whereToFindIt: String
    /// Also take the token as the `access_token` query parameter (RFC 6750
    /// §2.3), for senders that cannot set a header (Quay, Docker Hub): the
    /// URL they are given then carries it. Never logged (`RequestLogMiddleware`).
    var acceptsQueryParameter = false

    /// The management routes' token (`serve --admin-token`).
    static func admin(_ token: String?) -> Self {
        Self(token: token, realm: "management", tokenName: "admin token", whereToFindIt: "the CLI's --admin-token or REGEVENTS_ADMIN_TOKEN")
    }

    /// The ingest routes' token (`serve --ingest-token`), which registries send.
    static func ingest(_ token: String?, acceptsQueryParameter: Bool = false) -> Self {
        Self(
            token: token, realm: "ingest", tokenName: "ingest token",
            whereToFindIt: "the token serve was given with --ingest-token or REGEVENTS_INGEST_TOKEN",
            acceptsQueryParameter: acceptsQueryParameter)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        var presented = request.headers[.authorization].flatMap { value -> String? in
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1])
        }
        if presented == nil, acceptsQueryParameter { presented = request.uri.queryParameters.get("access_token") }
        guard let presented, Self.constantTimeEquals(Array(presented.utf8), Array(token.utf8)) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"\(realm)\""
            let problem = presented == nil ? "this route needs the \(tokenName)" : "wrong \(tokenName)"
            let how = acceptsQueryParameter
                ? "send Authorization: Bearer <\(tokenName)>, or add ?access_token=<\(tokenName)> to the URL the registry posts to"
                : "send Authorization: Bearer <\(tokenName)>"
            throw APIError(.unauthorized, code: "Unauthorized", message: "\(problem): \(how) (\(whereToFindIt))", headers: headers)
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
