import Foundation

/// Quay's repository notifications ("Webhook POST", no body template). Quay
/// names no event; they are told apart by their fields:
/// - `repo_push` (`updated_tags`): one `push` per tag. Quay sends no digest,
///   media type, size, time or pusher: the digest is looked up in the
///   registry (`resolvesDigests`), the time is when it arrived;
/// - the Test Notification of `repo_push` (it adds `pruned_image_count`,
///   which real pushes never carry): dropped, or it would report pushes of
///   `latest` and `foo`;
/// - builds, vulnerabilities, mirroring, image expiry, quotas: dropped.
/// Quay sends no deletes at all.
public struct QuayAdapter: RegistryAdapter {
    public static let route = "quay"
    public static let resolvesDigests = true

    public init() {}

    public func outcomes(body: [UInt8], headers: [String: String], registry: String, location: String) throws(AdapterError) -> [IngestOutcome] {
        guard let root = JSONValue(parsing: body), let object = root.objectValue else {
            throw AdapterError("the body is not a JSON object (a Quay notification)")
        }
        guard object["namespace"] != nil || object["repository"] != nil else {
            throw AdapterError("neither \"repository\" nor \"namespace\": not a Quay notification")
        }
        guard let tags = object["updated_tags"] else { return [.dropped(reason: .notMapped)] }
        if object["pruned_image_count"] != nil { return [.dropped(reason: .testNotification)] }
        guard let repository = object["repository"]?.stringValue else {
            return [.rejected(reason: "repository is missing or not a string", repository: nil)]
        }
        guard let list = tags.arrayValue, !list.isEmpty else {
            return [.rejected(reason: "updated_tags is not a non-empty array", repository: repository)]
        }
        // Copied into every event of the request: only a real host name, and a bounded user agent.
        let host = Adapters.registryHost(object["docker_url"]?.stringValue.map { String($0.prefix { $0 != "/" }) })
        let userAgent = Adapters.bounded(headers["user-agent"])
        let received = Timestamps.now()
        return list.enumerated().map { index, value -> IngestOutcome in
            guard let tag = value.stringValue else {
                return .rejected(reason: "updated_tags[\(index)] is not a string", repository: repository)
            }
            if let reason = Adapters.check(repository: repository, tag: tag, digest: nil) {
                return .rejected(reason: reason, repository: repository)
            }
            // The id is set once the digest is known (the same push re-sent, the same id).
            return .accepted(
                RegistryEvent(
                    id: "", timestamp: received, action: .push, registry: registry, location: location,
                    target: RegistryEvent.Target(repository: repository, tag: tag),
                    request: RegistryEvent.Request(host: host, method: "PUT", useragent: userAgent)))
        }
    }
}
