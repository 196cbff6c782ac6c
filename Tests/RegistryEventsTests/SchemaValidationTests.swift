import Foundation
import RegistryEvents
import TestSupport
import Testing

/// Every payload we emit, for every action, and every captured registry
/// envelope, checked against `schemas/` by an independent validator (Python
/// `jsonschema`, installed by `.ci/run`), not by our own code.
@Suite("Payloads validate against schemas/ with Python jsonschema")
struct SchemaValidationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyRenderedPayloadMatchesItsSchema() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-samples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ schema: String, _ label: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: directory.appendingPathComponent("\(schema)--\(label).json"))
        }
        let acrSchemas: [RegistryAction: String] = [
            .push: "acr-push", .delete: "acr-delete", .chartPush: "acr-chart-push", .chartDelete: "acr-chart-delete",
            .quarantine: "acr-quarantine", .tagAdded: "acr-tag-added", .tagRemoved: "acr-tag-removed",
            .scanCompleted: "acr-scan-completed",
        ]
        let gridSchemas: [RegistryAction: String] = [
            .push: "eventgrid-image-pushed", .delete: "eventgrid-image-deleted", .chartPush: "eventgrid-chart-pushed",
            .chartDelete: "eventgrid-chart-deleted", .tagAdded: "eventgrid-tag-added", .tagRemoved: "eventgrid-tag-removed",
            .scanCompleted: "eventgrid-scan-completed",
        ]
        var events = RegistryAction.webhookActions.map { Samples.event($0) }
        events.append(Samples.event(.push, tag: nil))
        // What the tag index adds: a delete's tags, a push's tags, a removed tag with and without its digest.
        var deleted = Samples.event(.delete)
        deleted.target.tags = ["prod", "v1"]
        var pushed = Samples.event(.push)
        pushed.target.tags = ["v1", "latest"]
        var unknown = Samples.event(.tagRemoved)
        unknown.target.digest = nil
        events += [deleted, pushed, unknown]
        // Events as the mapper makes them from every captured envelope.
        let mapper = DistributionEventMapper(
            registry: "myregistry", location: "local", ingestUntagged: true,
            knownChart: { _ in KnownChart(name: "mychart", version: "0.1.0", mediaType: "application/vnd.oci.image.manifest.v1+json") })
        for file in try Fixtures.allEnvelopeFiles() {
            for outcome in try DistributionEnvelope(parsing: try Fixtures.bytes(file)).events.map(mapper.map) {
                if case .accepted(let event) = outcome { events.append(event) }
            }
        }
        // Events from every fixture of every adapter; and each fixture itself
        // against the schema of what we accept from that registry.
        for (registry, adapter, schema) in [
            ("harbor", HarborAdapter(ingestUntagged: true) as any RegistryAdapter, "harbor-webhook"),
            ("zot", ZotAdapter(ingestUntagged: true), "zot-event"),
            ("github", GitHubPackagesAdapter(ingestUntagged: true), "github-package-event"),
            ("quay", QuayAdapter(), "quay-notification"), ("dockerhub", DockerHubAdapter(), "dockerhub-webhook"),
        ] {
            for fixture in try Fixtures.adapterFixtures(registry) where !Fixtures.isNoWebhookBody(fixture.name) {
                try write(schema, "\(registry)-\(fixture.name.replacingOccurrences(of: "/", with: "-"))", fixture.body)
                for outcome in try adapter.outcomes(body: fixture.body, headers: fixture.headers, registry: "myregistry", location: "local") {
                    guard case .accepted(var event) = outcome else { continue }
                    if event.target.digest == nil {
                        // What ingest's lookup in the registry adds.
                        event.target.digest = Samples.digest
                        event.target.mediaType = "application/vnd.oci.image.index.v1+json"
                        event.target.size = 1609
                        event.target.length = 1609
                        event.id = Adapters.resolvedID(route: registry, event: event)
                    }
                    events.append(event)
                }
            }
        }
        for (index, event) in events.enumerated() {
            let label = "\(event.action.rawValue)-\(index)"
            try write(try #require(acrSchemas[event.action]), label, JSONRendering.encode(ACRPayload(event)))
            try write("acr-event", label, JSONRendering.encode(ACRPayload(event)))
            guard let grid = EventGridEvent(event, topic: "/registries/myregistry") else { continue }
            try write(try #require(gridSchemas[event.action]), label, JSONRendering.encode(grid))
            try write("eventgrid-event", label, JSONRendering.encode(grid))
            try write("cloudevent", label, JSONRendering.encode(CloudEvent(grid)))
        }
        try write("acr-ping", "ping", JSONRendering.encode(ACRPayload.ping(id: "p-1", timestamp: "2026-11-25T16:29:30.123Z")))
        let result = try await Self.runValidator([Self.root.appendingPathComponent("schemas").path, directory.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(" 0 failed"), "\(result.output)")
    }

    @Test func everyCapturedEnvelopeMatchesTheAcceptedSchema() async throws {
        let result = try await Self.runValidator([
            Self.root.appendingPathComponent("schemas").path, "--fixtures", Fixtures.directory.path,
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(" 0 failed"))
    }

    static func runValidator(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await runPythonScript("validate-json.py", arguments)
        return (result.status, result.output)
    }
}
