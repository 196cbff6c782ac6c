import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport
import Testing

/// Harbor's and zot's webhooks posted to the real server, as those
/// registries send them (the bodies and headers of `Tests/Fixtures/`): their
/// pushes reach an ACR webhook as ACR's push, a zot tag delete reaches only
/// the opt-in webhook, and a body that is not the format is a 400 JSON error.
@Suite("Harbor and zot into the real server", .machineHeavy)
struct AdapterEndToEndTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func post(_ base: String, _ route: String, fixture: String) async throws -> (status: Int, body: [String: Any], text: String) {
        let file = fixtures.appendingPathComponent(fixture)
        let body = try JSONSerialization.jsonObject(with: Data(contentsOf: file))
        var headers = ["Authorization": "Bearer adapter-token"]
        let headersFile = URL(fileURLWithPath: String(file.path.dropLast(".json".count)) + ".headers.json")
        if let data = try? Data(contentsOf: headersFile), let given = try JSONSerialization.jsonObject(with: data) as? [String: String] {
            for (name, value) in given where name.lowercased().hasPrefix("ce-") { headers[name] = value }
        }
        return try await API.send(.POST, "\(base)/v1/registries/myregistry/\(route)", json: body, headers: headers)
    }

    @Test func harborAndZotPushesReachAnACRWebhookAndTagDeletesOnlyTheOptInOne() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets", "--ingest-token", "adapter-token"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await DeliveryFaultTests.createWebhook(base, "acrhook1", receiver.url("/ok-acr"), extra: ["actions": ["push", "delete"]])
        try await DeliveryFaultTests.createWebhook(base, "taghook1", receiver.url("/ok-tags"), extra: ["actions": ["tag_removed"]])

        let harbor = try await Self.post(base, "harbor", fixture: "harbor/default/src-push-artifact-tag-v1.json")
        #expect(harbor.status == 200 && harbor.body["produced"] as? Int == 1, "\(harbor.text)")
        let harborEvents = try await Self.post(base, "harbor", fixture: "harbor/cloudevents/src-artifact-pushed-tag-v1.json")
        #expect(harborEvents.status == 200 && harborEvents.body["produced"] as? Int == 1, "\(harborEvents.text)")
        // Harbor names a push by digest with the digest as its tag: not a tagged push, so not ACR's push.
        let byDigest = try await Self.post(base, "harbor", fixture: "harbor/cloudevents/docs-artifact-pushed.json")
        #expect(byDigest.status == 200 && byDigest.body["dropped"] as? Int == 1, "\(byDigest.text)")
        let scan = try await Self.post(base, "harbor", fixture: "harbor/default/docs-scanning-completed.json")
        #expect(scan.status == 200 && scan.body["dropped"] as? Int == 1, "a scan has no ACR action: \(scan.text)")
        let zot = try await Self.post(base, "zot", fixture: "zot/binary/image-updated-tag.json")
        #expect(zot.status == 200 && zot.body["produced"] as? Int == 1, "\(zot.text)")
        let untag = try await Self.post(base, "zot", fixture: "zot/binary/image-deleted-tag.json")
        #expect(untag.status == 200 && untag.body["produced"] as? Int == 1, "\(untag.text)")

        let pushes = try await receiver.waitFor("/ok-acr", count: 3)
        let bodies = try pushes.map { try jsonObject(Data($0.body.utf8)) }
        #expect(bodies.allSatisfy { $0["action"] as? String == "push" }, "\(bodies)")
        #expect(Set(bodies.compactMap { ($0["target"] as? [String: Any])?["repository"] as? String }) == ["library/hello", "golang"])
        let removed = try await receiver.waitFor("/ok-tags", count: 1)
        #expect((try jsonObject(Data(removed[0].body.utf8)))["action"] as? String == "tag_removed")
        #expect(receiver.requests("/ok-acr").count == 3, "the ACR webhook never sees tag_removed")

        // Not the format: 400 with our JSON error, as the Distribution route answers.
        for (route, body) in [("harbor", ["no": "type"]), ("zot", ["name": "x"])] {
            let bad = try await API.send(.POST, "\(base)/v1/registries/myregistry/\(route)", json: body, headers: ["Authorization": "Bearer adapter-token"])
            #expect(bad.status == 400 && (bad.body["error"] as? [String: Any])?["code"] as? String == "InvalidEnvelope", "\(route): \(bad.text)")
        }
        let unauthorized = try await API.send(.POST, "\(base)/v1/registries/myregistry/harbor", json: ["type": "PUSH_ARTIFACT"])
        #expect(unauthorized.status == 401)
    }

    /// Posts a fixture's exact bytes with its headers (a signature covers the bytes).
    static func postRaw(_ url: String, fixture: String, headers extra: [String: String] = [:]) async throws -> (status: Int, text: String) {
        let file = fixtures.appendingPathComponent(fixture)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let headersFile = URL(fileURLWithPath: String(file.path.dropLast(".json".count)) + ".headers.json")
        let given = try JSONSerialization.jsonObject(with: Data(contentsOf: headersFile)) as? [String: String] ?? [:]
        for (name, value) in given.merging(extra, uniquingKeysWith: { $1 }) where name != "Content-Length" {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: try Data(contentsOf: file)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), text)
    }

    @Test func gitHubDeliveriesAreTakenOnlyWithTheSecretsSignature() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        // The secret GitHub's docs sign with; the fixture carries its real signature.
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--ingest-token", "adapter-token", "--github-webhook-secret", "It's a Secret to Everybody",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await DeliveryFaultTests.createWebhook(base, "ghcrhook1", receiver.url("/ok-ghcr"))
        let url = "\(base)/v1/registries/myregistry/github"
        let signed = try await Self.postRaw(url, fixture: "github/package-published-container-tagged.json")
        #expect(signed.status == 200 && signed.text.contains(#""produced":1"#), "\(signed.text)")
        let delivered = try await receiver.waitFor("/ok-ghcr", count: 1)
        let target = try #require(try jsonObject(Data(delivered[0].body.utf8))["target"] as? [String: Any])
        #expect(target["repository"] as? String == "codertocat/hello-world" && target["tag"] as? String == "v1.2.0")

        let forged = try await Self.postRaw(
            url, fixture: "github/package-published-container-tagged.json",
            headers: ["X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64)])
        #expect(forged.status == 401 && forged.text.contains("InvalidSignature"), "\(forged.text)")

        // Without the secret, an ingest token guards the route, and GitHub cannot send it.
        let unsigned = try await RunningServer.start(extraArguments: ["--ingest-token", "adapter-token"])
        defer { unsigned.process.terminateQuietly() }
        let refused = try await Self.postRaw("\(unsigned.baseURL)/v1/registries/myregistry/github", fixture: "github/package-published-container-tagged.json")
        #expect(refused.status == 401 && refused.text.contains("--github-webhook-secret"), "\(refused.text)")
    }
}
