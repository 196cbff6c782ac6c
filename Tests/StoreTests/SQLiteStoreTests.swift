import Foundation
import RegistryEvents
import Store
import Testing

@Suite("The store keeps webhooks")
struct SQLiteStoreTests {
    func hook(_ name: String, registry: String = "r", actions: [RegistryAction] = [.push]) -> Webhook {
        Webhook(
            registry: registry, name: name, serviceURI: "https://hooks.example/\(name)", customHeaders: ["Authorization": "Bearer x"],
            actions: actions, scope: WebhookScope("hello:*"), location: "westeurope", tags: ["team": "a"])
    }

    @Test(arguments: StoreBackend.available) func putGetListDelete(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.put(hook("alpha1"), quota: 10)
            _ = try await store.put(hook("beta22", actions: [.delete, .chartPush]), quota: 10)
            _ = try await store.put(hook("other1", registry: "r2"), quota: 10)
            let alpha = try #require(try await store.webhook(registry: "r", name: "alpha1"))
            #expect(alpha.customHeaders == ["Authorization": "Bearer x"])
            #expect(alpha.scope.text == "hello:*")
            #expect(alpha.location == "westeurope")
            #expect(try await store.webhooks(registry: "r").map(\.name) == ["alpha1", "beta22"])
            #expect(try await store.webhook(registry: "r", name: "beta22")?.actions == [.delete, .chartPush])
            #expect(try await store.allWebhooks().count == 3)
            #expect(try await store.delete(registry: "r", name: "alpha1"))
            #expect(!(try await store.delete(registry: "r", name: "alpha1")))
            #expect(try await store.webhook(registry: "r", name: "alpha1") == nil)
        }
    }

    @Test(arguments: StoreBackend.available) func replacingKeepsTheCreationTimeAndRespectsTheQuotaOnlyForNewOnes(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var first = hook("alpha1")
            first.createdAt = Date(timeIntervalSince1970: 1000)
            _ = try await store.put(first, quota: 1)
            var replacement = hook("alpha1", actions: [.delete])
            replacement.createdAt = Date()
            let stored = try await store.put(replacement, quota: 1)
            #expect(stored.createdAt == Date(timeIntervalSince1970: 1000))
            #expect(stored.actions == [.delete])
            await #expect(throws: StoreError.quotaExceeded(registry: "r", quota: 1)) {
                _ = try await store.put(hook("second"), quota: 1)
            }
        }
    }

    @Test func aFileStoreSurvivesReopening() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let store = try SQLiteStore.open(directory: directory.path)
            _ = try await store.put(hook("keepme"), quota: 10)
        }
        let reopened = try SQLiteStore.open(directory: directory.path)
        try await reopened.ping()
        #expect(try await reopened.webhook(registry: "r", name: "keepme")?.serviceURI == "https://hooks.example/keepme")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("regevents.sqlite").path))
    }
}

@Suite("The delivery log behind list-events")
struct DeliveryLogTests {
    func entry(_ attempt: Int, webhook: String = "alpha1") -> DeliveryLogEntry {
        DeliveryLogEntry(
            registry: "r", webhook: webhook, eventID: "e\(attempt)", attempt: attempt,
            request: .init(method: "POST", requestUri: "https://x/", headers: ["Authorization": "***"], content: "{}"),
            response: .init(statusCode: "200", reasonPhrase: "OK", headers: [:], content: ""))
    }

    @Test(arguments: StoreBackend.available) func newestFirstPagedAndBounded(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.put(
                Webhook(registry: "r", name: "alpha1", serviceURI: "https://x", actions: [.push], location: "local"), quota: 10)
            for attempt in 1...5 { try await store.appendDeliveryLog(entry(attempt), keep: 3) }
            let page = try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 2, before: nil)
            #expect(page.map(\.attempt) == [5, 4])
            let next = try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 2, before: page.last?.sequence)
            #expect(next.map(\.attempt) == [3], "only the newest 3 are kept")
            #expect(next.first?.request.headers["Authorization"] == "***")
        }
    }

    @Test(arguments: StoreBackend.available) func anEntryReadsBackAsItWasWritten(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.put(
                Webhook(registry: "r", name: "alpha1", serviceURI: "https://x", actions: [.push], location: "local"), quota: 10)
            let written = [
                DeliveryLogEntry(
                    registry: "r", webhook: "alpha1", eventID: "e1", attempt: 2,
                    request: .init(
                        method: "POST", requestUri: "https://x/a?b=c", headers: ["Content-Type": "application/json", "X-Key": "***"],
                        content: "{\"id\":\"e1\",\"q\":\"\\\"é\n\"}"),
                    response: .init(statusCode: "503", reasonPhrase: "Service Unavailable", headers: ["Retry-After": "5"], content: "busy"),
                    createdAt: Date(timeIntervalSince1970: 1_764_000_000.5)),
                DeliveryLogEntry(
                    registry: "r", webhook: "alpha1", eventID: "e2", attempt: 1,
                    request: .init(method: "POST", requestUri: "https://x/", headers: [:], content: ""), response: nil,
                    createdAt: Date(timeIntervalSince1970: 1_764_000_001.25)),
            ]
            try await store.appendDeliveryLog(written)
            let read = try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 10, before: nil).reversed().map { entry in
                var entry = entry
                entry.sequence = nil
                return entry
            }
            #expect(read == written)
        }
    }

    @Test(arguments: StoreBackend.available) func entriesGoWithTheirWebhook(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.appendDeliveryLog(entry(1, webhook: "ghost1"), keep: 10)
            #expect(try await store.deliveryLog(registry: "r", webhook: "ghost1", limit: 10, before: nil).isEmpty)
            _ = try await store.put(
                Webhook(registry: "r", name: "alpha1", serviceURI: "https://x", actions: [.push], location: "local"), quota: 10)
            try await store.appendDeliveryLog(entry(1), keep: 10)
            _ = try await store.delete(registry: "r", name: "alpha1")
            #expect(try await store.deliveryLog(registry: "r", webhook: "alpha1", limit: 10, before: nil).isEmpty)
        }
    }
}
