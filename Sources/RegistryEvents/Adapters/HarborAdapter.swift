import Foundation

/// Harbor's webhooks, in both payload formats: the default JSON
/// (`{"type":"PUSH_ARTIFACT","occur_at":…,"operator":…,"event_data":{…}}`)
/// and CloudEvents (Harbor 2.8+, structured mode, `harbor.artifact.pushed`, …),
/// told apart by `specversion`. One event per resource:
/// - `PUSH_ARTIFACT` / `harbor.artifact.pushed` with a tag: `push` (a push by
///   digest only with `--ingest-untagged`);
/// - `DELETE_ARTIFACT` / `harbor.artifact.deleted`: `delete`;
/// - `SCANNING_COMPLETED`, `…_FAILED`, `…_STOPPED` / `harbor.scan.completed`,
///   `….failed`, `….stopped`: `scan_completed` (opt-in) with the scan's
///   result, `succeeded`, `failed` or `stopped`;
/// - everything else (pulls, quotas, replication, retention, legacy chart
///   uploads without a digest): dropped.
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
        case "SCANNING_COMPLETED", "SCANNING_FAILED", "SCANNING_STOPPED", "harbor.scan.completed", "harbor.scan.failed",
            "harbor.scan.stopped":
            action = .scanCompleted
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
            // A scan is of a digest: without a tag it is still the scan's news.
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
                    request: requestID.map { RegistryEvent.Request(id: $0) }, actor: actor,
                    scan: action == .scanCompleted ? Self.scan(type: type, resource: resource, data: data) : nil))
        }
    }

    static func fullName(_ namespace: String?, _ name: String?) -> String? {
        guard let name else { return nil }
        return namespace.map { "\($0)/\(name)" } ?? name
    }

    /// A scan event's result: the vulnerability report's overview (Harbor
    /// keys `scan_overview` by the report's media type), or, for an SBOM scan
    /// (2.11+), `sbom_overview`'s status only.
    static func scan(type: String, resource: JSONValue, data: [String: JSONValue]) -> ScanResult {
        let status: ScanResult.Status =
            type.hasSuffix("FAILED") || type.hasSuffix(".failed") ? .failed
            : type.hasSuffix("STOPPED") || type.hasSuffix(".stopped") ? .stopped : .succeeded
        let scanType = data["scan"]?["scan_type"]?.stringValue ?? (resource["sbom_overview"] != nil && resource["scan_overview"] == nil ? "sbom" : "vulnerability")
        var result = ScanResult(status: status, type: scanType == "sbom" ? "sbom" : "vulnerability")
        let overview: JSONValue?
        if result.type == "sbom" {
            overview = resource["sbom_overview"]
        } else {
            let reports = resource["scan_overview"]?.objectValue ?? [:]
            let key = reports.keys.sorted().first { $0.contains("vulnerability") } ?? reports.keys.sorted().first
            overview = key.flatMap { reports[$0] }
        }
        guard let overview else { return result }
        result.reportId = overview["report_id"]?.stringValue
        result.startTime = overview["start_time"]?.stringValue.flatMap { Timestamps.isRFC3339($0) ? $0 : nil }
        result.endTime = overview["end_time"]?.stringValue.flatMap { Timestamps.isRFC3339($0) ? $0 : nil }
        if let scanner = overview["scanner"]?.objectValue {
            result.scanner = ScanResult.Scanner(
                name: scanner["name"]?.stringValue, vendor: scanner["vendor"]?.stringValue, version: scanner["version"]?.stringValue)
        }
        guard status == .succeeded, result.type == "vulnerability" else { return result }
        result.severity = overview["severity"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let summary = overview["summary"]?.objectValue {
            func count(_ value: JSONValue?) -> Int? {
                guard case .number(let number) = value ?? .null, number >= 0, number <= Double(Int32.max), number.rounded() == number else { return nil }
                return Int(number)
            }
            let bySeverity = summary["summary"]?.objectValue ?? [:]
            // A severity Harbor leaves out had no findings.
            let severity = { (name: String) in count(bySeverity[name]) ?? (bySeverity.isEmpty && summary["total"] == nil ? nil : 0) }
            result.summary = ScanResult.Summary(
                total: count(summary["total"]), fixable: count(summary["fixable"]), critical: severity("Critical"),
                high: severity("High"), medium: severity("Medium"), low: severity("Low"), unknown: severity("Unknown"))
        }
        return result
    }
}
