import Logging
import PostgresNIO

/// The schema, as named migrations applied in order, each once, in one
/// transaction under an advisory lock so nodes starting together apply them
/// once. The names are SQLite's (`SQLiteStore.migrationNames`); a migration
/// that has shipped is never edited.
enum PostgresMigrations {
    static let all: [(name: String, statements: [String])] = [
        (
            "v1: webhooks and their delivery log",
            [
                """
                CREATE TABLE webhook (
                    registry text NOT NULL, name text NOT NULL, service_uri text NOT NULL,
                    custom_headers text NOT NULL, actions text NOT NULL, scope text NOT NULL, status text NOT NULL,
                    location text NOT NULL, tags text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
                    PRIMARY KEY (registry, name))
                """,
                """
                CREATE TABLE delivery_log (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, registry text NOT NULL, webhook text NOT NULL,
                    event_id text NOT NULL, attempt bigint NOT NULL, request text NOT NULL, response text,
                    created_at timestamptz NOT NULL,
                    FOREIGN KEY (registry, webhook) REFERENCES webhook (registry, name) ON DELETE CASCADE)
                """,
                "CREATE INDEX delivery_log_by_webhook ON delivery_log (registry, webhook, id)",
            ]
        ),
        ("v2: webhook signing secrets", ["ALTER TABLE webhook ADD COLUMN signing_secret text"]),
        (
            "v3: event subscriptions and custom topics",
            [
                """
                CREATE TABLE custom_topic (
                    name text PRIMARY KEY, input_schema text NOT NULL, key1 text NOT NULL, key2 text NOT NULL,
                    created_at timestamptz NOT NULL)
                """,
                """
                CREATE TABLE event_subscription (
                    scope_kind text NOT NULL, scope_name text NOT NULL, name text NOT NULL, definition bytea NOT NULL,
                    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
                    PRIMARY KEY (scope_kind, scope_name, name))
                """,
            ]
        ),
        (
            "v4: webhook delivery lanes and ordering",
            ["ALTER TABLE webhook ADD COLUMN max_concurrent_deliveries bigint, ADD COLUMN ordering text"]
        ),
        (
            "v5: webhook signing secret rotation",
            [
                "ALTER TABLE webhook ADD COLUMN previous_signing_secret text, ADD COLUMN previous_signing_secret_valid_until timestamptz"
            ]
        ),
        (
            "v6: change versions",
            [
                "CREATE TABLE change_version (part text PRIMARY KEY, version bigint NOT NULL)",
                "INSERT INTO change_version (part, version) VALUES ('webhooks', 0), ('subscriptions', 0)",
            ]
        ),
        (
            "v7: tag index",
            [
                """
                CREATE TABLE tag_index (
                    registry text NOT NULL, repository text NOT NULL, tag text NOT NULL, digest text NOT NULL,
                    removed boolean NOT NULL DEFAULT false, changed_at timestamptz NOT NULL,
                    PRIMARY KEY (registry, repository, tag))
                """,
                "CREATE INDEX tag_index_by_digest ON tag_index (registry, repository, digest)",
            ]
        ),
    ]

    static var names: [String] { all.map(\.name) }

    /// Any constant both nodes agree on: serializes migrators across nodes.
    private static let lockKey = 0x7265_6765_7665_6e74  // "regevent"

    /// Applies the missing migrations; returns the names it applied.
    @discardableResult
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await PostgresStore.transaction(client, logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM schema_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            var ran: [String] = []
            for migration in all where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migration (name) VALUES (\(migration.name))", logger: logger)
                ran.append(migration.name)
            }
            return ran
        }
    }
}
