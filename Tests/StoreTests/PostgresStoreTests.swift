import Foundation
import PostgresStore
import RegistryEvents
import Store
import TestSupport
import Testing

@Suite("The PostgreSQL store's own parts", .enabled(if: PostgresCluster.shouldRun))
struct PostgresStoreTests {
    @Test func migrationsHaveSQLitesNamesAndRunOnceFromSeveralNodesAtOnce() async throws {
        let url = try DatabaseURL(parsing: try await SharedPostgres.databaseURL())
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<3 { group.addTask { try await PostgresStore.open(url, poolSize: 2, connectTimeout: .seconds(60), logger: storeTestLogger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for store in stores { await store.close() }
        let cluster = try await SharedPostgres.cluster()
        let names = try await cluster.psql("SELECT name FROM schema_migration ORDER BY name", database: url.database)
        #expect(names.split(separator: "\n").map(String.init) == SQLiteStore.migrationNames)
    }

    /// After its connection is killed, the listener reconnects, announces a
    /// resync, and later changes arrive again.
    @Test func theChangeListenerRecoversFromALostConnection() async throws {
        let url = try DatabaseURL(parsing: try await SharedPostgres.databaseURL())
        let writer = try await PostgresStore.open(url, poolSize: 2, connectTimeout: .seconds(60), logger: storeTestLogger)
        let reader = try await PostgresStore.open(url, poolSize: 2, connectTimeout: .seconds(60), logger: storeTestLogger)
        let changes = ChangeRecorder(reader.changes(of: .webhooks))
        let cluster = try await SharedPostgres.cluster()
        _ = try await cluster.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(url.database)' AND query LIKE 'LISTEN%'",
            database: url.database)
        #expect(await changes.waitFor(.everything, limit: .seconds(10)), "a reconnect resyncs")
        _ = try await writer.put(
            Webhook(registry: "r", name: "after1", serviceURI: "https://hooks.example/x", actions: [.push], location: "local"), quota: 10)
        #expect(await changes.waitFor(.webhooks))
        await writer.close()
        await reader.close()
    }

    @Test func pingFailsOnceTheStoreIsClosedWithoutHanging() async throws {
        let url = try DatabaseURL(parsing: try await SharedPostgres.databaseURL())
        let store = try await PostgresStore.open(url, poolSize: 2, connectTimeout: .seconds(60), logger: storeTestLogger)
        try await store.ping()
        await store.close()
        await #expect(throws: (any Error).self) { try await store.ping() }
    }

    @Test func anUnreachableDatabaseFailsToOpenWithinTheDeadline() async throws {
        let url = try DatabaseURL(parsing: "postgres://postgres@127.0.0.1:1/none?sslmode=disable")
        await #expect(throws: (any Error).self) {
            _ = try await PostgresStore.open(url, poolSize: 1, connectTimeout: .seconds(2), logger: storeTestLogger)
        }
    }
}

@Suite("Database URLs")
struct DatabaseURLTests {
    @Test func aFullURLIsReadWithThePasswordDecodedAndNeverShown() throws {
        let url = try DatabaseURL(parsing: "postgresql://regevents:p%40ss%2Fw0rd@db.internal:6543/control?sslmode=require")
        #expect(url.host == "db.internal")
        #expect(url.port == 6543)
        #expect(url.user == "regevents")
        #expect(url.password == "p@ss/w0rd")
        #expect(url.database == "control")
        #expect(url.tls == .require)
        #expect(url.description == "postgres://regevents:***@db.internal:6543/control?sslmode=require")
        #expect(!url.description.contains("p@ss"))
    }

    @Test func defaultsFollowLibpq() throws {
        let url = try DatabaseURL(parsing: "postgres://app@localhost")
        #expect(url.port == 5432)
        #expect(url.database == "app")
        #expect(url.password == nil)
        #expect(url.tls == .prefer)
        #expect(try DatabaseURL(parsing: "postgres://a@h/d?sslmode=verify-full").tls == .require)
        #expect(try DatabaseURL(parsing: "postgres://a@h/d?sslmode=disable").tls == .disable)
    }

    @Test(arguments: [
        ("mysql://a@h/d", "scheme"), ("postgres:///d", "host"), ("postgres://h/d", "user"),
        ("postgres://a:secret@h/d?sslmode=maybe", "sslmode"), ("postgres://a:secret@h/d?pool=3", "unknown parameter"),
        ("postgres://a@h/d/e", "path"),
    ])
    func badURLsAreRefusedSayingWhyWithoutThePassword(_ text: String, _ problem: String) {
        #expect {
            _ = try DatabaseURL(parsing: text)
        } throws: { error in
            "\(error)".contains(problem) && !"\(error)".contains("secret")
        }
    }
}
