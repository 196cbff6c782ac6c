import Delivery
import Foundation
import Logging
import RegistryEvents
import Store
import TestSupport
import Testing

/// A webhook created through one node, then an event ingested through
/// another: whichever node consumes the event must match it against that
/// webhook, however late the change's announcement reaches it.
@Suite("Directories catch up with the store before matching", .machineHeavy)
struct DirectoryCatchUpTests {
    let logger = Logger(label: "directory-tests") { _ in SwiftLogNoOpLogHandler() }

    /// Two handles on one SQLite file: a write through one is announced to
    /// its own feed only, so the other's directory learns of it from the
    /// change count alone, and never within the hour-long periodic reload.
    func withTwoNodes(_ body: (_ writer: SQLiteStore, _ reader: SQLiteStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-catchup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(try SQLiteStore.open(directory: directory.path), try SQLiteStore.open(directory: directory.path))
    }

    @Test func aWebhookCreatedThroughAnotherNodeIsMatchedAfterCatchingUp() async throws {
        try await withTwoNodes { writer, reader in
            let webhooks = WebhookDirectory(store: reader, refreshInterval: .seconds(3600), logger: logger)
            await webhooks.refresh()
            #expect(!webhooks.hasWebhooks(registry: "r"))
            _ = try await writer.put(
                Webhook(registry: "r", name: "late1", serviceURI: "https://hooks.example/late", actions: [.push], location: "local"),
                quota: 10)
            await webhooks.catchUp()
            #expect(webhooks.webhook(registry: "r", name: "late1") != nil)
            _ = try await writer.delete(registry: "r", name: "late1")
            await webhooks.catchUp()
            #expect(!webhooks.hasWebhooks(registry: "r"))
        }
    }

    @Test func aSubscriptionCreatedThroughAnotherNodeIsMatchedAfterCatchingUp() async throws {
        try await withTwoNodes { writer, reader in
            let subscriptions = SubscriptionDirectory(store: reader, refreshInterval: .seconds(3600), logger: logger)
            await subscriptions.refresh()
            _ = try await writer.putSubscription(
                EventSubscription(scope: .registry("r"), name: "late", endpointURL: "https://hooks.example/eg"), quota: 10)
            _ = try await writer.putTopic(CustomTopic(name: "orders"))
            await subscriptions.catchUp()
            #expect(subscriptions.subscription(scope: .registry("r"), name: "late") != nil)
            #expect(subscriptions.topicNames == ["orders"])
        }
    }
}
