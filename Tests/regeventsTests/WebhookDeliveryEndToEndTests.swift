import Crypto
import Foundation
import TestSupport
import Testing

/// Deliveries through the real server to a real HTTP receiver.
@Suite("Webhook deliveries, end to end", .machineHeavy, .serialized)
struct WebhookDeliveryEndToEndTests {
    static let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"

    func create(_ server: String, _ name: String, _ uri: String, _ extra: [String] = []) async throws {
        let result = try await RegeventsProcess.run(
            ["webhook", "create", "--server", server, "--registry", "myregistry", "--name", name, "--uri", uri] + extra)
        #expect(result.status == 0, "create \(name): \(result.errors)")
    }

    func publish(_ server: String, _ extra: [String]) async throws {
        let result = try await RegeventsProcess.run(
            ["publish", "--server", server, "--registry", "myregistry", "--repository", "hello", "--digest", Self.digest] + extra)
        #expect(result.status == 0, "publish: \(result.errors)")
    }

    @Test func filtersRetriesDeadLettersPingsAndASlowEndpointHoldsNobodyBack() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--webhook-retry-schedule", "200ms", "--webhook-max-attempts", "3", "--webhook-timeout", "15",
            "--allow-private-targets",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await create(base, "okhook01", receiver.url("/ok1"), ["--actions", "push", "--headers", "X-Auth=abc", "--scope", "hello:*"])
        try await create(base, "flakyhk1", receiver.url("/flaky1"), ["--actions", "push"])
        try await create(base, "failhook1", receiver.url("/fail1"), ["--actions", "push"])
        try await create(base, "slowhook1", receiver.url("/slow1"), ["--actions", "push"])
        try await create(base, "scopehk1", receiver.url("/scope1"), ["--actions", "push", "--scope", "other:*"])
        try await create(base, "deletehk1", receiver.url("/delete1"), ["--actions", "delete"])
        try await create(base, "disabled1", receiver.url("/disabled1"), ["--actions", "push", "--status", "disabled"])
        try await create(base, "eastus01", receiver.url("/east1"), ["--actions", "push", "--location", "eastus"])

        try await publish(base, ["--action", "push", "--tag", "v1", "--id", "ev-push"])

        // The healthy webhook is served while the slow one still holds its request (it answers after 20 s).
        let ok = try await receiver.waitFor("/ok1", count: 1, limit: .seconds(10))
        #expect(ok.count == 1)
        let delivered = try #require(ok.first)
        #expect(delivered.headers["content-type"] == "application/json")
        #expect(delivered.headers["x-auth"] == "abc")
        #expect(delivered.headers["webhook-signature"] == nil, "unsigned by default, as ACR sends it")
        let body = try jsonObject(Data(delivered.body.utf8))
        #expect(body["id"] as? String == "ev-push")
        #expect(body["action"] as? String == "push")
        #expect((body["target"] as? [String: Any])?["tag"] as? String == "v1")
        #expect(Set(body.keys) == ["id", "timestamp", "action", "target", "request"])

        // Fails twice, then succeeds: three attempts, in order.
        let flaky = try await receiver.waitFor("/flaky1", count: 3)
        #expect(flaky.count == 3)
        #expect(Set(flaky.map(\.body)).count == 1, "every attempt carries the same body")

        // Always fails: three attempts, then the dead-letter topic says why.
        #expect(try await receiver.waitFor("/fail1", count: 3).count == 3)
        let deadLetters = try await tailUntil(server, topic: "deadletter", containing: "failhook1")
        #expect(deadLetters.contains("MaxDeliveryAttemptsExceeded"))

        // list-events: newest first, the endpoint's answers, header values
        // masked. The log is written just behind the attempts: wait for all three.
        var statuses: [String] = []
        for _ in 0..<150 where statuses.count < 3 {
            let events = try await RegeventsProcess.run([
                "webhook", "list-events", "--server", base, "--registry", "myregistry", "--name", "flakyhk1",
            ])
            let listed = try jsonObject(Data(events.output.joined(separator: "\n").utf8))
            statuses = (listed["value"] as? [[String: Any]] ?? []).compactMap {
                ($0["eventResponseMessage"] as? [String: Any])?["statusCode"] as? String
            }
            if statuses.count < 3 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(statuses == ["200", "503", "503"])
        let okEvents = try await RegeventsProcess.run([
            "webhook", "list-events", "--server", base, "--registry", "myregistry", "--name", "okhook01",
        ])
        #expect(okEvents.output.joined().contains("\"X-Auth\" : \"***\""))
        #expect(!okEvents.output.joined().contains("abc"))

        // Other actions and locations reach only the webhooks that asked.
        try await publish(base, ["--action", "delete", "--id", "ev-delete"])
        try await publish(base, ["--action", "push", "--tag", "v2", "--id", "ev-east", "--location", "eastus"])
        #expect(try await receiver.waitFor("/delete1", count: 1).count == 1)
        let east = try await receiver.waitFor("/east1", count: 1)
        #expect(east.first?.body.contains("ev-east") == true)

        // Ping goes even to a disabled webhook, and list-events shows its answer.
        let ping = try await RegeventsProcess.run(["webhook", "ping", "--server", base, "--registry", "myregistry", "--name", "disabled1"])
        #expect(ping.status == 0, "\(ping.errors)")
        let pinged = try await receiver.waitFor("/disabled1", count: 1)
        #expect(pinged.count == 1)
        #expect((try jsonObject(Data((pinged.first?.body ?? "").utf8)))["action"] as? String == "ping")

        #expect(receiver.requests("/scope1").isEmpty, "out of scope")
        #expect(receiver.requests("/disabled1").count == 1, "a disabled webhook gets pings only")
        #expect(receiver.requests("/ok1").count == 1, "the eastus push is not for a local webhook")
    }

    @Test func restartingServeAgainstABrokerThatStaysUpDeliversEverything() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let broker = try RegeventsProcess(["broker"])
        defer { broker.terminateQuietly() }
        let line = try await broker.waitForLine(containing: "embedded Kafka broker")
        let bootstrap = String(line.split(separator: " ").last ?? "")
        let first = try await RunningServer.start(extraArguments: ["--kafka-brokers", bootstrap, "--allow-private-targets"])
        try await create(first.baseURL, "keeper01", receiver.url("/keep"), ["--actions", "push"])
        try await publish(first.baseURL, ["--action", "push", "--tag", "v1", "--id", "before-stop"])
        #expect(try await receiver.waitFor("/keep", count: 1).count == 1)
        #expect(try await first.process.stop(SIGTERM) == 0)

        // While serve is down, events keep arriving in Kafka.
        for index in 0..<3 {
            let body = #"{"action":"push","id":"while-down-\#(index)","request":{"host":"","id":"","method":"","useragent":""},"target":{"digest":"\#(Self.digest)","length":1,"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"hello","size":1,"tag":"v\#(index)"},"timestamp":"2026-11-25T18:00:00Z"}"#
            let produced = try await runTool(
                "kcat",
                ["-P", "-b", bootstrap, "-t", "registry-events.acr", "-k", "myregistry/hello", "-H", "registry=myregistry",
                 "-H", "location=local", "-H", "action=push"],
                input: body + "\n")
            #expect(produced.status == 0)
        }
        let second = try await RunningServer.start(
            extraArguments: ["--kafka-brokers", bootstrap, "--data-dir", first.dataDirectory.path, "--allow-private-targets"])
        defer { second.process.terminateQuietly() }
        // The new server joins the consumer group first: give a loaded machine time.
        let all = try await receiver.waitFor("/keep", count: 4, limit: .seconds(120))
        let ids = Set(all.compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String })
        #expect(ids == ["before-stop", "while-down-0", "while-down-1", "while-down-2"])
    }

    @Test func signedWebhooksCarryVerifiableStandardWebhooksHeaders() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets"])
        defer { server.process.terminateQuietly() }
        try await create(server.baseURL, "signed001", receiver.url("/signed"), ["--actions", "push", "--signing-secret", "generate"])
        let shown = try await RegeventsProcess.run(["webhook", "show", "--server", server.baseURL, "--registry", "myregistry", "--name", "signed001"])
        #expect(!shown.output.joined().contains("whsec_"), "the secret is write-only")
        let config = try await RegeventsProcess.run([
            "webhook", "get-config", "--server", server.baseURL, "--registry", "myregistry", "--name", "signed001",
        ])
        let secret = try #require(try jsonObject(Data(config.output.joined(separator: "\n").utf8))["signingSecret"] as? String)
        #expect(secret.hasPrefix("whsec_"))
        try await publish(server.baseURL, ["--action", "push", "--tag", "v1", "--id", "signed-event"])
        let request = try #require(try await receiver.waitFor("/signed", count: 1).first)
        let id = try #require(request.headers["webhook-id"])
        let timestamp = try #require(request.headers["webhook-timestamp"])
        let signature = try #require(request.headers["webhook-signature"])
        #expect(!id.contains("."))
        let key = try #require(Data(base64Encoded: String(secret.dropFirst("whsec_".count))))
        let expected = HMAC<SHA256>.authenticationCode(
            for: Data("\(id).\(timestamp).\(request.body)".utf8), using: SymmetricKey(data: key))
        #expect(signature == "v1," + Data(expected).base64EncodedString())
        #expect(abs((Int(timestamp) ?? 0) - Int(Date().timeIntervalSince1970)) < 600)
    }

    /// Rotation without downtime, checked by the Standard Webhooks
    /// reference library: during the grace period a delivery verifies with
    /// the old secret and with the new one; after `--grace 0`, only the newest.
    @Test func aRotatedSecretKeepsTheOldOneSigningForTheGracePeriod() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets"])
        defer { server.process.terminateQuietly() }
        try await create(server.baseURL, "rotated01", receiver.url("/rotated"), ["--actions", "push", "--signing-secret", "generate"])
        let target = ["--server", server.baseURL, "--registry", "myregistry", "--name", "rotated01"]
        func secret(_ arguments: [String]) async throws -> String {
            let result = try await RegeventsProcess.run(["webhook"] + arguments + target)
            return try #require(try jsonObject(Data(result.output.joined(separator: "\n").utf8))["signingSecret"] as? String, "\(result)")
        }
        let original = try await secret(["get-config"])
        let rotated = try await secret(["rotate-secret"])
        #expect(rotated != original)
        try await publish(server.baseURL, ["--action", "push", "--tag", "v1", "--id", "during-grace"])
        let during = try #require(try await receiver.waitFor("/rotated", count: 1).first)
        #expect(during.headers["webhook-signature"]?.split(separator: " ").count == 2)
        #expect(try await Self.verifies(during, with: original))
        #expect(try await Self.verifies(during, with: rotated))

        // A second rotation within the grace period would cut the oldest secret off early.
        let again = try await RegeventsProcess.run(["webhook", "rotate-secret"] + target)
        #expect(again.status == 1)
        #expect(again.errors.contains("RotationInProgress"), "\(again.errors)")

        let newest = try await secret(["rotate-secret", "--grace", "0"])
        try await publish(server.baseURL, ["--action", "push", "--tag", "v2", "--id", "after-grace"])
        let after = try #require(try await receiver.waitFor("/rotated", count: 2).last)
        #expect(try await Self.verifies(after, with: newest))
        #expect(try await !Self.verifies(after, with: rotated))
        #expect(try await !Self.verifies(after, with: original))
    }

    /// `standardwebhooks.Webhook(secret).verify(body, headers)`, in Python.
    static func verifies(_ request: WebhookReceiver.Received, with secret: String) async throws -> Bool {
        let script = """
            import json, sys, standardwebhooks
            try:
                standardwebhooks.Webhook(sys.argv[1]).verify(sys.stdin.read(), json.loads(sys.argv[2]))
                print("verified")
            except standardwebhooks.WebhookVerificationError as error:
                print("refused:", error)
            """
        let headers = String(decoding: try JSONSerialization.data(withJSONObject: request.headers), as: UTF8.self)
        // The python3 on PATH, where scripts/install-test-deps.sh installs the checks.
        let result = try await runToCompletion("/usr/bin/env", ["python3", "-c", script, secret, headers], input: request.body)
        return result.output.hasPrefix("verified")
    }

    /// A CONNECT proxy on loopback that tunnels, printing each CONNECT target.
    static let connectProxy = """
        import select, socket, sys, threading
        listener = socket.create_server(("127.0.0.1", 0))
        print("port", listener.getsockname()[1], flush=True)
        def tunnel(client):
            head = b""
            while b"\\r\\n\\r\\n" not in head:
                chunk = client.recv(4096)
                if not chunk: return
                head += chunk
            target = head.split(b" ")[1].decode()
            print("CONNECT", target, flush=True)
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host.strip("[]"), int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\\r\\n\\r\\n")
            sockets = [client, upstream]
            while True:
                for ready in select.select(sockets, [], [], 30)[0]:
                    data = ready.recv(65536)
                    if not data: return
                    (upstream if ready is client else client).sendall(data)
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=tunnel, args=(connection,), daemon=True).start()
        """

    /// `--egress-proxy`: deliveries leave through the proxy, by CONNECT.
    @Test func anEgressProxyCarriesEveryDelivery() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("proxy-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let proxy = try ChildProcess("/usr/bin/env", ["python3", "-c", Self.connectProxy], standardOutput: output.path, standardError: nil)
        defer { proxy.send(SIGKILL) }
        func printed() -> String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        let deadline = ContinuousClock.now + .seconds(60)
        while !printed().contains("port "), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let port = try #require(printed().split(separator: "\n").first { $0.hasPrefix("port ") }?.dropFirst(5))
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets", "--egress-proxy", "http://127.0.0.1:\(port)"])
        defer { server.process.terminateQuietly() }
        try await create(server.baseURL, "proxied01", receiver.url("/proxied"), ["--actions", "push"])
        try await publish(server.baseURL, ["--action", "push", "--tag", "v1", "--id", "through-the-proxy"])
        #expect(try await receiver.waitFor("/proxied", count: 1).count == 1)
        let receiverPort = receiver.url("/").split(separator: ":").last?.split(separator: "/").first.map(String.init) ?? ""
        #expect(printed().contains("CONNECT 127.0.0.1:\(receiverPort)"), "\(printed())")
    }

    @Test func aRetryDueInAnHourDoesNotHoldUpShutdown() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-retry-schedule", "1h",
        ])
        try await create(server.baseURL, "failing01", receiver.url("/fail-later"), ["--actions", "push"])
        try await publish(server.baseURL, ["--action", "push", "--tag", "v1", "--id", "later"])
        #expect(try await receiver.waitFor("/fail-later", count: 1).count == 1)
        // The retry now waits in the 1h tier, its partition paused.
        let waiting = try await tailUntil(server, topic: "retry.1h", containing: "later")
        #expect(waiting.contains("failing01"))
        // A graceful stop does not wait for the hour (stop fails the test past 30 s).
        #expect(try await server.process.stop(SIGTERM) == 0)
    }

    @Test func privateTargetsAreRefusedByDefault() async throws {
        let server = try await RunningServer.start(extraArguments: ["--allow-target-cidr", "10.9.0.0/16"])
        defer { server.process.terminateQuietly() }
        for target in ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data", "http://[::1]:80/", "http://192.168.1.1/"] {
            let refused = try await RegeventsProcess.run([
                "webhook", "create", "--server", server.baseURL, "--registry", "myregistry", "--name", "ssrfhook1",
                "--uri", target, "--actions", "push",
            ])
            #expect(refused.status != 0, "\(target) was accepted")
            #expect(refused.errors.contains("TargetNotAllowed"), "\(refused.errors)")
        }
        let allowed = try await RegeventsProcess.run([
            "webhook", "create", "--server", server.baseURL, "--registry", "myregistry", "--name", "ssrfhook1",
            "--uri", "http://10.9.3.4/hook", "--actions", "push",
        ])
        #expect(allowed.status == 0, "an allowed range is accepted: \(allowed.errors)")
    }
}
