import AsyncHTTPClient
import NIOCore

/// Every outbound request of the server goes through here: the target
/// guard checks the URL's host, then the request goes out on a client
/// pinned to the checked address (`PinnedHTTPClients`), so what was checked
/// is what is connected to.
public struct GuardedHTTPClient: Sendable {
    /// For targets with nothing to pin (address literals, the guard off).
    public let httpClient: HTTPClient
    public let targetGuard: TargetGuard
    let pinned: PinnedHTTPClients

    public init(httpClient: HTTPClient, pinned: PinnedHTTPClients, targetGuard: TargetGuard) {
        self.httpClient = httpClient
        self.pinned = pinned
        self.targetGuard = targetGuard
    }

    /// Throws `TargetGuard.Refusal` before any connection is made, or what
    /// the client throws.
    public func execute(_ request: HTTPClientRequest, timeout: Duration) async throws -> HTTPClientResponse {
        let target = try await targetGuard.check(url: request.url)
        let client = pinned.client(for: target, fallback: httpClient)
        return try await client.execute(request, timeout: .milliseconds(timeout.wholeMilliseconds))
    }
}

extension GuardedHTTPClient {
    /// Every target allowed, nothing pinned: for tests whose endpoints are on loopback.
    public static func allowingPrivateTargets(_ httpClient: HTTPClient) -> GuardedHTTPClient {
        GuardedHTTPClient(
            httpClient: httpClient, pinned: PinnedHTTPClients(configuration: .init(), retireAfter: .seconds(60)),
            targetGuard: TargetGuard(allowPrivate: true))
    }
}
