import Foundation
import GRDB

extension SQLiteStore: TagIndexStore {
    public func tagIndex(registry: String, repository: String, tags: [String], digests: [String]) async throws -> [TagIndexEntry] {
        guard !tags.isEmpty || !digests.isEmpty else { return [] }
        return try await writer.read { db in
            let tagMarks = Array(repeating: "?", count: tags.count).joined(separator: ",")
            let digestMarks = Array(repeating: "?", count: digests.count).joined(separator: ",")
            var arguments: [any DatabaseValueConvertible] = [registry, repository]
            arguments += tags as [any DatabaseValueConvertible]
            arguments += digests as [any DatabaseValueConvertible]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT tag, digest, removed FROM tagIndex WHERE registry = ? AND repository = ?
                    AND (tag IN (\(tags.isEmpty ? "NULL" : tagMarks)) OR digest IN (\(digests.isEmpty ? "NULL" : digestMarks)))
                    """,
                arguments: StatementArguments(arguments))
            return rows.map {
                TagIndexEntry(registry: registry, repository: repository, tag: $0["tag"], digest: $0["digest"], removed: $0["removed"])
            }
        }
    }

    public func applyTagIndex(_ changes: [TagIndexChange]) async throws {
        guard !changes.isEmpty else { return }
        let now = Date()
        try await writer.write { db in
            var touched = Set<[String]>()
            for change in changes {
                switch change {
                case .point(let registry, let repository, let tag, let digest):
                    try db.execute(
                        sql: """
                            INSERT INTO tagIndex (registry, repository, tag, digest, removed, changedAt) VALUES (?, ?, ?, ?, 0, ?)
                            ON CONFLICT (registry, repository, tag) DO UPDATE SET digest = excluded.digest, removed = 0, changedAt = excluded.changedAt
                            """, arguments: [registry, repository, tag, digest, now])
                    touched.insert([registry, repository])
                case .removeDigest(let registry, let repository, let digest):
                    try db.execute(
                        sql: "UPDATE tagIndex SET removed = 1, changedAt = ? WHERE registry = ? AND repository = ? AND digest = ?",
                        arguments: [now, registry, repository, digest])
                case .drop(let registry, let repository, let tag):
                    try db.execute(
                        sql: "DELETE FROM tagIndex WHERE registry = ? AND repository = ? AND tag = ?", arguments: [registry, repository, tag])
                }
            }
            // Bounded: a repository's least recently changed rows past the limit go.
            for key in touched {
                try db.execute(
                    sql: """
                        DELETE FROM tagIndex WHERE registry = ? AND repository = ? AND tag IN (
                            SELECT tag FROM tagIndex WHERE registry = ? AND repository = ?
                            ORDER BY changedAt DESC LIMIT -1 OFFSET ?)
                        """, arguments: [key[0], key[1], key[0], key[1], TagIndex.maxTagsPerRepository])
            }
        }
    }
}
