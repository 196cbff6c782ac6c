import Foundation

/// Docker Hub's repository webhooks: `push_data` {`tag`, `pusher`,
/// `pushed_at`} and `repository` {`repo_name`, …}, one per pushed tag, a
/// `push`. Docker Hub sends no digest, media type or size: the digest is
/// looked up in the registry (`resolvesDigests`). It sends no deletes, no
/// event id and no signature (protect the route with the ingest token).
/// `callback_url` is a legacy field Docker Hub no longer answers: it is never
/// called.
public struct DockerHubAdapter: RegistryAdapter {
    public static let route = "dockerhub"
    public static let resolvesDigests = true
    /// Docker Hub documents no retries: a lookup with no answer dead-letters the push.
    public static let resendsRefusedRequests = false

    public init() {}

    public func outcomes(body: [UInt8], headers: [String: String], registry: String, location: String) throws(AdapterError) -> [IngestOutcome] {
        guard let root = JSONValue(parsing: body), let object = root.objectValue else {
            throw AdapterError("the body is not a JSON object (a Docker Hub webhook payload)")
        }
        guard let pushData = object["push_data"]?.objectValue, let repositoryObject = object["repository"]?.objectValue else {
            throw AdapterError("\"push_data\" or \"repository\" is missing: not a Docker Hub webhook payload")
        }
        guard var repository = repositoryObject["repo_name"]?.stringValue else {
            return [.rejected(reason: "repository.repo_name is missing or not a string", repository: nil)]
        }
        // Docker Hub's official images are `library/<name>` in the registry.
        if !repository.contains("/") { repository = "library/" + repository }
        guard let tag = pushData["tag"]?.stringValue, !tag.isEmpty else {
            return [.rejected(reason: "push_data.tag is missing or empty", repository: repository)]
        }
        if let reason = Adapters.check(repository: repository, tag: tag, digest: nil) {
            return [.rejected(reason: reason, repository: repository)]
        }
        let timestamp: String
        // Seconds since 1970, an integer or (older payloads) a float.
        if case .number(let seconds) = pushData["pushed_at"] ?? .null, (0...253_402_300_799).contains(seconds) {
            timestamp = Adapters.timestamp(seconds: seconds.rounded(.down))
        } else {
            timestamp = Timestamps.now()
        }
        return [
            .accepted(
                RegistryEvent(
                    // pushed_at tells a re-push of the same digest from the same webhook sent twice.
                    id: pushData["pushed_at"] == nil ? "" : Adapters.derivedID([Self.route, registry, repository, tag, timestamp]),
                    timestamp: timestamp, action: .push, registry: registry, location: location,
                    target: RegistryEvent.Target(repository: repository, tag: tag),
                    request: RegistryEvent.Request(host: "registry-1.docker.io", method: "PUT", useragent: Adapters.bounded(headers["user-agent"])),
                    actor: Adapters.bounded(pushData["pusher"]?.stringValue).map { RegistryEvent.Actor(name: $0) }))
        ]
    }
}
