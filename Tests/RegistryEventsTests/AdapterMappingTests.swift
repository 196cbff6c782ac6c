import Foundation
import RegistryEvents
import Testing

/// Harbor's and zot's webhooks into registry events: every fixture (taken
/// from their docs and sources, see each folder's README) is mapped; what has
/// no ACR or opt-in action is dropped; a body that is not the format is an
/// error, and a bad event among good ones is rejected alone.
@Suite("Registry adapters: Harbor, zot, GitHub, Quay and Docker Hub")
struct AdapterMappingTests {
    static func accepted(_ outcomes: [IngestOutcome]) -> [RegistryEvent] {
        outcomes.compactMap { if case .accepted(let event) = $0 { event } else { nil } }
    }

    func map(_ adapter: some RegistryAdapter, _ registry: String, _ name: String) throws -> [IngestOutcome] {
        let fixture = try #require(try Fixtures.adapterFixtures(registry).first { $0.name == name }, "\(registry)/\(name)")
        return try adapter.outcomes(body: fixture.body, headers: fixture.headers, registry: "myregistry", location: "local")
    }

    @Test func everyFixtureMapsWithoutError() throws {
        let adapters: [(String, any RegistryAdapter)] = [
            ("harbor", HarborAdapter()), ("zot", ZotAdapter()), ("github", GitHubPackagesAdapter()), ("quay", QuayAdapter()),
            ("dockerhub", DockerHubAdapter()),
        ]
        for (registry, adapter) in adapters {
            let fixtures = try Fixtures.adapterFixtures(registry)
            #expect(fixtures.count >= 3, "\(registry)")
            for fixture in fixtures where !Fixtures.isNoWebhookBody(fixture.name) {
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
        for name in ["default/docs-quota-exceed.json", "cloudevents/docs-replication-status-changed.json"] {
            #expect(try map(HarborAdapter(), "harbor", name) == [.dropped(reason: .notMapped)], "\(name)")
        }
        #expect(try map(HarborAdapter(), "harbor", "default/docs-pull-artifact.json") == [.dropped(reason: .pull)])
    }

    @Test func harborScansAreScanCompletedWithTheirResult() throws {
        let scanned = try #require(Self.accepted(try map(HarborAdapter(), "harbor", "default/src-scanning-completed-v2.11.json")).first)
        #expect(scanned.action == .scanCompleted && scanned.target.tag == "v1" && scanned.target.repository == "library/hello")
        #expect(
            scanned.scan
                == ScanResult(
                    status: .succeeded, type: "vulnerability", severity: "Critical",
                    summary: .init(total: 12, fixable: 9, critical: 1, high: 3, medium: 6, low: 2, unknown: 0),
                    scanner: .init(name: "Trivy", vendor: "Aqua Security", version: "v0.65.0"),
                    reportId: "5d7f3a52-3f0e-4c57-9a36-0f7c1b8e2d41", startTime: "2026-08-21T09:35:39Z", endTime: "2026-08-21T09:35:48Z"))
        // Scanned by digest, nothing found: no tag, every count 0.
        let clean = try #require(Self.accepted(try map(HarborAdapter(), "harbor", "cloudevents/docs-scan-completed.json")).first)
        #expect(clean.target.tag == nil && clean.scan?.severity == "None" && clean.scan?.summary?.critical == 0)
        #expect(clean.id == "64bce2fe-6159-454d-8389-852d01ef1e9d")
        for (name, status) in [
            ("default/docs-scanning-failed.json", ScanResult.Status.failed), ("default/docs-scanning-stopped.json", .stopped),
            ("cloudevents/docs-scan-failed.json", .failed), ("cloudevents/docs-scan-stopped.json", .stopped),
        ] {
            let event = try #require(Self.accepted(try map(HarborAdapter(), "harbor", name)).first, "\(name)")
            #expect(event.scan?.status == status && event.scan?.severity == nil && event.scan?.summary == nil, "\(name)")
        }
    }

    @Test func quayPushesNameTagsForTheDigestLookup() throws {
        let events = Self.accepted(try map(QuayAdapter(), "quay", "repo-push.json"))
        let push = try #require(events.first)
        #expect(events.count == 1 && push.action == .push && push.target.repository == "acme/webapp" && push.target.tag == "v1.4.2")
        #expect(push.target.digest == nil && push.request?.host == "quay.io", "the digest is looked up at ingest")
        // The Test Notification looks like a push of latest and foo: not one.
        #expect(try map(QuayAdapter(), "quay", "repo-push-test-notification.json") == [.dropped(reason: .testNotification)])
        for name in ["build-success.json", "vulnerability-found.json", "repo-image-expiry.json", "quota-warning-test-notification.json"] {
            #expect(try map(QuayAdapter(), "quay", name) == [.dropped(reason: .notMapped)], "\(name)")
        }
        let twoTags = try QuayAdapter().outcomes(
            body: Array(#"{"repository":"acme/webapp","namespace":"acme","updated_tags":["a","b"]}"#.utf8), headers: [:],
            registry: "r", location: "l")
        #expect(Self.accepted(twoTags).map(\.target.tag) == ["a", "b"])
        #expect(throws: AdapterError.self) { try QuayAdapter().outcomes(body: Array("[]".utf8), headers: [:], registry: "r", location: "l") }
        let bad = try QuayAdapter().outcomes(
            body: Array(#"{"repository":"acme/webapp","updated_tags":["ok",7]}"#.utf8), headers: [:], registry: "r", location: "l")
        #expect(Self.accepted(bad).count == 1 && bad.count == 2, "a bad tag is rejected alone")
    }

    @Test func dockerHubPushesNameTheirTagAndTime() throws {
        let push = try #require(Self.accepted(try map(DockerHubAdapter(), "dockerhub", "docs-push.json")).first)
        #expect(push.action == .push && push.target.repository == "svendowideit/testhook" && push.target.tag == "latest")
        #expect(push.timestamp == "2014-12-03T00:22:41Z" && push.actor?.name == "trustedbuilder" && push.target.digest == nil)
        let legacy = try #require(Self.accepted(try map(DockerHubAdapter(), "dockerhub", "docs-push-legacy-images.json")).first)
        #expect(legacy.timestamp == "2014-12-03T00:22:41Z", "a float pushed_at is the same second")
        // The webhook sent twice is one push; the same tag pushed again later is another.
        #expect(!push.id.isEmpty && legacy.id == push.id)
        let later = try DockerHubAdapter().outcomes(
            body: Array(#"{"push_data":{"tag":"latest","pushed_at":1417566999},"repository":{"repo_name":"svendowideit/testhook"}}"#.utf8),
            headers: [:], registry: "myregistry", location: "local")
        #expect(Self.accepted(later).first.map { $0.id != push.id } == true)
        #expect(throws: AdapterError.self) {
            try DockerHubAdapter().outcomes(body: Array(#"{"state":"success"}"#.utf8), headers: [:], registry: "r", location: "l")
        }
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
