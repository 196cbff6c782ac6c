import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Synchronization
import TestSupport
import Testing

/// The API's own answers — ingest results and error bodies — checked against
/// `schemas/` by Python's jsonschema, as the event payloads are.
@Suite("API answers validate against schemas/", .machineHeavy)
struct ResponseSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func ingestResultsAndErrorsMatchTheirSchemas() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-answers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let samples = Locked<[(String, Data)]>([])
        let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"
        try await withTestServer { _, client in
            func keep(_ schema: String, _ label: String, _ response: TestResponse) {
                samples.withLock { $0.append(("\(schema)--\(label)", Data(response.body.readableBytesView))) }
            }
            try await client.execute(uri: "/v1/registries/r/notifications", method: .post, body: try fixture("push-oci-tag.json")) {
                keep("ingest-notifications-response", "push", $0)
            }
            try await client.execute(
                uri: "/v1/registries/r/events", method: .post,
                body: ByteBuffer(string: #"{"action":"push","target":{"repository":"a","tag":"v1","digest":"\#(digest)"}}"#)
            ) { keep("ingest-events-response", "push", $0) }
            for (label, uri, body) in [
                ("not-json", "/v1/registries/r/notifications", "nope"), ("bad-event", "/v1/registries/r/events", "{}"),
                ("bad-name", "/v1/registries/-x-/events", "{}"), ("no-route", "/v1/nothing", ""),
            ] {
                try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { keep("error", label, $0) }
            }
        }
        for (name, data) in samples.withLock({ $0 }) {
            try data.write(to: directory.appendingPathComponent("\(name).json"))
        }
        let result = try await runPythonScript("validate-json.py", [Self.root.appendingPathComponent("schemas").path, directory.path])
        let output = result.output
        #expect(result.status == 0, "\(output)")
        #expect(output.contains("6 passed, 0 failed"), "\(output)")
    }
}

