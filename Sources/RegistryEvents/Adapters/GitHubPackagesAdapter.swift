import Foundation

/// GitHub Packages' `package` and `registry_package` webhook events
/// (`X-GitHub-Event`), for container packages on ghcr.io: `published` or
/// `updated` with a tag is a `push` of `<owner>/<package>` (lower-cased, as
/// ghcr.io names it) with the tag's digest; a version without a tag (a
/// platform manifest of a multi-arch push) is an untagged push; other
/// package types, `ping` and anything else are dropped. GitHub sends no
/// deletes. The `X-Hub-Signature-256` check is the route's (it needs the secret).
public struct GitHubPackagesAdapter: RegistryAdapter {
    public static let route = "github"
    public var ingestUntagged: Bool

    public init(ingestUntagged: Bool = false) {
        self.ingestUntagged = ingestUntagged
    }

    public func outcomes(body: [UInt8], headers: [String: String], registry: String, location: String) throws(AdapterError) -> [IngestOutcome] {
        guard let event = headers["x-github-event"] else { throw AdapterError("no X-GitHub-Event header: not a GitHub webhook delivery") }
        guard let root = JSONValue(parsing: body), let object = root.objectValue else {
            throw AdapterError("the body is not a JSON object (a GitHub webhook payload)")
        }
        guard event == "package" || event == "registry_package" else { return [.dropped(reason: .notMapped)] }
        guard let package = object[event]?.objectValue else {
            return [.rejected(reason: "\(event) is missing or not an object", repository: nil)]
        }
        guard ["published", "updated"].contains(object["action"]?.stringValue ?? ""),
            (package["package_type"]?.stringValue ?? "").lowercased() == "container"
        else { return [.dropped(reason: .notMapped)] }
        let owner = package["owner"]?["login"]?.stringValue
        guard let name = package["name"]?.stringValue, let owner else {
            return [.rejected(reason: "\(event).name or \(event).owner.login is missing", repository: nil)]
        }
        let repository = "\(owner)/\(name)".lowercased()
        let version = package["package_version"]
        let tagObject = version?["container_metadata"]?["tag"]
        let tag = tagObject?["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        guard let digest = tagObject?["digest"]?.stringValue ?? version?["version"]?.stringValue else {
            return [.rejected(reason: "\(event).package_version has no container digest", repository: repository)]
        }
        if let reason = Adapters.check(repository: repository, tag: tag, digest: digest) {
            return [.rejected(reason: reason, repository: repository)]
        }
        if tag == nil, !ingestUntagged { return [.dropped(reason: .untaggedPush)] }
        guard let id = headers["x-github-delivery"], !id.isEmpty, id.utf8.count <= RegistryEvent.maxIDBytes else {
            return [.rejected(reason: "the X-GitHub-Delivery header is missing", repository: repository)]
        }
        // GitHub writes 0001-01-01 for times it does not know.
        let time = [version?["updated_at"]?.stringValue, version?["created_at"]?.stringValue].compactMap { $0 }
            .first { Timestamps.isRFC3339($0) && !$0.hasPrefix("0001-") }
        let mediaType = (version?["manifest"]?.stringValue).flatMap { JSONValue(parsing: Array($0.utf8))?["mediaType"]?.stringValue }
        let target = RegistryEvent.Target(
            mediaType: mediaType ?? "", digest: digest, repository: repository, url: version?["package_url"]?.stringValue, tag: tag)
        return [
            .accepted(
                RegistryEvent(
                    id: id, timestamp: time ?? Timestamps.now(), action: .push, registry: registry, location: location, target: target,
                    request: RegistryEvent.Request(id: id, host: "ghcr.io", useragent: headers["user-agent"]),
                    actor: object["sender"]?["login"]?.stringValue.map { RegistryEvent.Actor(name: $0) }))
        ]
    }
}
