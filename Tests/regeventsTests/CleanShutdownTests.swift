import Foundation
import TestSupport
import Testing

/// A graceful stop of `regevents serve` on the embedded cluster: the clients
/// losing the cluster that serve itself stopped is no fault, so nothing is
/// logged at warning or above once the stop began.
@Suite("A graceful stop logs no warnings or errors", .machineHeavy)
struct CleanShutdownTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func aGracefulStopOnTheEmbeddedClusterLogsNoWarningsOrErrors(_ signal: Int32) async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(
            extraArguments: ["--allow-private-targets"], environment: ["REGEVENTS_LOG_LEVEL": "info"])
        defer { server.process.terminateQuietly() }

        // Consumers in their groups, the producer and a delivery all busy before the stop.
        let created = try await RegeventsProcess.run([
            "webhook", "create", "--server", server.baseURL, "--registry", "myregistry", "--name", "stophook1",
            "--uri", receiver.url("/stop"), "--actions", "push",
        ])
        #expect(created.status == 0, "\(created.errors)")
        let published = try await RegeventsProcess.run([
            "publish", "--server", server.baseURL, "--registry", "myregistry", "--action", "push", "--repository", "hello",
            "--tag", "v1", "--digest", "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c",
        ])
        #expect(published.status == 0, "\(published.errors)")
        #expect(try await receiver.waitFor("/stop", count: 1).count == 1)

        #expect(try await server.process.stop(signal) == 0)
        let lines = server.process.standardError.split(separator: "\n").map(String.init)
        let stopping = try #require(lines.firstIndex { $0.contains("Shutting down") }, "no shutdown line in: \(lines)")
        #expect(lines.contains { $0.contains("Embedded Kafka cluster stopped") })
        // `2026-01-01T00:00:00+0000 warning regevents: …`: the level is the second word.
        let loud = lines[stopping...].filter { line in
            ["warning", "error", "critical"].contains(line.split(separator: " ").dropFirst().first.map(String.init) ?? "")
        }
        #expect(loud.isEmpty, "logged during a graceful stop: \(loud.joined(separator: "\n"))")
    }
}
