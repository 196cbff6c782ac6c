import Foundation

/// Where a registry's tags are: per repository, the digest each tag points
/// at, so ingest can say what a registry does not (a digest that got another
/// tag, the tags a deleted manifest had, the digest of a removed tag).
/// Bounded: past `TagIndex.maxTagsPerRepository` rows a repository's oldest go.
public protocol TagIndexStore: Sendable {
    /// The rows of `repository` for these tags, and every row of these digests.
    func tagIndex(registry: String, repository: String, tags: [String], digests: [String]) async throws -> [TagIndexEntry]
    /// Applies `changes` in order, in one transaction.
    func applyTagIndex(_ changes: [TagIndexChange]) async throws
}

/// One tag of one repository.
public struct TagIndexEntry: Sendable, Hashable {
    public var registry: String
    public var repository: String
    public var tag: String
    public var digest: String
    /// Its manifest was deleted: the tag is gone, and kept a little while
    /// so the per-tag deletes that follow a manifest delete know their digest.
    public var removed: Bool

    public init(registry: String, repository: String, tag: String, digest: String, removed: Bool = false) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.removed = removed
    }
}

public enum TagIndexChange: Sendable, Hashable {
    /// `tag` now points at `digest` (a push).
    case point(registry: String, repository: String, tag: String, digest: String)
    /// The manifest `digest` was deleted: its tags are marked removed.
    case removeDigest(registry: String, repository: String, digest: String)
    /// The tag is gone (removed on its own, or its removal was said).
    case drop(registry: String, repository: String, tag: String)
}

public enum TagIndex {
    /// Rows kept per repository; the least recently changed go first.
    public static let maxTagsPerRepository = 10_000
}
