import Delivery
import Foundation
import Logging
import RegistryEvents
import Store
import TestSupport
import Testing

@Suite("The delivery log is written behind the deliveries, in batches", .machineHeavy)
struct DeliveryLogWriterTests {
    static let logger = Logger(label: "test")

    func entry(_ id: String, webhook: String = "alpha1") -> DeliveryLogEntry {
        DeliveryLogEntry(
            registry: "r", webhook: webhook, eventID: id, attempt: 1,
            request: .init(method: "POST", requestUri: "https://hooks.example/a", headers: [:], content: "{}"),
            response: .init(statusCode: "200", reasonPhrase: "OK", headers: [:], content: ""))
    }

    func store(webhooks: [String]) async throws -> SQLiteStore {
        let store = try SQLiteStore.inMemory()
        for name in webhooks {
            _ = try await store.put(
                Webhook(registry: "r", name: name, serviceURI: "https://hooks.example/\(name)", actions: [.push], location: "local"),
                quota: 10)
        }
        return store
    }

    @Test func entriesFromManyAttemptsAreAllWrittenInOrderAndFlushWaitsForThem() async throws {
        let store = try await store(webhooks: ["alpha1"])
        let writer = DeliveryLogWriter(store: store, settings: .init(keep: 10_000), logger: Self.logger)
        await withDiscardingTaskGroup { group in
            for task in 0..<8 {
                group.addTask { for index in 0..<250 { writer.append(entry("t\(task)-\(index)")) } }
            }
        }
        await writer.flush()
        let log = try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 5000, before: nil)
        #expect(log.count == 2000)
        // Newest first: each task's entries keep their order.
        let ofTaskZero = log.reversed().map(\.eventID).filter { $0.hasPrefix("t0-") }
        #expect(ofTaskZero == (0..<250).map { "t0-\($0)" })
    }

    @Test func eachWebhookKeepsItsNewestEntriesAndADeletedWebhookGetsNone() async throws {
        let store = try await store(webhooks: ["alpha1", "beta22"])
        var settings = DeliveryLogWriter.Settings(keep: 3)
        settings.trimInterval = .zero
        let writer = DeliveryLogWriter(store: store, settings: settings, logger: Self.logger)
        for index in 0..<10 {
            writer.append(entry("a\(index)"))
            writer.append(entry("b\(index)", webhook: "beta22"))
            writer.append(entry("g\(index)", webhook: "ghost1"))
        }
        await writer.flush()
        // Trimming follows the writes: wait for it.
        var alpha: [String] = []
        for _ in 0..<200 {
            alpha = try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 100, before: nil).map(\.eventID)
            if alpha.count == 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(alpha == ["a9", "a8", "a7"])
        #expect(try await store.deliveryLog(registry: "r", webhook: "beta22", limit: 100, before: nil).count <= 3)
        #expect(try await store.deliveryLog(registry: "r", webhook: "ghost1", limit: 100, before: nil).isEmpty)
    }

    @Test func pastItsBoundTheOldestWaitingEntriesAreDroppedNotTheNewest() async throws {
        let store = try await store(webhooks: ["alpha1"])
        var settings = DeliveryLogWriter.Settings(keep: 10_000)
        settings.maxPending = 5
        let writer = DeliveryLogWriter(store: store, settings: settings, logger: Self.logger)
        for index in 0..<1000 { writer.append(entry("e\(index)")) }
        await writer.flush()
        let log = try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 5000, before: nil).map(\.eventID)
        #expect(log.count < 1000, "the writer could not have kept up with a bound of 5")
        #expect(log.first == "e999", "the newest entry is kept")
    }
}
