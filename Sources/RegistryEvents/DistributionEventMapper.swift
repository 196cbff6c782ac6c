import Foundation

/// Turns Distribution notification events into registry events, ACR style:
/// a manifest push with a tag is a `push` (a `chart_push` when its config is
/// a Helm chart config), a manifest delete is a `delete` (`chart_delete` for a
/// digest known to be a chart), a tag's delete is a `tag_removed` (opt-in);
/// blob events, pulls (GET and HEAD) and mounts are dropped, so one push of
/// a tagged image gives exactly one event per tag.
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
        guard let action = object["action"]?.stringValue else {
            return .rejected(reason: "event.action is missing or not a string", repository: nil)
        }
        guard let target = object["target"]?.objectValue else {
            return .rejected(reason: "event.target is missing or not an object", repository: nil)
        }
        guard let repository = target["repository"]?.stringValue else {
            return .rejected(reason: "event.target.repository is missing or not a string", repository: nil)
        }
        guard OCINames.isValidRepository(repository) else {
            return .rejected(reason: "event.target.repository \"\(repository)\" is not a valid repository name", repository: nil)
        }
        let url = target["url"]?.stringValue
        let mediaType = target["mediaType"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let isBlob = url?.contains("/blobs/") == true || (url == nil && mediaType == "application/octet-stream")
        switch action {
        case "pull": return .dropped(reason: .pull)
        case "mount": return .dropped(reason: .mount)
        case "push", "delete": break
        default: return .dropped(reason: .unknownAction)
        }
        if isBlob { return .dropped(reason: .blobEvent) }

        guard let id = object["id"]?.stringValue, !id.isEmpty else {
            return .rejected(reason: "event.id is missing or empty", repository: repository)
        }
        // Ids are remembered for the dedupe window: their size is bounded.
        guard id.utf8.count <= RegistryEvent.maxIDBytes else {
            return .rejected(reason: "event.id is longer than \(RegistryEvent.maxIDBytes) bytes", repository: repository)
        }
        let tag = target["tag"]?.stringValue
        if let tag, !OCINames.isValidTag(tag) {
            return .rejected(reason: "event.target.tag \"\(tag)\" is not a valid tag", repository: repository)
        }
        // Distribution 3 writes an empty descriptor (digest "", mediaType "",
        // size 0) on a tag's delete: empty means absent.
        let digest = target["digest"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let digest, !OCINames.isValidDigest(digest) {
            return .rejected(reason: "event.target.digest \"\(digest)\" is not a valid digest", repository: repository)
        }
        let timestamp = object["timestamp"]?.stringValue ?? Timestamps.now()
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
                // A tag removed: Distribution 2.8 follows a manifest delete
                // with one per tag that pointed at it, 3.x deletes a tag on
                // its own ({repository, tag}, no digest). Ingest finds the
                // digest in its tag index.
                guard tag != nil else { return .rejected(reason: "event.target has neither digest nor tag on a delete", repository: repository) }
                registryAction = .tagRemoved
                // 3.x's empty descriptor: no size for a tag.
                mapped.size = nil
                mapped.length = nil
                return .accepted(registryEvent(id: id, timestamp: timestamp, action: registryAction, target: mapped, object: object))
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
        return .accepted(registryEvent(id: id, timestamp: timestamp, action: registryAction, target: mapped, object: object))
    }

    /// The registry event, with the envelope event's request, actor and source.
    private func registryEvent(
        id: String, timestamp: String, action: RegistryAction, target: RegistryEvent.Target, object: [String: JSONValue]
    ) -> RegistryEvent {
        let request = object["request"]?.objectValue.map {
            RegistryEvent.Request(
                id: $0["id"]?.stringValue, addr: $0["addr"]?.stringValue, host: $0["host"]?.stringValue,
                method: $0["method"]?.stringValue, useragent: $0["useragent"]?.stringValue)
        }
        let actorName = object["actor"]?["name"]?.stringValue
        let source = object["source"]?.objectValue.map {
            RegistryEvent.Source(addr: $0["addr"]?.stringValue, instanceID: $0["instanceID"]?.stringValue)
        }
        return RegistryEvent(
            id: id, timestamp: timestamp, action: action, registry: registry, location: location, target: target,
            request: request, actor: actorName.map { RegistryEvent.Actor(name: $0) }, source: source)
    }

    static func configDigest(_ target: [String: JSONValue]) -> String? {
        target["references"]?.arrayValue?.first?["digest"]?.stringValue
    }

    /// The config media type, from the manifest's references (sent only
    /// with `notifications.events.includereferences: true`).
    static func configMediaType(_ target: [String: JSONValue]) -> String? {
        target["references"]?.arrayValue?.first?["mediaType"]?.stringValue
    }

    /// `size` and `length` as whole, non-negative numbers (not booleans,
    /// fractions or text); `nil` when either is something else.
    static func sizes(of target: [String: JSONValue]) -> (size: Int64?, length: Int64?)? {
        func whole(_ value: JSONValue?) -> Int64?? {
            guard let value, value != .null else { return .some(nil) }
            guard case .number(let number) = value, number.rounded() == number, number >= 0, number < 0x1p63 else { return nil }
            return .some(Int64(number))
        }
        guard let size = whole(target["size"]), let length = whole(target["length"]) else { return nil }
        return (size, length)
    }
}
