import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

/// Issue 13 on the real binary: it will not listen open by accident, takes
/// its tokens from mounted files, and does not let a slow client hold a
/// connection.
@Suite("Secure by default, end to end", .machineHeavy)
struct SecureByDefaultEndToEndTests {
    @Test func aNonLoopbackAddressWithoutTokensIsRefusedNamingTheFlags() async throws {
        let result = try await RegeventsProcess.run(["serve", "--listen", "0.0.0.0:0", "--data-dir", Self.scratch().path])
        #expect(result.status == 64)
        #expect(result.errors.contains("--admin-token and --ingest-token"), "\(result.errors)")
        #expect(result.errors.contains("--insecure-no-auth"), "\(result.errors)")

        let both = try await RegeventsProcess.run(["serve", "--admin-token", "a", "--admin-token-file", "/nonexistent"])
        #expect(both.status == 64)
        #expect(both.errors.contains("give --admin-token or --admin-token-file, not both"), "\(both.errors)")
        let missing = try await RegeventsProcess.run(["serve", "--ingest-token-file", "/nonexistent/token"])
        #expect(missing.status == 64)
        #expect(missing.errors.contains("--ingest-token-file: cannot read /nonexistent/token"), "\(missing.errors)")
    }

    @Test func tokensComeFromFilesAndGuardEveryRouteButHealthAndMetrics() async throws {
        let directory = Self.scratch()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let adminFile = directory.appendingPathComponent("admin-token")
        let ingestFile = directory.appendingPathComponent("ingest-token")
        try "s3cret-admin\n".write(to: adminFile, atomically: true, encoding: .utf8)
        try "s3cret-ingest\r\n".write(to: ingestFile, atomically: true, encoding: .utf8)
        let server = try await RunningServer.start(extraArguments: [
            "--listen", "0.0.0.0:0", "--admin-token-file", adminFile.path, "--ingest-token-file", ingestFile.path,
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        #expect(try await API.send(.GET, "\(base)/v1/info").status == 401)
        #expect(try await API.send(.GET, "\(base)/v1/info", headers: ["Authorization": "Bearer s3cret-admin"]).status == 200)
        #expect(try await API.send(.GET, "\(base)/v1/kafka/topics").status == 401)
        #expect(try await API.send(.POST, "\(base)/v1/registries/r/events", json: [:]).status == 401)
        let ingest = try await API.send(
            .POST, "\(base)/v1/registries/r/events", json: ["action": "nope"], headers: ["Authorization": "Bearer s3cret-ingest"])
        #expect(ingest.status == 400, "the ingest token (read without its \\r\\n) is accepted: \(ingest.text)")
        #expect(try await API.send(.GET, "\(base)/healthz").status == 200)
        #expect(try await API.send(.GET, "\(base)/metrics").status == 200)
    }

    /// A client that sends its request a header line at a time, for ever,
    /// is cut off at the read timeout, and other clients are still served;
    /// also after an early answer (401) to a request whose body it sent
    /// late, which must not leave the connection without a deadline.
    @Test(arguments: [false, true])
    func aClientTricklingItsRequestIsCutOff(afterAnEarlyAnswer: Bool) async throws {
        let server = try await RunningServer.start(extraArguments: ["--request-read-timeout", "2", "--ingest-token", "t0ken"])
        defer { server.process.terminateQuietly() }
        let port = server.baseURL.split(separator: ":").last.map(String.init) ?? ""
        let trickle = """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            if sys.argv[2] == "early":
                # An early 401 before the body, then the body: the connection lives on.
                s.sendall(b"POST /v1/registries/r/events HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 10\\r\\n\\r\\n")
                answer = b""
                while b"\\r\\n\\r\\n" not in answer: answer += s.recv(4096)
                time.sleep(0.5)
                s.sendall(b"0123456789")
            s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n")
            for i in range(60):
                time.sleep(0.5)
                try:
                    s.sendall(b"X-Slow-%d: 1\\r\\n" % i)
                    s.settimeout(0.01)
                    if s.recv(1) == b"":
                        print("closed after", i + 1, "lines"); sys.exit(0)
                except socket.timeout:
                    pass
                except OSError:
                    print("closed after", i + 1, "lines"); sys.exit(0)
            print("still open after 60 lines")
            """
        let result = try await runTool("python3", ["-c", trickle, port, afterAnEarlyAnswer ? "early" : "plain"])
        #expect(result.output.hasPrefix("closed after"), "\(result.output)")
        #expect(try await API.send(.GET, "\(server.baseURL)/healthz").status == 200)
    }

    /// The CLI refuses a name by the server's own rule before sending anything.
    @Test(arguments: [
        (["webhook", "show", "-r", "BAD..NAME", "-n", "hook01"], "--registry: registry name \"BAD..NAME\" is invalid"),
        (["webhook", "show", "-r", "myregistry", "-n", "hook"], "--name: webhook name \"hook\" is invalid: letters and digits only"),
        (["subscription", "show", "-r", "myregistry", "-n", "s"], "--name: event subscription name \"s\" is invalid"),
        (["topic", "show", "-n", "a_b"], "--name: topic name \"a_b\" is invalid"),
    ])
    func theCLIChecksNamesByTheServersRules(_ arguments: [String], _ message: String) async throws {
        let result = try await RegeventsProcess.run(arguments + ["--server", "http://127.0.0.1:1"])
        #expect(result.status == 64)
        #expect(result.errors.contains(message), "\(result.errors)")
    }

    /// An HTTP dead-letter endpoint consents (OPTIONS) before it is used.
    @Test func anHTTPDeadLetterEndpointMustConsent() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets"])
        defer { server.process.terminateQuietly() }
        let scope = "registries/myregistry"
        let refused = try await API.send(.PUT, "\(server.baseURL)/v1/\(scope)/eventSubscriptions/dlnoconsent", json: ["properties": [
            "destination": API.webhook(receiver.url("/ok")),
            "deadLetterDestination": ["endpointType": "WebHook", "properties": ["endpointUrl": receiver.url("/noorigin-dl")]],
        ]])
        #expect(refused.status == 400)
        #expect(refused.text.contains("properties.deadLetterDestination: Webhook validation handshake failed"), "\(refused.text)")
        try await API.subscribe(server.baseURL, scope, "dlconsent", [
            "destination": API.webhook(receiver.url("/ok")),
            "deadLetterDestination": ["endpointType": "WebHook", "properties": ["endpointUrl": receiver.url("/dl")]],
        ])
        #expect(receiver.handshakes("/dl").contains { $0.method == "OPTIONS" })
    }

    /// A header past the limits is refused with our JSON error, not the
    /// HTTP server's bare 400.
    @Test func aHeaderPastTheLimitsIsA431WithAJSONError() async throws {
        let server = try await RunningServer.start()
        defer { server.process.terminateQuietly() }
        let big = try await API.send(.GET, "\(server.baseURL)/healthz", headers: ["X-Big": String(repeating: "b", count: 20_000)])
        #expect(big.status == 431)
        #expect((big.body["error"] as? [String: Any])?["code"] as? String == "RequestHeaderFieldsTooLarge", "\(big.text)")
        #expect(try await API.send(.GET, "\(server.baseURL)/healthz").status == 200, "the server serves on")
    }

    /// schemathesis over docs/openapi.yaml against the live server:
    /// generated and mutated inputs on every operation, no 5xx, and every
    /// 4xx our JSON error (scripts/openapi-fuzz).
    @Test func theOpenAPIContractHoldsUnderGeneratedAndMutatedInputs() async throws {
        // Quay's and Docker Hub's digest lookups go to a registry the test runs, not the internet.
        let registry = try await TokenRegistry.start()
        defer { registry.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--admin-token", "fuzz-admin", "--ingest-token", "fuzz-ingest", "--quay-registry-url", registry.url,
            "--dockerhub-registry-url", registry.url,
        ])
        defer { server.process.terminateQuietly() }
        let result = try await runPythonScript(
            "openapi-fuzz",
            ["--base-url", server.baseURL, "--admin-token", "fuzz-admin", "--ingest-token", "fuzz-ingest", "--max-examples", "15", "--max-time", "150"])
        #expect(result.status == 0, "\(result.output)")
    }

    static func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("regevents-secure-\(UUID().uuidString)")
    }
}
