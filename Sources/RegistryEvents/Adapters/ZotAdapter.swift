import Foundation

/// zot's events extension: CloudEvents over HTTP, in binary mode (what zot
/// sends: `Ce-Type`, `Ce-Id`, `Ce-Time` headers, the data as the body) or
/// structured mode (`application/cloudevents+json`).
/// - `zotregistry.image.updated` by tag: `push` (`chart_push` when the
///   manifest's config is a Helm chart's); by digest only with `--ingest-untagged`;
/// - `zotregistry.image.deleted` by digest: `delete`; by tag: `tag_removed`;
/// - lint failures, scans, repository creation: dropped.
public struct ZotAdapter: RegistryAdapter {
    public static let route = "zot"
    public var ingestUntagged: Bool

    public init(ingestUntagged: Bool = false) {
        self.ingestUntagged = ingestUntagged
    }

    public func outcomes(body: [UInt8], headers: [String: String], registry: String, location: String) throws(AdapterError) -> [IngestOutcome] {
        guard let root = JSONValue(parsing: body), let object = root.objectValue else {
            throw AdapterError("the body is not a JSON object (a zot CloudEvent, or its data in binary mode)")
        }
        // Binary mode: the attributes are headers; structured: members.
        let binary = headers["ce-specversion"] != nil
        func attribute(_ name: String) -> String? { binary ? headers["ce-\(name)"] : object[name]?.stringValue }
        guard attribute("specversion") != nil, let type = attribute("type") else {
            throw AdapterError("not a CloudEvent: no ce-specversion and ce-type headers, and no specversion and type members")
        }
        guard let data = binary ? object : object["data"]?.objectValue else {
            return [.rejected(reason: "data is missing or not an object", repository: nil)]
        }
        switch type {
        case "zotregistry.image.updated", "zotregistry.image.deleted": break
        default: return [.dropped(reason: .notMapped)]
        }
        guard let repository = data["name"]?.stringValue else { return [.rejected(reason: "data.name is missing", repository: nil)] }
        guard let reference = data["reference"]?.stringValue, let digest = data["digest"]?.stringValue else {
            return [.rejected(reason: "data.reference or data.digest is missing", repository: repository)]
        }
        let tag = OCINames.isValidDigest(reference) ? nil : reference
        if let reason = Adapters.check(repository: repository, tag: tag, digest: digest) {
            return [.rejected(reason: reason, repository: repository)]
        }
        guard let id = attribute("id"), !id.isEmpty, id.utf8.count <= RegistryEvent.maxIDBytes else {
            return [.rejected(reason: "the event id is missing or longer than \(RegistryEvent.maxIDBytes) bytes", repository: repository)]
        }
        let timestamp = attribute("time") ?? Timestamps.now()
        guard Timestamps.isRFC3339(timestamp) else {
            return [.rejected(reason: "time \"\(timestamp)\" is not an RFC 3339 time", repository: repository)]
        }
        let manifest = data["manifest"]?.stringValue
        var target = RegistryEvent.Target(
            mediaType: data["mediaType"]?.stringValue, size: manifest.map { Int64($0.utf8.count) }, digest: digest,
            length: manifest.map { Int64($0.utf8.count) }, repository: repository, tag: tag)
        let action: RegistryAction
        if type == "zotregistry.image.updated" {
            if tag == nil, !ingestUntagged { return [.dropped(reason: .untaggedPush)] }
            if let manifest, JSONValue(parsing: Array(manifest.utf8))?["config"]?["mediaType"]?.stringValue
                == DistributionEventMapper.helmConfigMediaType
            {
                action = .chartPush
                target.name = repository.split(separator: "/").last.map(String.init) ?? repository
                target.version = tag
            } else {
                action = .push
            }
        } else {
            action = tag == nil ? .delete : .tagRemoved
            if action == .delete { target.size = nil; target.length = nil }
        }
        let request = data["request"]?.objectValue.map {
            RegistryEvent.Request(addr: $0["addr"]?.stringValue, method: $0["method"]?.stringValue, useragent: $0["useragent"]?.stringValue)
        }
        return [
            .accepted(
                RegistryEvent(
                    id: id, timestamp: timestamp, action: action, registry: registry, location: location, target: target, request: request,
                    actor: data["actor"]?["name"]?.stringValue.map { RegistryEvent.Actor(name: $0) }))
        ]
    }
}
