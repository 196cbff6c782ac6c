import Foundation

/// Turns Distribution notification events into registry events, ACR style:
/// a manifest push with a tag is a `push` (a `chart_push` when its config is
/// a Helm chart config), a manifest delete is a `delete` (`chart_delete` for a
/// digest known to be a chart); blob events, pulls (GET and HEAD), mounts and
/// the per-tag deletes that follow a manifest delete are dropped, so one push
/// of a tagged image gives exactly one event per tag.
public struct DistributionEventMapper: Sendable {
    public static let helmConfigMediaType = "application/vnd.cncf.helm.config.v1+json"

    public var registry: String
    public var location: String
    /// Keep pushes by digest (no tag) as `push` events.
    public var ingestUntagged: Bool
    /// The chart a digest was pushed as, if it was (so its delete is a
    /// `chart_delete` with the chart's name, version and media type).
    public var knownChart: @Sendable (String) -> KnownChart?

    public init(
        registry: String, location: String, ingestUntagged: Bool = false,
        knownChart: @escaping @Sendable (String) -> KnownChart? = { _ in nil }
    ) {
        self.registry = registry
        self.location = location
        self.ingestUntagged = ingestUntagged
        self.knownChart = knownChart
    }

    public func map(_ event: DistributionEvent) -> IngestOutcome {
        guard let object = event.object else { return .rejected(reason: "event is not a JSON object", repository: nil) }
        guard let action = object["action"] as? String else {
            return .rejected(reason: "event.action is missing or not a string", repository: nil)
        }
        guard let target = object["target"] as? [String: Any] else {
            return .rejected(reason: "event.target is missing or not an object", repository: nil)
        }
        guard let repository = target["repository"] as? String else {
            return .rejected(reason: "event.target.repository is missing or not a string", repository: nil)
        }
        guard OCINames.isValidRepository(repository) else {
            return .rejected(reason: "event.target.repository \"\(repository)\" is not a valid repository name", repository: nil)
        }
        let url = target["url"] as? String
        let mediaType = target["mediaType"] as? String
        let isBlob = url?.contains("/blobs/") == true || (url == nil && mediaType == "application/octet-stream")
        switch action {
        case "pull": return .dropped(reason: .pull)
        case "mount": return .dropped(reason: .mount)
        case "push", "delete": break
        default: return .dropped(reason: .unknownAction)
        }
        if isBlob { return .dropped(reason: .blobEvent) }

        guard let id = object["id"] as? String, !id.isEmpty else {
            return .rejected(reason: "event.id is missing or empty", repository: repository)
        }
        let tag = target["tag"] as? String
        if let tag, !OCINames.isValidTag(tag) {
            return .rejected(reason: "event.target.tag \"\(tag)\" is not a valid tag", repository: repository)
        }
        let digest = target["digest"] as? String
        if let digest, !OCINames.isValidDigest(digest) {
            return .rejected(reason: "event.target.digest \"\(digest)\" is not a valid digest", repository: repository)
        }
        let timestamp = (object["timestamp"] as? String) ?? Timestamps.now()
        guard Timestamps.isRFC3339(timestamp) else {
            return .rejected(reason: "event.timestamp \"\(timestamp)\" is not an RFC 3339 time", repository: repository)
        }
        guard let sizes = Self.sizes(of: target) else {
            return .rejected(reason: "event.target.size and length must be whole numbers", repository: repository)
        }

        var mapped = RegistryEvent.Target(
            mediaType: mediaType, size: sizes.size, digest: digest, length: sizes.length,
            repository: repository, url: url, tag: tag)
        let registryAction: RegistryAction
        if action == "push" {
            guard digest != nil else { return .rejected(reason: "event.target.digest is missing on a push", repository: repository) }
            if tag == nil && !ingestUntagged { return .dropped(reason: .untaggedPush) }
            if Self.configMediaType(target) == Self.helmConfigMediaType {
                registryAction = .chartPush
                mapped.name = repository.split(separator: "/").last.map(String.init) ?? repository
                mapped.version = tag
                mapped.configDigest = Self.configDigest(target).flatMap { OCINames.isValidDigest($0) ? $0 : nil }
            } else {
                registryAction = .push
            }
        } else {
            guard let digest else {
                // Distribution follows a manifest delete with one delete per
                // tag that pointed at it ({repository, tag}, no digest).
                return .dropped(reason: .tagDeleteFollowingManifestDelete)
            }
            if let chart = knownChart(digest) {
                registryAction = .chartDelete
                mapped.name = chart.name
                mapped.version = chart.version
                mapped.mediaType = mapped.mediaType ?? chart.mediaType
            } else {
                registryAction = .delete
            }
        }
        let request = (object["request"] as? [String: Any]).map {
            RegistryEvent.Request(
                id: $0["id"] as? String, addr: $0["addr"] as? String, host: $0["host"] as? String,
                method: $0["method"] as? String, useragent: $0["useragent"] as? String)
        }
        let actorName = (object["actor"] as? [String: Any])?["name"] as? String
        let source = (object["source"] as? [String: Any]).map {
            RegistryEvent.Source(addr: $0["addr"] as? String, instanceID: $0["instanceID"] as? String)
        }
        return .accepted(
            RegistryEvent(
                id: id, timestamp: timestamp, action: registryAction, registry: registry, location: location, target: mapped,
                request: request, actor: actorName.map { RegistryEvent.Actor(name: $0) }, source: source))
    }

    static func configDigest(_ target: [String: Any]) -> String? {
        ((target["references"] as? [Any])?.first as? [String: Any])?["digest"] as? String
    }

    /// The config media type, from the manifest's references (sent only
    /// with `notifications.events.includereferences: true`).
    static func configMediaType(_ target: [String: Any]) -> String? {
        ((target["references"] as? [Any])?.first as? [String: Any])?["mediaType"] as? String
    }

    private struct Sizes: Decodable {
        let size: Int64?
        let length: Int64?
    }

    /// `size` and `length` as whole numbers (JSONDecoder refuses booleans,
    /// fractions and text, which JSONSerialization's NSNumbers would blur).
    static func sizes(of target: [String: Any]) -> (size: Int64?, length: Int64?)? {
        let subset = target.filter { $0.key == "size" || $0.key == "length" }
        guard !subset.isEmpty else { return (nil, nil) }
        guard let data = try? JSONSerialization.data(withJSONObject: subset),
            let sizes = try? JSONDecoder().decode(Sizes.self, from: data),
            (sizes.size ?? 0) >= 0, (sizes.length ?? 0) >= 0
        else { return nil }
        return (sizes.size, sizes.length)
    }
}
