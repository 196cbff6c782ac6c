import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport
import Testing
import Hummingbird
import HTTPTypes

/// Registries' webhooks posted to the real server, as those registries send
/// them (the bodies and headers of `Tests/Fixtures/`): their pushes reach an
/// ACR webhook as ACR's push, a zot tag delete and a Harbor scan reach only
/// the opt-in webhook, Quay's and Docker Hub's tags are looked up in a
/// registry that wants a token, and a body that is not the format is a 400
/// JSON error.
@Suite("Registry adapters into the real server", .machineHeavy)
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
        try await DeliveryFaultTests.createWebhook(base, "scanhook1", receiver.url("/ok-scans"), extra: ["actions": ["scan_completed"]])

        let harbor = try await Self.post(base, "harbor", fixture: "harbor/default/src-push-artifact-tag-v1.json")
        #expect(harbor.status == 200 && harbor.body["produced"] as? Int == 1, "\(harbor.text)")
        let harborEvents = try await Self.post(base, "harbor", fixture: "harbor/cloudevents/src-artifact-pushed-tag-v1.json")
        #expect(harborEvents.status == 200 && harborEvents.body["produced"] as? Int == 1, "\(harborEvents.text)")
        // Harbor names a push by digest with the digest as its tag: not a tagged push, so not ACR's push.
        let byDigest = try await Self.post(base, "harbor", fixture: "harbor/cloudevents/docs-artifact-pushed.json")
        #expect(byDigest.status == 200 && byDigest.body["dropped"] as? Int == 1, "\(byDigest.text)")
        let scan = try await Self.post(base, "harbor", fixture: "harbor/default/src-scanning-completed-v2.11.json")
        #expect(scan.status == 200 && scan.body["produced"] as? Int == 1, "a scan is the opt-in scan_completed: \(scan.text)")
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
        let scans = try await receiver.waitFor("/ok-scans", count: 1)
        let scanBody = try jsonObject(Data(scans[0].body.utf8))
        #expect(scanBody["action"] as? String == "scan_completed")
        let result = try #require(scanBody["scan"] as? [String: Any])
        #expect(result["status"] as? String == "succeeded" && (result["summary"] as? [String: Any])?["critical"] as? Int == 1, "\(result)")
        #expect(receiver.requests("/ok-acr").count == 3, "the ACR webhook never sees tag_removed or scan_completed")

        // Not the format: 400 with our JSON error, as the Distribution route answers.
        let notTheirFormat: [(String, [String: Any])] = [
            ("harbor", ["no": "type"]), ("zot", ["name": "x"]), ("quay", ["x": 1]), ("dockerhub", ["repository": ["repo_name": "a/b"]]),
        ]
        for (route, body) in notTheirFormat {
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

    /// Quay and Docker Hub name a tag, not a digest: the server asks the
    /// registry, answering its token challenge as `docker pull` does. A tag
    /// the registry does not have is rejected (dead-lettered); a registry that
    /// does not answer gets the whole request refused with 503 to retry.
    @Test func quayAndDockerHubPushesGetTheirDigestFromTheRegistry() async throws {
        let registry = try await TokenRegistry.start()
        defer { registry.stop() }
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let credentials = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-quay-\(UUID().uuidString)")
        try Data("robot:s3cret-token".utf8).write(to: credentials)
        defer { try? FileManager.default.removeItem(at: credentials) }
        // Debug logging: the token in a URL must not reach the log either.
        let server = try await RunningServer.start(
            extraArguments: [
                "--allow-private-targets", "--ingest-token", "adapter-token", "--quay-registry-url", registry.url,
                "--quay-credentials-file", credentials.path, "--dockerhub-registry-url", registry.url,
            ], environment: ["REGEVENTS_LOG_LEVEL": "debug"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await DeliveryFaultTests.createWebhook(base, "pushhook1", receiver.url("/ok-push"))

        let quay = try await Self.post(base, "quay", fixture: "quay/repo-push.json")
        #expect(quay.status == 200 && quay.body["produced"] as? Int == 1, "\(quay.text)")
        let again = try await Self.post(base, "quay", fixture: "quay/repo-push.json")
        #expect(again.status == 200 && again.body["dropped"] as? Int == 1, "Quay re-sends a failed POST: the same push, a duplicate: \(again.text)")
        // Docker Hub cannot send a header: the token rides in the URL it is given.
        let hubBody = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("dockerhub/docs-push.json")))
        let hub = try await API.send(.POST, "\(base)/v1/registries/myregistry/dockerhub?access_token=adapter-token", json: hubBody)
        #expect(hub.status == 200 && hub.body["produced"] as? Int == 1, "\(hub.text)")
        let hubAgain = try await API.send(.POST, "\(base)/v1/registries/myregistry/dockerhub?access_token=adapter-token", json: hubBody)
        #expect(hubAgain.status == 200 && hubAgain.body["dropped"] as? Int == 1, "the same webhook twice is one push: \(hubAgain.text)")
        let wrong = try await API.send(.POST, "\(base)/v1/registries/myregistry/dockerhub?access_token=guess", json: hubBody)
        #expect(wrong.status == 401 && wrong.text.contains("access_token"), "\(wrong.text)")
        let elsewhere = try await API.send(.POST, "\(base)/v1/registries/myregistry/harbor?access_token=adapter-token", json: ["type": "PUSH_ARTIFACT"])
        #expect(elsewhere.status == 401, "only the routes of registries that cannot send a header take it in the URL")
        let delivered = try await receiver.waitFor("/ok-push", count: 2)
        let targets = try delivered.map { try #require(try jsonObject(Data($0.body.utf8))["target"] as? [String: Any]) }
        let quayTarget = try #require(targets.first { $0["repository"] as? String == "acme/webapp" })
        #expect(quayTarget["digest"] as? String == TokenRegistry.digest && quayTarget["tag"] as? String == "v1.4.2")
        #expect(quayTarget["mediaType"] as? String == "application/vnd.oci.image.index.v1+json" && quayTarget["size"] as? Int == 1609)
        #expect(targets.contains { $0["repository"] as? String == "svendowideit/testhook" && $0["digest"] as? String == TokenRegistry.digest })
        #expect(registry.sawCredentials("robot:s3cret-token"), "the token service got Quay's credentials")

        // A tag the registry does not have: rejected, dead-lettered with the registry's answer.
        let gone = try await API.send(
            .POST, "\(base)/v1/registries/myregistry/quay",
            json: ["repository": "acme/webapp", "namespace": "acme", "updated_tags": ["gone"]], headers: ["Authorization": "Bearer adapter-token"])
        #expect(gone.status == 200 && gone.body["rejected"] as? Int == 1 && gone.body["produced"] as? Int == 0, "\(gone.text)")
        // One tag named sixty times is looked up once, and is one push (the rest duplicates).
        let repeated = try await API.send(
            .POST, "\(base)/v1/registries/myregistry/quay",
            json: ["repository": "acme/webapp", "namespace": "acme", "updated_tags": Array(repeating: "latest", count: 60)],
            headers: ["Authorization": "Bearer adapter-token"])
        #expect(repeated.status == 200 && repeated.body["produced"] as? Int == 1 && repeated.body["dropped"] as? Int == 59, "\(repeated.text)")
        // A registry that hangs: 503 within the lookup's deadline, nothing produced.
        let started = ContinuousClock.now
        let hanging = try await API.send(
            .POST, "\(base)/v1/registries/myregistry/quay",
            json: ["repository": "acme/webapp", "namespace": "acme", "updated_tags": ["hang-7f3a9c"]], headers: ["Authorization": "Bearer adapter-token"])
        #expect(hanging.status == 503 && (hanging.body["error"] as? [String: Any])?["code"] as? String == "RegistryUnavailable", "\(hanging.text)")
        #expect(ContinuousClock.now - started < .seconds(30), "the lookup has a deadline")
        // Docker Hub never sends a refused request again: its push is dead-lettered instead.
        let hubHanging = try await API.send(
            .POST, "\(base)/v1/registries/myregistry/dockerhub?access_token=adapter-token",
            json: ["push_data": ["tag": "hang-7f3a9c", "pushed_at": 1_417_566_161], "repository": ["repo_name": "acme/webapp"]])
        #expect(hubHanging.status == 200 && hubHanging.body["rejected"] as? Int == 1, "\(hubHanging.text)")
        _ = try await receiver.waitFor("/ok-push", count: 3)
        let log = server.process.output.joined(separator: "\n") + server.process.standardError
        #expect(log.contains("dockerhub") && !log.contains("adapter-token"), "requests are logged, the token never")
    }
}

/// A registry that wants a Bearer token (Docker Hub's and Quay's way): a
/// manifest HEAD without one is a 401 naming the token service; the token
/// service gives one to anybody, and records the Basic credentials it got.
/// Tags `v1.4.2` and `latest` exist, `hang-7f3a9c` never answers, others are 404.
final class TokenRegistry: Sendable {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    let url: String
    private let task: Task<Void, any Error>
    /// What the token service was given as Basic credentials.
    private let credentials: Locked<[String]>

    private init(url: String, task: Task<Void, any Error>, credentials: Locked<[String]>) {
        self.url = url
        self.task = task
        self.credentials = credentials
    }

    static func start() async throws -> TokenRegistry {
        let router = Router()
        let seen = Locked<[String]>([])
        let portBox = Locked<Int>(0)
        router.get("/token") { request, _ -> Response in
            if let basic = request.headers[.authorization], basic.hasPrefix("Basic "),
                let decoded = Data(base64Encoded: String(basic.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) })
            {
                seen.withLock { $0.append(decoded) }
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"token":"t0k3n"}"#)))
        }
        router.head("/v2/**") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer t0k3n" else {
                let port = portBox.withLock { $0 }
                return Response(
                    status: .unauthorized,
                    headers: [.wwwAuthenticate: #"Bearer realm="http://127.0.0.1:\#(port)/token",service="test-registry",scope="repository:x:pull""#])
            }
            let path = request.uri.path
            if path.hasSuffix("/manifests/hang-7f3a9c") { try await Task.sleep(for: .seconds(120)) }
            guard path.hasSuffix("/manifests/v1.4.2") || path.hasSuffix("/manifests/latest") else { return Response(status: .notFound) }
            return Response(
                status: .ok,
                headers: [.contentType: "application/vnd.oci.image.index.v1+json", .contentLength: "1609", HTTPField.Name("Docker-Content-Digest")!: digest])
        }
        let (port, task) = try await startLoopbackServer(router)
        portBox.withLock { $0 = port }
        return TokenRegistry(url: "http://127.0.0.1:\(port)", task: task, credentials: seen)
    }

    func sawCredentials(_ value: String) -> Bool { credentials.withLock { $0.contains(value) } }

    func stop() { task.cancel() }
}
