import Foundation

/// A filter key (`data.target.repository`, `Subject`, `EventType`…) resolved
/// against a whole event envelope, the way Event Grid reads it: dotted
/// segments, matched ignoring case.
///
/// A subscription keeps its filters when its delivery schema changes, so an
/// envelope key written for one schema also finds its counterpart in the
/// other (`Topic` ↔ `source`, `EventType` ↔ `type`, `EventTime` ↔ `time`).
/// `ID`/`id` and `DataVersion`/`dataversion` need no alias: they differ only
/// in case.
struct EventKeyPath: Sendable, Hashable {
    let segments: [String]

    init(_ key: String) {
        segments = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// The value the key names, `nil` when the event has no such member.
    /// A JSON null comes back as `.null`: callers decide what null means.
    func value(in event: JSONValue) -> JSONValue? {
        if let direct = event.value(at: segments) { return direct }
        // Aliases and extensions exist only for envelope attributes, never inside `data`.
        guard segments.count == 1, let name = segments.first else { return nil }
        if let alias = Self.envelopeAliases[name.lowercased()], let aliased = event.value(at: [alias]) {
            return aliased
        }
        // CloudEvents extensions sit at the top level on the wire; an
        // in-memory envelope may still nest them under `extensions`.
        return event.value(at: ["extensions", name])
    }

    /// Lower-cased envelope attribute → the same attribute in the other schema.
    private static let envelopeAliases: [String: String] = [
        "topic": "source", "source": "topic",
        "eventtype": "type", "type": "eventType",
        "eventtime": "time", "time": "eventTime",
    ]
}

/// Text comparisons as Event Grid makes them. An empty needle matches
/// everything, as in .NET, which Event Grid runs on (Foundation's `range(of:)`
/// would find nothing).
extension String {
    func equalsIgnoringCase(_ other: String) -> Bool {
        caseInsensitiveCompare(other) == .orderedSame
    }

    func containsIgnoringCase(_ needle: String) -> Bool {
        needle.isEmpty || range(of: needle, options: .caseInsensitive) != nil
    }

    func hasPrefix(_ prefix: String, caseSensitive: Bool) -> Bool {
        if caseSensitive { return hasPrefix(prefix) }
        return prefix.isEmpty || range(of: prefix, options: [.anchored, .caseInsensitive]) != nil
    }

    func hasSuffix(_ suffix: String, caseSensitive: Bool) -> Bool {
        if caseSensitive { return hasSuffix(suffix) }
        return suffix.isEmpty || range(of: suffix, options: [.anchored, .backwards, .caseInsensitive]) != nil
    }
}
