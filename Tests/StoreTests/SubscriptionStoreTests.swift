import Foundation
import GRDB
import RegistryEvents
@testable import Store
import Testing

@Suite("The store keeps event subscriptions and custom topics")
struct SubscriptionStoreTests {
    func subscription(_ name: String, _ scope: SubscriptionScope = .registry("r"), endpoint: String = "https://hooks.example/eg")
        -> EventSubscription
    {
        EventSubscription(
            scope: scope, name: name, endpointURL: endpoint, maxEventsPerBatch: 5, preferredBatchSizeInKilobytes: 128,
            deliveryAttributeMappings: [.fixed("Authorization", "Bearer s3cret", secret: true), .field("X-Repo", "data.target.repository")],
            filter: EventFilter(
                includedEventTypes: ["Microsoft.ContainerRegistry.ImagePushed"], subjectBeginsWith: "hello",
                advancedFilters: [AdvancedFilter(operatorType: .numberInRange, key: "data.target.size", values: [[1, 10.5]])]),
            eventDeliverySchema: .cloudEvents, maxDeliveryAttempts: 7, eventTimeToLiveInMinutes: 90,
            deadLetterDestination: .kafkaTopic("team.deadletters"), labels: ["a", "b"], provisioningState: .awaitingManualAction,
            provisioningMessage: "waiting", validationCode: "code-1", validationStartedAt: Date(timeIntervalSince1970: 2_000_000),
            createdAt: Date(timeIntervalSince1970: 1_000_000), updatedAt: Date(timeIntervalSince1970: 1_500_000))
    }

    @Test(arguments: StoreBackend.available) func putGetListAllDelete(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let original = subscription("beta")
            #expect(try await store.putSubscription(original) == original)
            _ = try await store.putSubscription(subscription("alpha"))
            _ = try await store.putSubscription(subscription("other", .registry("r2")))
            _ = try await store.putSubscription(subscription("alpha", .topic("orders")))
            #expect(try await store.subscription(scope: .registry("r"), name: "beta") == original, "every field survives the store")
            #expect(try await store.subscription(scope: .registry("r"), name: "gamma") == nil)
            #expect(try await store.subscription(scope: .registry("r2"), name: "beta") == nil)
            #expect(try await store.subscriptions(scope: .registry("r")).map(\.name) == ["alpha", "beta"], "sorted by name")
            #expect(try await store.subscriptions(scope: .topic("orders")).map(\.scope) == [.topic("orders")])
            #expect(try await store.subscriptions(scope: .topic("none")).isEmpty)
            #expect(try await store.allSubscriptions().count == 4)
            #expect(try await store.deleteSubscription(scope: .registry("r"), name: "beta"))
            #expect(!(try await store.deleteSubscription(scope: .registry("r"), name: "beta")))
            #expect(try await store.subscription(scope: .registry("r"), name: "beta") == nil)
            #expect(try await store.allSubscriptions().count == 3)
        }
    }

    @Test(arguments: StoreBackend.available) func aConditionalUpdateChangesOnlyWhatStillPassesItsCondition(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.putSubscription(subscription("beta"))
            let stale = try await store.updateSubscription(scope: .registry("r"), name: "beta", if: { $0.validationCode == "old-code" }) {
                $0.provisioningState = .succeeded
            }
            #expect(stale == nil, "a condition that no longer holds changes nothing")
            #expect(try await store.subscription(scope: .registry("r"), name: "beta")?.provisioningState == .awaitingManualAction)
            let changed = try await store.updateSubscription(scope: .registry("r"), name: "beta", if: { $0.validationCode == "code-1" }) {
                $0.provisioningState = .succeeded
            }
            #expect(changed?.provisioningState == .succeeded)
            #expect(try await store.subscription(scope: .registry("r"), name: "beta")?.provisioningState == .succeeded)
            #expect(try await store.subscription(scope: .registry("r"), name: "beta")?.maxEventsPerBatch == 5, "the rest is kept")
            #expect(try await store.updateSubscription(scope: .registry("r"), name: "missing", if: { _ in true }) { _ in } == nil)
        }
    }

    @Test(arguments: StoreBackend.available) func replacingKeepsTheCreationTime(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.putSubscription(subscription("alpha"))
            var replacement = subscription("alpha", endpoint: "https://hooks.example/new")
            replacement.createdAt = Date(timeIntervalSince1970: 9_000_000)
            replacement.updatedAt = Date(timeIntervalSince1970: 9_000_000)
            replacement.provisioningState = .succeeded
            let stored = try await store.putSubscription(replacement)
            #expect(stored.createdAt == Date(timeIntervalSince1970: 1_000_000))
            #expect(stored.updatedAt == Date(timeIntervalSince1970: 9_000_000))
            let read = try #require(try await store.subscription(scope: .registry("r"), name: "alpha"))
            #expect(read == stored)
            #expect(read.endpointURL == "https://hooks.example/new")
            #expect(read.provisioningState == .succeeded)
        }
    }

    @Test(arguments: StoreBackend.available) func topicsAreKeptSortedAndKeepTheirCreationTime(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let orders = CustomTopic(name: "orders", inputSchema: .cloudEvents, createdAt: Date(timeIntervalSince1970: 1_000_000))
            _ = try await store.putTopic(orders)
            _ = try await store.putTopic(CustomTopic(name: "billing"))
            _ = try await store.putTopic(CustomTopic(name: "zeta"))
            #expect(try await store.topics().map(\.name) == ["billing", "orders", "zeta"])
            #expect(try await store.topic(name: "orders") == orders)
            #expect(try await store.topic(name: "nothing") == nil)
            var rotated = orders
            rotated.key1 = CustomTopic.newKey()
            rotated.createdAt = Date()
            let stored = try await store.putTopic(rotated)
            #expect(stored.createdAt == Date(timeIntervalSince1970: 1_000_000))
            #expect(try await store.topic(name: "orders")?.key1 == rotated.key1)
            #expect(try await store.topic(name: "orders")?.key2 == orders.key2)
        }
    }

    @Test(arguments: StoreBackend.available) func deletingATopicDeletesItsSubscriptionsOnly(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.putTopic(CustomTopic(name: "orders"))
            _ = try await store.putTopic(CustomTopic(name: "billing"))
            _ = try await store.putSubscription(subscription("shared", .topic("orders")))
            _ = try await store.putSubscription(subscription("second", .topic("orders")))
            _ = try await store.putSubscription(subscription("shared", .topic("billing")))
            _ = try await store.putSubscription(subscription("shared", .registry("orders")))
            #expect(try await store.deleteTopic(name: "orders"))
            #expect(try await store.topic(name: "orders") == nil)
            #expect(try await store.subscriptions(scope: .topic("orders")).isEmpty)
            #expect(try await store.subscription(scope: .registry("orders"), name: "shared") != nil, "a registry named like the topic keeps its own")
            #expect(try await store.subscription(scope: .topic("billing"), name: "shared") != nil)
            #expect(try await store.allSubscriptions().count == 2)
            #expect(!(try await store.deleteTopic(name: "orders")))
        }
    }

    /// A database written before event subscriptions existed (migrations v1
    /// and v2 only) opens, keeps its webhooks, and takes subscriptions.
    @Test func aVersionTwoDatabaseMigratesAndKeepsItsWebhooks() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("regevents.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try Migrations.migrator.migrate(queue, upTo: "v2: webhook signing secrets")
            try await queue.write { db in
                #expect(try !db.tableExists("eventSubscription"))
                try db.execute(
                    sql: """
                        INSERT INTO webhook (registry, name, serviceURI, customHeaders, actions, scope, status, location, tags,
                                             createdAt, updatedAt, signingSecret)
                        VALUES ('r', 'oldhook1', 'https://hooks.example/old', '{"X-Key":"v"}', '["push","delete"]', 'hello:*',
                                'enabled', 'westeurope', '{}', '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000', NULL)
                        """)
            }
        }
        let store = try SQLiteStore.open(directory: directory.path)
        let hook = try #require(try await store.webhook(registry: "r", name: "oldhook1"))
        #expect(hook.serviceURI == "https://hooks.example/old")
        #expect(hook.actions == [.push, .delete])
        #expect(hook.customHeaders == ["X-Key": "v"])
        _ = try await store.putTopic(CustomTopic(name: "orders"))
        _ = try await store.putSubscription(subscription("fresh", .topic("orders")))
        #expect(try await store.subscriptions(scope: .topic("orders")).map(\.name) == ["fresh"])

        // And reopened once more, everything is still there.
        let reopened = try SQLiteStore.open(directory: directory.path)
        #expect(try await reopened.webhook(registry: "r", name: "oldhook1") != nil)
        #expect(try await reopened.subscription(scope: .topic("orders"), name: "fresh") == subscription("fresh", .topic("orders")))
        #expect(try await reopened.topics().map(\.name) == ["orders"])
    }
}
