import RegistryEvents
import Store
import Testing

/// The tag index in both stores: a tag points at one digest, a manifest
/// delete marks its tags removed (so the per-tag deletes that follow still
/// know their digest), a drop forgets the tag, a push revives it.
@Suite("The tag index")
struct TagIndexStoreTests {
    static let a = "sha256:" + String(repeating: "a", count: 64)
    static let b = "sha256:" + String(repeating: "b", count: 64)

    @Test(arguments: StoreBackend.available) func pointRemoveDropAndReadByTagOrDigest(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.applyTagIndex([
                .point(registry: "r", repository: "hello", tag: "v1", digest: Self.a),
                .point(registry: "r", repository: "hello", tag: "prod", digest: Self.a),
                .point(registry: "r", repository: "hello", tag: "v2", digest: Self.b),
                .point(registry: "r", repository: "other", tag: "v1", digest: Self.a),
                // A moved tag points at its new digest.
                .point(registry: "r", repository: "hello", tag: "v2", digest: Self.a),
            ])
            let byDigest = try await store.tagIndex(registry: "r", repository: "hello", tags: [], digests: [Self.a])
            #expect(Set(byDigest.map(\.tag)) == ["v1", "prod", "v2"], "one repository's, by digest")
            #expect(try await store.tagIndex(registry: "r", repository: "hello", tags: ["prod"], digests: []).map(\.digest) == [Self.a])

            try await store.applyTagIndex([.removeDigest(registry: "r", repository: "hello", digest: Self.a)])
            let removed = try await store.tagIndex(registry: "r", repository: "hello", tags: ["v1", "prod"], digests: [])
            #expect(removed.count == 2 && removed.allSatisfy { $0.removed && $0.digest == Self.a })
            #expect(try await store.tagIndex(registry: "r", repository: "other", tags: ["v1"], digests: []).first?.removed == false)

            try await store.applyTagIndex([
                .drop(registry: "r", repository: "hello", tag: "v1"),
                .point(registry: "r", repository: "hello", tag: "prod", digest: Self.b),
            ])
            #expect(try await store.tagIndex(registry: "r", repository: "hello", tags: ["v1"], digests: []).isEmpty)
            let revived = try await store.tagIndex(registry: "r", repository: "hello", tags: ["prod"], digests: [])
            #expect(revived.first?.removed == false && revived.first?.digest == Self.b)
            #expect(try await store.tagIndex(registry: "r", repository: "hello", tags: [], digests: []).isEmpty)
        }
    }
}
