import Logging
import RegistryEvents
import Store

/// What a registry does not say about tags, from the tag index: a push by
/// tag of a digest the repository already has under another tag is also a
/// `tag_added`; a manifest `delete` names every tag it had (`tags`); a
/// `tag_removed` gets its digest; pushes of one digest under several tags in
/// one envelope each name them all. The index changes are applied only after
/// Kafka took the events (`commit`), so a retried envelope derives the same.
struct TagEvents: Sendable {
    /// What one envelope's events come to, and what the index learns from them.
    struct Derived: Sendable {
        var events: [RegistryEvent]
        var changes: [TagIndexChange]
    }

    let store: (any TagIndexStore)?
    static let namesPerQuery = 500

    /// The events, completed from the index, with the `tag_added` events
    /// after their pushes.
    /// - Throws: the store's error when the index cannot be read.
    func derive(_ events: [RegistryEvent]) async throws -> Derived {
        guard let store, events.contains(where: Self.concernsTags) else { return Derived(events: events, changes: []) }
        // What the index knows of the envelope's repositories, tags and digests.
        var index: [String: [String: TagIndexEntry]] = [:]  // "<registry>/<repository>" → tag → entry
        for (key, group) in Dictionary(grouping: events.filter(Self.concernsTags), by: { Self.key($0) }) {
            let tags = Set(group.compactMap(\.target.tag)), digests = Set(group.compactMap(\.target.digest))
            // In slices: SQLite takes at most 32,766 parameters a statement.
            var entries: [TagIndexEntry] = []
            let names = Array(tags) + Array(digests)
            for start in stride(from: 0, to: names.count, by: Self.namesPerQuery) {
                let slice = names[start..<min(start + Self.namesPerQuery, names.count)]
                entries += try await store.tagIndex(
                    registry: group[0].registry, repository: group[0].target.repository, tags: slice.filter(tags.contains),
                    digests: slice.filter(digests.contains))
            }
            index[key] = Dictionary(entries.map { ($0.tag, $0) }) { first, _ in first }
        }
        var derived = Derived(events: [], changes: [])
        let pushedTags = Self.tagsPerPush(events)
        for var event in events {
            let key = Self.key(event)
            var entries = index[key] ?? [:]
            defer { index[key] = entries }
            switch event.action {
            case .push, .chartPush:
                guard let tag = event.target.tag, let digest = event.target.digest else { break }
                if let all = pushedTags[Self.pushKey(event)], all.count > 1 { event.target.tags = all }
                let current = entries[tag]
                let known = entries.values.contains { $0.digest == digest && !$0.removed && $0.tag != tag }
                derived.events.append(event)
                if current.map({ $0.digest != digest || $0.removed }) ?? true, known {
                    derived.events.append(event.tagAdded())
                }
                entries[tag] = TagIndexEntry(registry: event.registry, repository: event.target.repository, tag: tag, digest: digest)
                derived.changes.append(.point(registry: event.registry, repository: event.target.repository, tag: tag, digest: digest))
                continue
            case .delete, .chartDelete:
                guard let digest = event.target.digest else { break }
                let tags = entries.values.filter { $0.digest == digest && !$0.removed }.map(\.tag).sorted()
                if !tags.isEmpty { event.target.tags = tags }
                for tag in tags { entries[tag]?.removed = true }
                derived.changes.append(.removeDigest(registry: event.registry, repository: event.target.repository, digest: digest))
            case .tagRemoved:
                guard let tag = event.target.tag else { break }
                if event.target.digest == nil { event.target.digest = entries[tag]?.digest }
                entries[tag] = nil
                derived.changes.append(.drop(registry: event.registry, repository: event.target.repository, tag: tag))
            default:
                break
            }
            derived.events.append(event)
        }
        return derived
    }

    /// Records what the envelope changed, once Kafka took its events. A
    /// failure is logged: the index then lags, and the next events about
    /// those tags may miss a `tag_added` or a delete's `tags`.
    func commit(_ changes: [TagIndexChange], logger: Logger) async {
        guard let store, !changes.isEmpty else { return }
        do {
            try await store.applyTagIndex(changes)
        } catch {
            logger.error("The tag index was not updated", metadata: ["changes": "\(changes.count)", "error": "\(error)"])
        }
    }

    static func concernsTags(_ event: RegistryEvent) -> Bool {
        switch event.action {
        case .push, .chartPush: event.target.tag != nil && event.target.digest != nil
        case .delete, .chartDelete: event.target.digest != nil
        case .tagRemoved: event.target.tag != nil
        default: false
        }
    }

    static func key(_ event: RegistryEvent) -> String { "\(event.registry)/\(event.target.repository)" }

    static func pushKey(_ event: RegistryEvent) -> String { "\(key(event))@\(event.target.digest ?? "")" }

    /// The tags each digest was pushed under in this envelope, in order.
    static func tagsPerPush(_ events: [RegistryEvent]) -> [String: [String]] {
        var tags: [String: [String]] = [:]
        for event in events where event.action == .push || event.action == .chartPush {
            guard let tag = event.target.tag, event.target.digest != nil else { continue }
            if !(tags[pushKey(event)] ?? []).contains(tag) { tags[pushKey(event), default: []].append(tag) }
        }
        return tags
    }

}
