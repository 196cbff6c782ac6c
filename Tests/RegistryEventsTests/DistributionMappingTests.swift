import Foundation
import RegistryEvents
import Testing

@Suite("Distribution envelopes become ACR-style events")
struct DistributionMappingTests {
    let mapper = DistributionEventMapper(registry: "myregistry", location: "westeurope")

    func outcomes(_ file: String, mapper: DistributionEventMapper? = nil) throws -> [IngestOutcome] {
        let envelope = try DistributionEnvelope(parsing: try Fixtures.bytes(file))
        return envelope.events.map((mapper ?? self.mapper).map)
    }

    func onlyEvent(_ file: String) throws -> RegistryEvent {
        let results = try outcomes(file)
        #expect(results.count == 1)
        guard case .accepted(let event) = try #require(results.first) else {
            Issue.record("\(file) was not accepted: \(results)")
            throw CancellationError()
        }
        return event
    }

    @Test func aTaggedOCIPushIsAPush() throws {
        let event = try onlyEvent("push-oci-tag.json")
        #expect(event.action == .push)
        #expect(event.id == "a98b83a3-6308-4359-b752-7409242f5d53")
        #expect(event.timestamp == "2026-11-25T16:29:30.427944415Z")
        #expect(event.registry == "myregistry")
        #expect(event.location == "westeurope")
        #expect(event.target.repository == "library/hello")
        #expect(event.target.tag == "v1")
        #expect(event.target.mediaType == "application/vnd.oci.image.manifest.v1+json")
        #expect(event.target.digest == "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c")
        #expect(event.target.size == 345)
        #expect(event.target.length == 345)
        #expect(event.request?.method == "PUT")
        #expect(event.request?.useragent == "skopeo/1.9.3")
        #expect(event.source?.instanceID != nil)
        #expect(event.recordKey == "myregistry/library/hello")
        #expect(event.subject == "library/hello:v1")
    }

    @Test(arguments: [
        ("push-second-tag.json", "library/hello", "v2"), ("push-other-repo.json", "team/world", "1.0"),
        ("push-v2s2.json", "library/hello-docker", "v1"),
    ])
    func everyTaggedManifestPushIsOnePush(_ file: String, _ repository: String, _ tag: String) throws {
        let event = try onlyEvent(file)
        #expect(event.action == .push)
        #expect(event.target.repository == repository)
        #expect(event.target.tag == tag)
    }

    @Test func aHelmConfigMakesAChartPush() throws {
        let event = try onlyEvent("push-helm-chart.json")
        #expect(event.action == .chartPush)
        #expect(event.target.repository == "charts/mychart")
        #expect(event.target.name == "mychart")
        #expect(event.target.version == "0.1.0")
        #expect(event.target.tag == "0.1.0")
    }

    @Test func aManifestDeleteIsADeleteOrAChartDeleteForAKnownChart() throws {
        let event = try onlyEvent("delete-manifest.json")
        #expect(event.action == .delete)
        #expect(event.target.tag == nil)
        #expect(event.subject == "library/hello")
        let chartAware = DistributionEventMapper(
            registry: "myregistry", location: "local",
            knownChart: { $0 == event.target.digest ? KnownChart(name: "hello", version: "1.0.0", mediaType: "m") : nil })
        guard case .accepted(let chart) = try #require(try outcomes("delete-manifest.json", mapper: chartAware).first) else {
            Issue.record("not accepted")
            return
        }
        #expect(chart.action == .chartDelete)
        #expect(chart.target.name == "hello")
        #expect(chart.target.version == "1.0.0")
    }

    @Test(arguments: [
        ("pull.json", IngestOutcome.DropReason.pull), ("pull-head.json", .pull),
        ("window/push-oci-tag/01-push-blob.json", .blobEvent), ("window/push-v2s2/11-mount-blob.json", .mount),
        ("window/push-v2s2/10-pull-blob.json", .pull),
    ])
    func noiseIsDroppedWithItsReason(_ file: String, _ reason: IngestOutcome.DropReason) throws {
        #expect(try outcomes(file) == [.dropped(reason: reason)])
    }

    /// A tag's delete (what follows a manifest delete in 2.8, or a tag
    /// deleted on its own in 3.x) is a `tag_removed` of that tag; ingest
    /// finds its digest in the tag index. 3.x's empty descriptor is absent.
    @Test func aTagsDeleteIsATagRemoved() throws {
        guard case .accepted(let removed) = try #require(try outcomes("window/delete-manifest/20-delete-tag.json").first) else {
            Issue.record("not accepted")
            return
        }
        #expect(removed.action == .tagRemoved)
        #expect(removed.target.tag != nil && removed.target.digest == nil)
        let v3 = Array(#"{"events":[{"id":"t3","timestamp":"2026-12-02T10:00:00Z","action":"delete","target":{"mediaType":"","digest":"","size":0,"repository":"library/hello","tag":"prod"}}]}"#.utf8)
        guard case .accepted(let event) = try DistributionEnvelope(parsing: v3).events.map(mapper.map).first else {
            Issue.record("a 3.x tag delete not accepted")
            return
        }
        #expect(event.action == .tagRemoved && event.target.tag == "prod" && event.target.digest == nil && event.target.mediaType == nil)
    }

    /// One push of a tagged image (blobs, HEAD checks, manifest) gives
    /// exactly one event, never one per layer.
    @Test func aWholePushWindowGivesExactlyOneEvent() throws {
        for scenario in ["push-oci-tag", "push-v2s2", "push-helm-chart", "push-second-tag"] {
            let files = try Fixtures.allEnvelopeFiles().filter { $0.hasPrefix("window/\(scenario)/") }
            #expect(!files.isEmpty)
            let accepted = try files.flatMap { try outcomes($0) }.filter {
                if case .accepted = $0 { return true } else { return false }
            }
            #expect(accepted.count == 1, "\(scenario) gave \(accepted.count) events")
        }
    }

    @Test func anUntaggedPushIsDroppedUnlessAsked() throws {
        let body = Array(#"{"events":[{"id":"u1","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c","repository":"library/hello","url":"http://r/v2/library/hello/manifests/sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"}}]}"#.utf8)
        let envelope = try DistributionEnvelope(parsing: body)
        #expect(envelope.events.map(mapper.map) == [.dropped(reason: .untaggedPush)])
        let keeping = DistributionEventMapper(registry: "r", location: "local", ingestUntagged: true)
        guard case .accepted(let event) = try #require(envelope.events.map(keeping.map).first) else {
            Issue.record("untagged push not kept")
            return
        }
        #expect(event.subject == "library/hello")
    }

    @Test(arguments: [
        (#"{"id":"1","action":"push","target":{"repository":"UPPER/case","tag":"v1","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"}}"#, "repository"),
        (#"{"id":"1","action":"push","target":{"repository":"ok","tag":"-bad","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"}}"#, "tag"),
        (#"{"id":"1","action":"push","target":{"repository":"ok","tag":"v1","digest":"sha256:xyz"}}"#, "digest"),
        (#"{"id":"1","action":"push","target":{"repository":"ok","tag":"v1","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c","size":"big"}}"#, "size"),
        (#"{"id":"1","action":"push","target":{"repository":"ok","tag":"v1","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c","size":true}}"#, "size"),
        (#"{"action":"push","target":{"repository":"ok","tag":"v1","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"}}"#, "id"),
        (#"{"id":"1","target":{"repository":"ok"}}"#, "action"),
        (#"{"id":"1","action":"push","target":[]}"#, "target"),
        (#"{"id":"1","action":"push","target":{"repository":"ok","tag":"v1"}}"#, "digest"),
        (#"{"id":"1","action":"push","timestamp":"yesterday","target":{"repository":"ok","tag":"v1","digest":"sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"}}"#, "timestamp"),
        (#""just a string""#, "object"),
    ])
    func aMalformedEventIsRejectedNamingTheField(_ eventJSON: String, _ field: String) throws {
        let envelope = try DistributionEnvelope(parsing: Array(#"{"events":["#.utf8) + Array(eventJSON.utf8) + Array("]}".utf8))
        guard case .rejected(let reason, _) = try #require(envelope.events.map(mapper.map).first) else {
            Issue.record("not rejected: \(eventJSON)")
            return
        }
        #expect(reason.contains(field), "\(reason)")
    }

    @Test(arguments: ["", "nope", "[]", #"{"events":{}}"#, #"{"no":"events"}"#, "null"])
    func aBodyThatIsNoEnvelopeFailsWhole(_ body: String) {
        #expect(throws: DistributionEnvelope.DecodingError.self) { try DistributionEnvelope(parsing: Array(body.utf8)) }
    }
}
