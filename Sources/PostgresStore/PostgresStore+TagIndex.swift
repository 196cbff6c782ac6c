import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    public func tagIndex(registry: String, repository: String, tags: [String], digests: [String]) async throws -> [TagIndexEntry] {
        guard !tags.isEmpty || !digests.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT tag, digest, removed FROM tag_index WHERE registry = \(registry) AND repository = \(repository)
            AND (tag = ANY(\(tags)::text[]) OR digest = ANY(\(digests)::text[]))
            """, logger: logger)
        var entries: [TagIndexEntry] = []
        for try await (tag, digest, removed) in rows.decode((String, String, Bool).self) {
            entries.append(TagIndexEntry(registry: registry, repository: repository, tag: tag, digest: digest, removed: removed))
        }
        return entries
    }

    public func applyTagIndex(_ changes: [TagIndexChange]) async throws {
        guard !changes.isEmpty else { return }
        let now = Date()
        try await transaction { connection in
            var touched = Set<[String]>()
            for change in changes {
                switch change {
                case .point(let registry, let repository, let tag, let digest):
                    try await connection.query(
                        """
                        INSERT INTO tag_index (registry, repository, tag, digest, removed, changed_at)
                        VALUES (\(registry), \(repository), \(tag), \(digest), false, \(now))
                        ON CONFLICT (registry, repository, tag) DO UPDATE SET digest = excluded.digest, removed = false, changed_at = excluded.changed_at
                        """, logger: logger)
                    touched.insert([registry, repository])
                case .removeDigest(let registry, let repository, let digest):
                    try await connection.query(
                        """
                        UPDATE tag_index SET removed = true, changed_at = \(now)
                        WHERE registry = \(registry) AND repository = \(repository) AND digest = \(digest)
                        """, logger: logger)
                case .drop(let registry, let repository, let tag):
                    try await connection.query(
                        "DELETE FROM tag_index WHERE registry = \(registry) AND repository = \(repository) AND tag = \(tag)", logger: logger)
                }
            }
            // Bounded: a repository's least recently changed rows past the limit go.
            for key in touched {
                try await connection.query(
                    """
                    DELETE FROM tag_index WHERE registry = \(key[0]) AND repository = \(key[1]) AND tag IN (
                        SELECT tag FROM tag_index WHERE registry = \(key[0]) AND repository = \(key[1])
                        ORDER BY changed_at DESC OFFSET \(TagIndex.maxTagsPerRepository))
                    """, logger: logger)
            }
        }
    }
}
