import Foundation

/// A registry's own webhook format, turned into registry events: one body
/// (and its headers) in, one outcome per event out, as the Distribution
/// mapper does. What a registry sends that has no ACR action and no opt-in
/// one is dropped, never turned into a wrong ACR action.
public protocol RegistryAdapter: Sendable {
    /// The route segment under `/v1/registries/{registry}/` (`harbor`, `zot`, …).
    static var route: String { get }
    /// Whether its pushes name a tag and no digest (Quay, Docker Hub): ingest
    /// then looks each digest up in the registry's API before producing, and
    /// gives an event without an id one (`Adapters.resolvedID`).
    static var resolvesDigests: Bool { get }
    /// Whether the registry sends a refused request again (Quay does; Docker
    /// Hub never does): when a digest lookup finds no answer, ingest then
    /// answers 503, or else dead-letters the events.
    static var resendsRefusedRequests: Bool { get }
    /// - Parameter headers: the request's headers, names lower-cased.
    /// - Throws: `AdapterError` when the body as a whole is unusable (400).
    func outcomes(body: [UInt8], headers: [String: String], registry: String, location: String) throws(AdapterError) -> [IngestOutcome]
}

extension RegistryAdapter {
    public static var resolvesDigests: Bool { false }
    public static var resendsRefusedRequests: Bool { true }
}

/// A body that is not the registry's format at all.
public struct AdapterError: Error, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// What adapters share.
public enum Adapters {
    /// A stable id for an event the registry gives none: the same fields give
    /// the same id, so a re-sent notification is dropped as a duplicate.
    static func derivedID(_ parts: [String]) -> String {
        // Two 64-bit FNV-1a hashes (different offsets): stable across runs
        // and nodes, which Swift's Hasher is not; an id, not a secret.
        func fnv(_ offset: UInt64) -> UInt64 {
            var hash = offset
            for byte in parts.joined(separator: "\u{0}").utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            return hash
        }
        let hex = String(format: "%016llx%016llx", fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// RFC 3339 (UTC, whole seconds) of seconds since the epoch.
    static func timestamp(seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// An event's checks that every adapter makes: a valid repository, tag
    /// and digest, or the reason it is rejected.
    static func check(repository: String, tag: String?, digest: String?) -> String? {
        guard OCINames.isValidRepository(repository) else { return "repository \"\(repository)\" is not a valid repository name" }
        if let tag, !OCINames.isValidTag(tag) { return "tag \"\(tag)\" is not a valid tag" }
        if let digest, !OCINames.isValidDigest(digest) { return "digest \"\(digest)\" is not a valid digest" }
        return nil
    }
}

extension Adapters {
    /// A header's value copied into every event of a request, cut to `limit`
    /// bytes: one long value must not grow with the number of events.
    static func bounded(_ value: String?, limit: Int = 256) -> String? {
        guard let value else { return nil }
        guard value.utf8.count > limit else { return value }
        var cut = Substring(value)
        while cut.utf8.count > limit { cut.removeLast() }
        return String(cut)
    }

    /// `host[:port]` as a registry names itself, or nil for anything else.
    static func registryHost(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 255,
            value.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-:[]".unicodeScalars.contains($0)) })
        else { return nil }
        return value
    }

    /// The id of an event whose digest was looked up: the same tag and digest
    /// give the same id, so a notification the registry re-sends is dropped
    /// as a duplicate.
    public static func resolvedID(route: String, event: RegistryEvent) -> String {
        derivedID([route, event.registry, event.target.repository, event.target.tag ?? "", event.target.digest ?? ""])
    }
}
