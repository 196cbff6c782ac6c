import Foundation

/// Harbor's webhooks, in both payload formats: the default JSON
/// (`{"type":"PUSH_ARTIFACT","occur_at":…,"operator":…,"event_data":{…}}`)
/// and CloudEvents (Harbor 2.8+, structured mode, `harbor.artifact.pushed`, …),
/// told apart by `specversion`. One event per resource:
/// - `PUSH_ARTIFACT` / `harbor.artifact.pushed` with a tag: `push` (a push by
///   digest only with `--ingest-untagged`);
/// - `DELETE_ARTIFACT` / `harbor.artifact.deleted`: `delete`;
/// - everything else (pulls, scans, quotas, replication, retention, legacy
///   chart uploads without a digest): dropped.
/// Harbor sends no media type or size (rendered empty and 0), and charts are
/// OCI artifacts it does not tell apart: a chart's push is a `push`.
public struct HarborAdapter: RegistryAdapter {
    public static let route = "harbor"
    public var ingestUntagged: Bool

    public init(ingestUntagged: Bool = false) {
        self.ingestUntagged = ingestUntagged
    }

    public func outcomes(body: [UInt8], headers: [String: String], registry: String, location: String) throws(AdapterError) -> [IngestOutcome] {
        guard let root = JSONValue(parsing: body), let object = root.objectValue else {
            throw AdapterError("the body is not a JSON object (a Harbor webhook payload)")
        }
        guard let type = object["type"]?.stringValue else { throw AdapterError("\"type\" is missing: not a Harbor webhook payload") }
        let cloudEvent = object["specversion"] != nil
        let data = cloudEvent ? object["data"] : object["event_data"]
        let action: RegistryAction
        switch type {
        case "PUSH_ARTIFACT", "harbor.artifact.pushed": action = .push
        case "DELETE_ARTIFACT", "harbor.artifact.deleted": action = .delete
        case "PULL_ARTIFACT", "harbor.artifact.pulled": return [.dropped(reason: .pull)]
        default: return [.dropped(reason: .notMapped)]
        }
        guard let data = data?.objectValue else {
            return [.rejected(reason: "\(cloudEvent ? "data" : "event_data") is missing or not an object", repository: nil)]
        }
        guard let repository = data["repository"]?["repo_full_name"]?.stringValue
            ?? Self.fullName(data["repository"]?["namespace"]?.stringValue, data["repository"]?["name"]?.stringValue)
        else { return [.rejected(reason: "repository.repo_full_name is missing", repository: nil)] }
        guard let resources = data["resources"]?.arrayValue, !resources.isEmpty else {
            return [.rejected(reason: "resources is missing or empty", repository: repository)]
        }
        let timestamp: String
        if cloudEvent {
            guard let time = object["time"]?.stringValue, Timestamps.isRFC3339(time) else {
                return [.rejected(reason: "time is missing or not an RFC 3339 time", repository: repository)]
            }
            timestamp = time
        } else {
            // Whole seconds from 1970 to 9999: anything else is not a time.
            guard case .number(let seconds) = object["occur_at"] ?? .null, seconds.rounded() == seconds,
                (0...253_402_300_799).contains(seconds)
            else {
                return [.rejected(reason: "occur_at is missing or not a time in seconds since 1970", repository: repository)]
            }
            timestamp = Adapters.timestamp(seconds: seconds)
        }
        if cloudEvent {
            guard let id = object["id"]?.stringValue, !id.isEmpty, id.utf8.count <= RegistryEvent.maxIDBytes - 8 else {
                return [.rejected(reason: "id is missing or longer than \(RegistryEvent.maxIDBytes - 8) bytes", repository: repository)]
            }
        }
        let actor = object["operator"]?.stringValue.map { RegistryEvent.Actor(name: $0) }
        let requestID = object["requestid"]?.stringValue
        return resources.enumerated().map { index, resource -> IngestOutcome in
            let digest = resource["digest"]?.stringValue
            var tag = resource["tag"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            // A push by digest names the digest as its tag.
            if tag == digest || tag?.hasPrefix("sha256:") == true { tag = nil }
            if let reason = Adapters.check(repository: repository, tag: tag, digest: digest) {
                return .rejected(reason: reason, repository: repository)
            }
            guard let digest else { return .rejected(reason: "resources[\(index)].digest is missing", repository: repository) }
            if action == .push, tag == nil, !ingestUntagged { return .dropped(reason: .untaggedPush) }
            // CloudEvents ids are per delivery policy; the default format has none.
            let id = cloudEvent
                ? (object["id"]?.stringValue).map { resources.count > 1 ? "\($0)-\(index)" : $0 }
                : nil
            let target = RegistryEvent.Target(
                mediaType: "", digest: digest, repository: repository,
                url: resource["resource_url"]?.stringValue, tag: action == .delete ? nil : tag)
            return .accepted(
                RegistryEvent(
                    id: id ?? Adapters.derivedID(["harbor", type, timestamp, repository, digest, tag ?? ""]), timestamp: timestamp,
                    action: action, registry: registry, location: location, target: target,
                    request: requestID.map { RegistryEvent.Request(id: $0) }, actor: actor))
        }
    }

    static func fullName(_ namespace: String?, _ name: String?) -> String? {
        guard let name else { return nil }
        return namespace.map { "\($0)/\(name)" } ?? name
    }
}
