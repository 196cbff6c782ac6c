import Foundation
import TestSupport
import Testing

/// `serve --database-url`: one node on PostgreSQL, as each node of a cluster runs.
@Suite("serve on PostgreSQL", .machineHeavy, .serialized, .enabled(if: PostgresCluster.shouldRun))
struct PostgresServeTests {
    @Test(arguments: [
        (["--database-url", "mysql://u:s3cret@db/x"], "--database-url: the database URL has the scheme \"mysql\""),
        (["--database-url", "postgres://u:s3cret@db/x?sslmode=maybe"], "--database-url: the database URL has sslmode=maybe"),
        (["--database-url", "postgres://u:s3cret@db/x", "--data-dir", "/tmp/x"], "--data-dir: give --data-dir (SQLite, one node) or --database-url"),
        (["--database-pool-size", "5"], "--database-pool-size: applies only with --database-url"),
        (["--database-url", "postgres://u:s3cret@db/x", "--database-pool-size", "0"], "--database-pool-size: must be between 1 and 1000"),
    ])
    func aBadDatabaseSettingExits64NamingItsFlagWithoutThePassword(_ arguments: [String], _ message: String) async throws {
        let result = try await RegeventsProcess.run(["serve", "--listen", "127.0.0.1:0"] + arguments)
        #expect(result.status == 64, "stderr: \(result.errors)")
        #expect(result.errors.contains("regevents: \(message)"), "\(result.errors)")
        #expect(!(result.errors + result.output.joined()).contains("s3cret"))
    }

    @Test func anUnreachableDatabaseExits64NamingIt() async throws {
        let result = try await RegeventsProcess.run(
            ["serve", "--listen", "127.0.0.1:0", "--database-url", "postgres://u:s3cret@127.0.0.1:1/x?sslmode=disable"],
            limit: .seconds(90))
        #expect(result.status == 64, "stderr: \(result.errors)")
        #expect(result.errors.contains("--database-url: cannot open the database at postgres://u:***@127.0.0.1:1/x"), "\(result.errors)")
        #expect(!result.errors.contains("s3cret"))
    }

    /// The URL from a file (a mounted secret), webhooks, a delivery and its
    /// log, `/v1/info`, and readiness that follows the database.
    @Test func aNodeOnPostgreSQLServesWebhooksAndItsReadinessFollowsTheDatabase() async throws {
        let database = try await PostgresCluster.start()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        do {
            // Trust authentication ignores the password; it must still never show.
            let url = try await database.createDatabase().replacingOccurrences(of: "postgres@", with: "postgres:s3cret@")
            let urlFile = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-db-url-\(UUID().uuidString)")
            try Data((url + "\n").utf8).write(to: urlFile)
            defer { try? FileManager.default.removeItem(at: urlFile) }
            let server = try await RunningServer.start(
                extraArguments: ["--allow-private-targets"],
                environment: ["REGEVENTS_DATABASE_URL_FILE": urlFile.path])
            defer { server.process.terminateQuietly() }
            let info = try await API.send(.GET, "\(server.baseURL)/v1/info")
            let store = try #require(info.body["store"] as? [String: Any])
            #expect(store["kind"] as? String == "postgresql")
            #expect((store["location"] as? String)?.hasPrefix("postgres://postgres:***@127.0.0.1:\(database.port)/t_") == true)
            #expect(!info.text.contains("s3cret"))

            try await DeliveryFaultTests.createWebhook(server.baseURL, "pghook01", receiver.url("/pg"))
            _ = try await DeliveryFaultTests.ingest(server.baseURL, ids: ["pg-1", "pg-2"])
            try await KafkaFaultTests.waitForAll(["pg-1", "pg-2"], at: "/pg", receiver, limit: .seconds(30))
            var logged: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(30)
            while logged.count < 2, ContinuousClock.now < deadline {
                let events = try await API.send(.GET, "\(server.baseURL)/v1/registries/myregistry/webhooks/pghook01/events")
                logged = (events.body["value"] as? [[String: Any]]) ?? []
                if logged.count < 2 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(logged.count == 2, "both attempts are in the shared delivery log")

            #expect(try await API.send(.GET, "\(server.baseURL)/readyz").status == 200)
            await database.stopServer()
            var answer = try await API.send(.GET, "\(server.baseURL)/readyz")
            #expect(answer.status == 503)
            #expect(answer.text.contains("StoreUnavailable"), "\(answer.text)")
            #expect(!answer.text.contains("s3cret"))
            try await database.startServer()
            let back = ContinuousClock.now + .seconds(30)
            while answer.status != 200, ContinuousClock.now < back {
                try await Task.sleep(for: .milliseconds(200))
                answer = try await API.send(.GET, "\(server.baseURL)/readyz")
            }
            #expect(answer.status == 200, "ready again once the database is back: \(answer.text)")
            #expect(!server.process.standardError.contains("s3cret"), "the password is never logged")
        } catch {
            await database.stop()
            throw error
        }
        await database.stop()
    }
}
