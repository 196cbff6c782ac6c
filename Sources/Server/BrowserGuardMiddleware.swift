import Foundation
import HTTPTypes
import Hummingbird

/// Keeps a web page the user happens to visit from driving this server
/// through the user's browser.
///
/// - Any request carrying an `Origin` other than the server's own (the
///   scheme aside, the host and port it was sent to, or `--public-url`'s) is
///   refused (403): browsers send one on every cross-site POST, PUT, PATCH
///   and DELETE, including the "simple" ones that need no CORS preflight,
///   and a page on another port of localhost is another site.
/// - A request body on these routes must be JSON (`application/json` or a
///   `+json` type; 415 otherwise): a cross-site form or `text/plain` fetch
///   cannot send one without a preflight, which this server never grants.
/// - When a token is missing (`checkHost`), a `Host` that is not the
///   listen address, `localhost` or a loopback address is refused (421):
///   a DNS-rebinding page reaches a loopback port under its own name.
///
/// Non-browser clients (the CLI, `az`, Azure's SDKs, curl, registries)
/// send no `Origin`, name the host they connect to, and send JSON.
struct BrowserGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Lower-cased host names (no port) this server answers to.
    let allowedHosts: Set<String>
    let checkHost: Bool
    /// Bodies must be JSON (management routes; ingest takes registries' own types).
    let requireJSONBodies: Bool

    /// `--public-url`'s host and port, a same-origin page's other name.
    let publicAuthority: (host: String, port: Int?)?

    init(listenHost: String, publicURL: String?, checkHost: Bool, requireJSONBodies: Bool) {
        var hosts: Set<String> = ["localhost", "127.0.0.1", "::1"]
        if !["0.0.0.0", "::", ""].contains(listenHost) { hosts.insert(listenHost.lowercased()) }
        let publicComponents = publicURL.flatMap { URLComponents(string: $0) }
        if let host = publicComponents?.host { hosts.insert(host.lowercased()) }
        allowedHosts = hosts
        publicAuthority = publicComponents?.host.map { ($0.lowercased(), publicComponents?.port) }
        self.checkHost = checkHost
        self.requireJSONBodies = requireJSONBodies
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if checkHost, let authority = request.headers[Self.hostField] ?? request.head.authority,
            !allowedHosts.contains(Self.split(authority).host)
        {
            throw APIError(
                .misdirectedRequest, code: "HostNotAllowed",
                message: "this server answers only to its own address, localhost and 127.0.0.1 while --admin-token or --ingest-token is not set")
        }
        if let origin = request.headers[.origin], !isSameOrigin(origin, request: request) {
            throw APIError(.forbidden, code: "CrossOriginRefused", message: "requests from web pages of other sites are refused")
        }
        if requireJSONBodies, [.post, .put, .patch].contains(request.method), Self.hasBody(request),
            !Self.isJSON(request.headers[.contentType])
        {
            throw APIError(
                .unsupportedMediaType, code: "UnsupportedMediaType", message: "send the body as JSON: Content-Type: application/json")
        }
        return try await next(request, context)
    }

    /// Whether a browser's `Origin` is this server as the request reached
    /// it (same host and port), or as `--public-url` names it.
    func isSameOrigin(_ origin: String, request: Request) -> Bool {
        guard let scheme = origin.range(of: "://") else { return false }  // "null" and the like
        let page = Self.split(String(origin[scheme.upperBound...]))
        if let authority = request.headers[Self.hostField] ?? request.head.authority, Self.matches(page, Self.split(authority)) {
            return true
        }
        if let publicAuthority, Self.matches(page, publicAuthority) { return true }
        return false
    }

    /// Same host; same port, a missing port standing for the scheme's default.
    static func matches(_ a: (host: String, port: Int?), _ b: (host: String, port: Int?)) -> Bool {
        guard a.host == b.host else { return false }
        switch (a.port, b.port) {
        case (let left?, let right?): return left == right
        case (let port?, nil), (nil, let port?): return port == 80 || port == 443
        case (nil, nil): return true
        }
    }

    /// `Example.com:8080` → (`example.com`, 8080); `[::1]` → (`::1`, nil).
    static func split(_ authority: String) -> (host: String, port: Int?) {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let close = lowered.firstIndex(of: "]") {
            let host = String(lowered[lowered.index(after: lowered.startIndex)..<close])
            let rest = lowered[lowered.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let parts = lowered.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) : nil)
    }

    /// HTTP/1's `Host` as a plain field (the server's codec moves it to `authority`).
    static var hostField: HTTPField.Name { HTTPField.Name("Host")! }

    static func hasBody(_ request: Request) -> Bool {
        if let length = request.headers[.contentLength] { return length != "0" }
        return request.headers[.transferEncoding] != nil
    }

    /// `application/json`, or any `+json` type, parameters allowed.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.split(separator: ";", maxSplits: 1)[0].trimmingSpaces.lowercased()
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }


}

/// What every management route passes: the admin token, then JSON bodies only.
struct ManagementMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: BearerTokenMiddleware<Context>
    let browserGuard: BrowserGuardMiddleware<Context>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await token.handle(request, context: context) { request, context in
            try await browserGuard.handle(request, context: context, next: next)
        }
    }
}
