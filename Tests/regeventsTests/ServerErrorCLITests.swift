import Foundation
import TestSupport
import Testing

/// What the CLI says when the server refuses it or cannot be reached: one
/// line that names the flag or variable to set.
@Suite("CLI errors about the server say what to set", .machineHeavy)
struct ServerErrorCLITests {
    @Test func aMissingOrWrongAdminTokenNamesTheFlagAndTheVariable() async throws {
        let server = try await RunningServer.start(extraArguments: ["--admin-token", "adm1n"])
        defer { server.process.terminateQuietly() }
        let list = ["webhook", "list", "--server", server.baseURL, "--registry", "myreg"]
        let noToken: [String: String] = ["REGEVENTS_ADMIN_TOKEN": ""]

        let missing = try await RegeventsProcess.run(list, environment: noToken)
        #expect(missing.status == 1)
        #expect(
            missing.errors
                == "regevents: the server needs the admin token: give --admin-token or set REGEVENTS_ADMIN_TOKEN (HTTP 401 Unauthorized)\n")

        let wrong = try await RegeventsProcess.run(list + ["--admin-token", "nope"], environment: noToken)
        #expect(wrong.status == 1)
        #expect(
            wrong.errors
                == "regevents: wrong admin token (not the one serve was started with): give --admin-token or set REGEVENTS_ADMIN_TOKEN (HTTP 401 Unauthorized)\n"
        )

        let fromEnvironment = try await RegeventsProcess.run(list, environment: ["REGEVENTS_ADMIN_TOKEN": "adm1n"])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.errors)")
    }

    @Test func aMissingIngestTokenNamesTheFlagAndTheVariable() async throws {
        let server = try await RunningServer.start(extraArguments: ["--ingest-token", "s3cret"])
        defer { server.process.terminateQuietly() }
        let published = try await RegeventsProcess.run(
            ["publish", "--server", server.baseURL, "--registry", "myreg", "--action", "push", "--repository", "hello"],
            environment: ["REGEVENTS_INGEST_TOKEN": ""])
        #expect(published.status == 1)
        #expect(
            published.errors
                == "regevents: the server needs the ingest token: give --ingest-token or set REGEVENTS_INGEST_TOKEN (HTTP 401 Unauthorized)\n")
    }

    @Test(arguments: [["webhook", "list", "-r", "myreg"], ["subscription", "list", "-r", "myreg"], ["topics"], ["tail"]])
    func anUnreachableServerIsOneBalancedLine(_ command: [String]) async throws {
        let result = try await RegeventsProcess.run(command + ["--server", "http://127.0.0.1:1"])
        #expect(result.status == 1)
        #expect(
            result.errors
                == "regevents: cannot reach the server at http://127.0.0.1:1 (connection refused); is regevents serve running? Set --server or REGEVENTS_SERVER\n"
        )
    }

    @Test func aServerValueThatIsNoURLNamesTheFlag() async throws {
        let result = try await RegeventsProcess.run(["webhook", "list", "-r", "myreg"], environment: ["REGEVENTS_SERVER": "localhost:8080"])
        #expect(result.status == 64)
        #expect(result.errors == "regevents: --server (or REGEVENTS_SERVER): \"localhost:8080\" is not a URL like http://127.0.0.1:8080\n")
    }
}
