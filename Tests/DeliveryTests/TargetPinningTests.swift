import AsyncHTTPClient
@testable import Delivery
import Foundation
import TestSupport
import Testing

/// The guard checks a name once per attempt and the connection goes to the
/// checked address: a name the system cannot even resolve is delivered to
/// where our resolver said, and a name that turns private is refused
/// without saying what it resolved to.
@Suite("SSRF: the checked address is the one connected to", .machineHeavy)
struct TargetPinningTests {
    /// An HTTP server on 127.0.0.2 that answers one request and prints its Host.
    static let oneShotServer = """
        import http.server, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                print("host", self.headers.get("Host"), flush=True)
                self.send_response(204); self.end_headers()
            def log_message(self, *args): pass
        server = http.server.HTTPServer(("127.0.0.2", 0), Handler)
        print("port", server.server_address[1], flush=True)
        server.handle_request()
        """

    @Test func aNameIsConnectedToTheAddressTheGuardChecked() async throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pinned-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        // Debian's python3: no packages needed, and no shim to start.
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env"
        let arguments = python == "/usr/bin/env" ? ["python3", "-c", Self.oneShotServer] : ["-c", Self.oneShotServer]
        let server = try ChildProcess(python, arguments, standardOutput: output.path, standardError: nil)
        var port: String?
        let deadline = ContinuousClock.now + .seconds(120)
        while port == nil, ContinuousClock.now < deadline {
            port = ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n")
                .first { $0.hasPrefix("port ") }.map { String($0.dropFirst(5)) }
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let listening = try #require(port, "the receiver on 127.0.0.2 did not start")

        // Only our resolver knows the name; 127.0.0.2 is allowed by range.
        let resolver = HostResolver(lookUp: { $0 == "rebind.test" ? [IPAddress(parsing: "127.0.0.2")!] : [] })
        let targetGuard = TargetGuard(allowedCIDRs: [CIDR(parsing: "127.0.0.2/32")!], resolver: resolver)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let pinned = PinnedHTTPClients(configuration: .init(), retireAfter: .seconds(1))
        let sender = WebhookSender(http: GuardedHTTPClient(httpClient: client, pinned: pinned, targetGuard: targetGuard), timeout: .seconds(60))
        let outcome = await sender.send(OutboundRequest(url: "http://rebind.test:\(listening)/hook", headers: [], body: "{}"))
        await pinned.shutdown()
        try await client.shutdown()
        _ = try await server.waitForExit(limit: .seconds(60))
        #expect(outcome.statusCode == 204, "\(outcome.error ?? "")")
        let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(printed.contains("host rebind.test:\(listening)"), "the Host header keeps the name: \(printed)")
    }

    @Test func aNameThatTurnsPrivateOrDoesNotResolveIsRefusedWithoutItsAddress() async throws {
        let answers = Locked(["198.51.100.7", "127.0.0.1"].map { IPAddress(parsing: $0)! })
        // Public first, loopback on the next lookup (TTL zero: every attempt looks up).
        let resolver = HostResolver(positiveTTL: .zero, lookUp: { name in
            guard name == "rebind.test" else { return [] }
            return answers.withLock { $0.count > 1 ? [$0.removeFirst()] : $0 }
        })
        let targetGuard = TargetGuard(allowedCIDRs: [CIDR(parsing: "198.51.100.0/24")!], resolver: resolver)
        let first = try await targetGuard.check(url: "http://rebind.test/")
        #expect(first.pinnedAddress == IPAddress(parsing: "198.51.100.7"))
        // While the name is looked up again, attempts keep the checked
        // answer (and connect to it); once the new answer is in, refused.
        var refusal: TargetGuard.Refusal?
        let deadline = ContinuousClock.now + .seconds(120)
        while refusal == nil, ContinuousClock.now < deadline {
            do {
                let again = try await targetGuard.check(url: "http://rebind.test/")
                #expect(again.pinnedAddress == IPAddress(parsing: "198.51.100.7"), "never the unchecked answer")
                try await Task.sleep(for: .milliseconds(10))
            } catch let refused as TargetGuard.Refusal {
                refusal = refused
            }
        }
        #expect(refusal?.reason == .notPublic)
        #expect(refusal.map { !$0.description.contains("127.0.0.1") } == true, "\(String(describing: refusal))")
        await #expect(throws: TargetGuard.Refusal(host: "nowhere.test", reason: .doesNotResolve)) {
            try await targetGuard.check(url: "http://nowhere.test/")
        }
    }
}

