import Foundation

/// An event subscription's `properties.filter`, in its ARM JSON shape, and
/// the decision Event Grid makes with it: event types, then subject
/// prefix/suffix, then every advanced filter, all of which must pass.
///
/// Absent members mean "no restriction", so `EventFilter()` matches every event.
public struct EventFilter: Codable, Sendable, Hashable {
    /// `nil`, empty, or containing `All` means every event type.
    public var includedEventTypes: [String]?
    /// Literal prefix of the subject, no wildcards.
    public var subjectBeginsWith: String?
    /// Literal suffix of the subject, no wildcards.
    public var subjectEndsWith: String?
    /// Applies to the subject filters only; advanced filters always ignore case.
    public var isSubjectCaseSensitive: Bool?
    public var enableAdvancedFilteringOnArrays: Bool?
    public var advancedFilters: [AdvancedFilter]?

    public init(
        includedEventTypes: [String]? = nil, subjectBeginsWith: String? = nil, subjectEndsWith: String? = nil,
        isSubjectCaseSensitive: Bool? = nil, enableAdvancedFilteringOnArrays: Bool? = nil,
        advancedFilters: [AdvancedFilter]? = nil
    ) {
        self.includedEventTypes = includedEventTypes
        self.subjectBeginsWith = subjectBeginsWith
        self.subjectEndsWith = subjectEndsWith
        self.isSubjectCaseSensitive = isSubjectCaseSensitive
        self.enableAdvancedFilteringOnArrays = enableAdvancedFilteringOnArrays
        self.advancedFilters = advancedFilters
    }

    /// `event` is the whole event envelope as JSON, in Event Grid schema (id,
    /// topic, subject, eventType, dataVersion, data…) or CloudEvents 1.0 (id,
    /// source, type, subject, specversion, extensions, data…).
    public func matches(_ event: JSONValue) -> Bool {
        let arrays = enableAdvancedFilteringOnArrays == true
        return matchesEventType(of: event) && matchesSubject(of: event)
            && (advancedFilters ?? []).allSatisfy { $0.matches(event, arrays: arrays) }
    }

    /// Whether `includedEventTypes` names `type` itself (not "All", not by omission).
    public func names(eventType type: String) -> Bool {
        (includedEventTypes ?? []).contains { $0.equalsIgnoringCase(type) }
    }

    private func matchesEventType(of event: JSONValue) -> Bool {
        guard let included = includedEventTypes, !included.isEmpty,
            !included.contains(where: { $0.equalsIgnoringCase("All") })
        else { return true }
        // `eventType` in Event Grid schema; the key path falls back to CloudEvents' `type`.
        guard let type = EventKeyPath("eventType").value(in: event)?.stringValue else { return false }
        return included.contains { $0.equalsIgnoringCase(type) }
    }

    private func matchesSubject(of event: JSONValue) -> Bool {
        let caseSensitive = isSubjectCaseSensitive == true
        let subject = EventKeyPath("subject").value(in: event)?.stringValue
        if let prefix = subjectBeginsWith, !prefix.isEmpty {
            guard let subject, subject.hasPrefix(prefix, caseSensitive: caseSensitive) else { return false }
        }
        if let suffix = subjectEndsWith, !suffix.isEmpty {
            guard let subject, subject.hasSuffix(suffix, caseSensitive: caseSensitive) else { return false }
        }
        return true
    }
}
