import Foundation
import RegistryEvents
import Testing

/// Harbor's and zot's webhooks into registry events: every fixture (taken
/// from their docs and sources, see each folder's README) is mapped; what has
/// no ACR or opt-in action is dropped; a body that is not the format is an
/// error, and a bad event among good ones is rejected alone.
@Suite("Registry adapters: Harbor and zot")
struct AdapterMappingTests {
    static func accepted(_ outcomes: [IngestOutcome]) -> [RegistryEvent] {
        outcomes.compactMap { if case .accepted(let event) = $0 { event } else { nil } }
    }

    func map(_ adapter: some RegistryAdapter, _ registry: String, _ name: String) throws -> [IngestOutcome] {
        let fixture = try #require(try Fixtures.adapterFixtures(registry).first { $0.name == name }, "\(registry)/\(name)")
        return try adapter.outcomes(body: fixture.body, headers: fixture.headers, registry: "myregistry", location: "local")
    }

    @Test func everyFixtureMapsWithoutError() throws {
        for (registry, adapter) in [("harbor", HarborAdapter() as any RegistryAdapter), ("zot", ZotAdapter()), ("github", GitHubPackagesAdapter())] {
            let fixtures = try Fixtures.adapterFixtures(registry)
            #expect(fixtures.count >= 7, "\(registry)")
            for fixture in fixtures {
                let outcomes = try adapter.outcomes(body: fixture.body, headers: fixture.headers, registry: "myregistry", location: "local")
                #expect(!outcomes.isEmpty, "\(registry)/\(fixture.name)")
                for outcome in outcomes {
                    if case .rejected(let reason, _) = outcome { Issue.record("\(registry)/\(fixture.name) rejected: \(reason)") }
                }
            }
        }
    }

    @Test func harborPushesAndDeletesInBothFormats() throws {
        for name in ["default/src-push-artifact-tag-v1.json", "cloudevents/src-artifact-pushed-tag-v1.json"] {
            let events = Self.accepted(try map(HarborAdapter(), "harbor", name))
            let push = try #require(events.first, "\(name)")
            #expect(events.count == 1)
            #expect(push.action == .push && push.target.repository == "library/hello" && push.target.tag == "v1", "\(name)")
            #expect(push.target.digest == "sha256:ee6603a3d8c285679b7f3102f3b3a9c1a220b30e4b96277734bc6744eca84250")
            #expect(push.actor?.name == "admin")
        }
        let deleted = try #require(Self.accepted(try map(HarborAdapter(), "harbor", "default/docs-delete-artifact.json")).first)
        #expect(deleted.action == .delete && deleted.target.repository == "harbor/alpine" && deleted.target.tag == nil)
        // The default format has no id: the same payload gives the same one (a re-sent webhook is a duplicate).
        let again = Self.accepted(try map(HarborAdapter(), "harbor", "default/docs-delete-artifact.json"))
        #expect(again.first?.id == deleted.id)
        for name in ["default/docs-scanning-completed.json", "default/docs-quota-exceed.json", "cloudevents/docs-replication-status-changed.json"] {
            #expect(try map(HarborAdapter(), "harbor", name) == [.dropped(reason: .notMapped)], "\(name)")
        }
        #expect(try map(HarborAdapter(), "harbor", "default/docs-pull-artifact.json") == [.dropped(reason: .pull)])
    }

    @Test func zotUpdatesDeletesAndCharts() throws {
        let push = try #require(Self.accepted(try map(ZotAdapter(), "zot", "binary/image-updated-tag.json")).first)
        #expect(push.action == .push && push.target.mediaType == "application/vnd.oci.image.manifest.v1+json")
        #expect((push.target.size ?? 0) > 0 && push.actor?.name == "ci-bot")
        let structured = try #require(Self.accepted(try map(ZotAdapter(), "zot", "structured/image-updated-tag.json")).first)
        #expect(structured.target == push.target && structured.id == push.id, "binary and structured mode say the same")
        #expect(Self.accepted(try map(ZotAdapter(), "zot", "binary/image-updated-helm-chart.json")).first?.action == .chartPush)
        #expect(Self.accepted(try map(ZotAdapter(), "zot", "binary/image-deleted-digest.json")).first?.action == .delete)
        let untagged = try #require(Self.accepted(try map(ZotAdapter(), "zot", "binary/image-deleted-tag.json")).first)
        #expect(untagged.action == .tagRemoved && untagged.target.tag == "latest" && untagged.target.digest != nil)
        #expect(try map(ZotAdapter(), "zot", "binary/image-updated-by-digest.json") == [.dropped(reason: .untaggedPush)])
        #expect(try map(ZotAdapter(), "zot", "binary/image-lint-failed.json") == [.dropped(reason: .notMapped)])
    }

    @Test func gitHubContainerVersionsWithATagArePushes() throws {
        let push = try #require(Self.accepted(try map(GitHubPackagesAdapter(), "github", "package-published-container-tagged.json")).first)
        #expect(push.action == .push && push.target.repository == "codertocat/hello-world" && push.target.tag == "v1.2.0")
        #expect(push.target.digest == "sha256:3da1996a8115d7616457760d9920b815241d0a03b34cf5f04e9a0e9d8de37498")
        #expect(push.actor?.name == "Codertocat")
        // The older event name, same shape.
        let updated = try #require(Self.accepted(try map(GitHubPackagesAdapter(), "github", "registry-package-updated-container-tagged.json")).first)
        #expect(updated.action == .push && updated.target.repository == "codertocat/hello-world" && updated.target.tag != nil)
        // npm packages (octokit's examples) and the ping have no ACR action.
        for name in ["package-published.octokit-example.json", "ping.octokit-example.json"] {
            #expect(try map(GitHubPackagesAdapter(), "github", name) == [.dropped(reason: .notMapped)], "\(name)")
        }
        #expect(throws: AdapterError.self) {
            try GitHubPackagesAdapter().outcomes(body: Array("{}".utf8), headers: [:], registry: "r", location: "local")
        }
    }

    @Test func badAndMixedBodiesAreAnsweredAsDistributionsAre() throws {
        for body in ["not json", "[1,2]", #"{"no":"type"}"#] {
            #expect(throws: AdapterError.self) {
                try HarborAdapter().outcomes(body: Array(body.utf8), headers: [:], registry: "r", location: "local")
            }
            #expect(throws: AdapterError.self) {
                try ZotAdapter().outcomes(body: Array(body.utf8), headers: [:], registry: "r", location: "local")
            }
        }
        // One bad resource among good ones: that one is rejected (dead-lettered), the rest go on.
        let mixed = #"{"type":"PUSH_ARTIFACT","occur_at":1787304612,"operator":"admin","event_data":{"resources":[{"digest":"sha256:ee6603a3d8c285679b7f3102f3b3a9c1a220b30e4b96277734bc6744eca84250","tag":"v1"},{"digest":"not-a-digest","tag":"v2"}],"repository":{"name":"hello","namespace":"library","repo_full_name":"library/hello"}}}"#
        let outcomes = try HarborAdapter().outcomes(body: Array(mixed.utf8), headers: [:], registry: "r", location: "local")
        #expect(outcomes.count == 2 && Self.accepted(outcomes).count == 1)
        guard case .rejected(let reason, _) = outcomes[1] else {
            Issue.record("the bad resource was not rejected")
            return
        }
        #expect(reason.contains("not-a-digest"))
    }
}
