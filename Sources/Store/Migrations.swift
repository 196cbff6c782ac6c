import GRDB

/// The schema, as named migrations. A migration that has shipped is never
/// edited: change the schema with a new one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: webhooks and their delivery log") { db in
            try db.create(table: "webhook") { t in
                t.column("registry", .text).notNull()
                t.column("name", .text).notNull()
                t.column("serviceURI", .text).notNull()
                t.column("customHeaders", .jsonText).notNull()
                t.column("actions", .jsonText).notNull()
                t.column("scope", .text).notNull()
                t.column("status", .text).notNull()
                t.column("location", .text).notNull()
                t.column("tags", .jsonText).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["registry", "name"])
            }
            try db.create(table: "deliveryLog") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("registry", .text).notNull()
                t.column("webhook", .text).notNull()
                t.column("eventID", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("request", .jsonText).notNull()
                t.column("response", .jsonText)
                t.column("createdAt", .datetime).notNull()
                t.foreignKey(["registry", "webhook"], references: "webhook", onDelete: .cascade)
            }
            try db.create(index: "deliveryLogByWebhook", on: "deliveryLog", columns: ["registry", "webhook", "id"])
        }
        migrator.registerMigration("v2: webhook signing secrets") { db in
            try db.alter(table: "webhook") { t in t.add(column: "signingSecret", .text) }
        }
        migrator.registerMigration("v3: event subscriptions and custom topics") { db in
            try db.create(table: "customTopic") { t in
                t.primaryKey("name", .text)
                t.column("inputSchema", .text).notNull()
                t.column("key1", .text).notNull()
                t.column("key2", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "eventSubscription") { t in
                t.column("scopeKind", .text).notNull()
                t.column("scopeName", .text).notNull()
                t.column("name", .text).notNull()
                t.column("definition", .blob).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["scopeKind", "scopeName", "name"])
            }
        }
        migrator.registerMigration("v4: webhook delivery lanes and ordering") { db in
            try db.alter(table: "webhook") { t in
                t.add(column: "maxConcurrentDeliveries", .integer)
                t.add(column: "ordering", .text)
            }
        }
        migrator.registerMigration("v5: webhook signing secret rotation") { db in
            try db.alter(table: "webhook") { t in
                t.add(column: "previousSigningSecret", .text)
                t.add(column: "previousSigningSecretValidUntil", .datetime)
            }
        }
        migrator.registerMigration("v6: change versions") { db in
            try db.create(table: "changeVersion") { t in
                t.primaryKey("part", .text)
                t.column("version", .integer).notNull()
            }
            try db.execute(sql: "INSERT INTO changeVersion (part, version) VALUES ('webhooks', 0), ('subscriptions', 0)")
        }
        migrator.registerMigration("v7: tag index") { db in
            try db.create(table: "tagIndex") { t in
                t.column("registry", .text).notNull()
                t.column("repository", .text).notNull()
                t.column("tag", .text).notNull()
                t.column("digest", .text).notNull()
                t.column("removed", .boolean).notNull().defaults(to: false)
                t.column("changedAt", .datetime).notNull()
                t.primaryKey(["registry", "repository", "tag"])
            }
            try db.create(index: "tagIndexByDigest", on: "tagIndex", columns: ["registry", "repository", "digest"])
        }
        return migrator
    }
}
