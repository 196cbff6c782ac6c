import Foundation
import TestSupport
import Testing

@Suite("regevents webhook, end to end", .machineHeavy, .serialized)
struct WebhookCLITests {
    @Test func everySubcommandRoundTripsAndWebhooksSurviveARestart() async throws {
        let server = try await RunningServer.start(extraArguments: ["--admin-token", "adm1n"])
        let common = ["--server", server.baseURL, "--registry", "myregistry", "--admin-token", "adm1n"]
        let created = try await RegeventsProcess.run(
            ["webhook", "create"] + common + [
                "--name", "myhook01", "--uri", "https://hooks.example/acr", "--actions", "push", "delete",
                "--headers", "Authorization=Bearer xyz", "--scope", "hello:*", "--tags", "env=dev",
            ])
        #expect(created.status == 0, "\(created.errors)")
        let createdJSON = try jsonObject(Data(created.output.joined(separator: "\n").utf8))
        #expect(createdJSON["name"] as? String == "myhook01")
        #expect(!created.output.joined().contains("xyz"), "create never echoes header values")

        let table = try await RegeventsProcess.run(["webhook", "list"] + common + ["--output", "table"])
        #expect(table.output.first?.hasPrefix("NAME") == true)
        #expect(table.output.contains { $0.hasPrefix("myhook01") && $0.contains("push delete") })

        let updated = try await RegeventsProcess.run(["webhook", "update"] + common + ["--name", "myhook01", "--status", "disabled"])
        #expect(updated.status == 0)
        #expect(updated.output.joined().contains("disabled"))

        let shown = try await RegeventsProcess.run(["webhook", "show"] + common + ["--name", "myhook01"])
        #expect(shown.status == 0)
        #expect(!shown.output.joined().contains("xyz"))

        // Restart on the same data directory: the webhook is still there.
        #expect(try await server.process.stop(SIGTERM) == 0)
        let restarted = try await RunningServer.start(
            extraArguments: ["--admin-token", "adm1n", "--data-dir", server.dataDirectory.path])
        defer { restarted.process.terminateQuietly() }
        let again = ["--server", restarted.baseURL, "--registry", "myregistry", "--admin-token", "adm1n"]
        let config = try await RegeventsProcess.run(["webhook", "get-config"] + again + ["--name", "myhook01"])
        #expect(config.status == 0, "\(config.errors)")
        let configJSON = try jsonObject(Data(config.output.joined(separator: "\n").utf8))
        #expect((configJSON["customHeaders"] as? [String: String])?["Authorization"] == "Bearer xyz")
        #expect(configJSON["serviceUri"] as? String == "https://hooks.example/acr")

        let deleted = try await RegeventsProcess.run(["webhook", "delete"] + again + ["--name", "myhook01"])
        #expect(deleted.status == 0)
        let missing = try await RegeventsProcess.run(["webhook", "show"] + again + ["--name", "myhook01"])
        #expect(missing.status != 0)
        #expect(missing.errors.contains("has no webhook myhook01"))
    }

    @Test func failuresPrintTheServersMessage() async throws {
        let server = try await RunningServer.start(extraArguments: ["--admin-token", "adm1n"])
        defer { server.process.terminateQuietly() }
        let noToken = try await RegeventsProcess.run(["webhook", "list", "--server", server.baseURL, "--registry", "r"])
        #expect(noToken.status != 0)
        #expect(noToken.errors.contains("Unauthorized"))
        let badAction = try await RegeventsProcess.run([
            "webhook", "create", "--server", server.baseURL, "--registry", "r", "--admin-token", "adm1n", "--name", "hook01",
            "--uri", "https://x.example", "--actions", "pull",
        ])
        #expect(badAction.status != 0)
        #expect(badAction.errors.contains("\"pull\" is not an action"))
        let badHeader = try await RegeventsProcess.run([
            "webhook", "create", "--server", server.baseURL, "--registry", "r", "--admin-token", "adm1n", "--name", "hook01",
            "--uri", "https://x.example", "--actions", "push", "--headers", "novalue",
        ])
        #expect(badHeader.status != 0)
        #expect(badHeader.errors.contains("--headers"))
    }
}
