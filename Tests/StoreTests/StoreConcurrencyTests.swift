import Foundation
import RegistryEvents
import Store
import Testing

/// What several nodes sharing one store rely on: a quota or a condition is
/// checked and acted on in one transaction, and a change made through one
/// handle reaches the others' change feeds.
@Suite("Several handles on one store")
struct StoreConcurrencyTests {
    func hook(_ name: String) -> Webhook {
        Webhook(registry: "r", name: name, serviceURI: "https://hooks.example/\(name)", actions: [.push], location: "local")
    }

    /// Runs `put` for 0..<count spread over the handles at once; the number that succeeded.
    func race(_ stores: [any ControlPlaneStore], _ count: Int, _ put: @escaping @Sendable (any ControlPlaneStore, Int) async throws -> Void)
        async throws -> (stored: Int, refused: Int)
    {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<count {
                let store = stores[index % stores.count]
                group.addTask {
                    do {
                        try await put(store, index)
                        return true
                    } catch is StoreError {
                        return false
                    }
                }
            }
            var stored = 0
            var refused = 0
            for try await succeeded in group { if succeeded { stored += 1 } else { refused += 1 } }
            return (stored, refused)
        }
    }

    @Test(arguments: StoreBackend.available) func webhookQuotaRacesEndAtExactlyTheQuota(_ backend: StoreBackend) async throws {
        try await backend.withStores(2) { stores in
            let outcome = try await race(stores, 40) { store, index in _ = try await store.put(hook("hook\(index)"), quota: 10) }
            #expect(outcome.stored == 10)
            #expect(outcome.refused == 30)
            #expect(try await stores[1].webhooks(registry: "r").count == 10)
        }
    }

    @Test(arguments: StoreBackend.available) func subscriptionAndTopicQuotaRacesEndAtExactlyTheQuota(_ backend: StoreBackend) async throws {
        try await backend.withStores(2) { stores in
            let subscriptions = try await race(stores, 30) { store, index in
                _ = try await store.putSubscription(
                    EventSubscription(scope: .registry("r"), name: "sub\(index)", endpointURL: "https://hooks.example/eg"), quota: 7)
            }
            #expect(subscriptions.stored == 7)
            let topics = try await race(stores, 30) { store, index in _ = try await store.putTopic(CustomTopic(name: "t\(index)"), quota: 5) }
            #expect(topics.stored == 5)
            #expect(try await stores[0].topics().count == 5)
        }
    }

    /// Two nodes answering the same validation handshake: exactly one changes it.
    @Test(arguments: StoreBackend.available) func aConditionalUpdateFromTwoHandlesAppliesOnce(_ backend: StoreBackend) async throws {
        try await backend.withStores(2) { stores in
            var pending = EventSubscription(scope: .registry("r"), name: "sub", endpointURL: "https://hooks.example/eg")
            pending.provisioningState = .awaitingManualAction
            _ = try await stores[0].putSubscription(pending)
            let applied = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    let store = stores[index % 2]
                    group.addTask {
                        try await store.updateSubscription(
                            scope: .registry("r"), name: "sub", if: { $0.provisioningState == .awaitingManualAction }
                        ) { $0.provisioningState = .succeeded } != nil
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(applied == 1)
        }
    }

    /// For SQLite the change feed covers the handle's own writes (another
    /// process is seen by the directories' catch-up and periodic reload); for PostgreSQL,
    /// every handle's. It is pushed, not polled: how soon is measured by the
    /// multi-node tests, never asserted as a timing here.
    @Test(arguments: StoreBackend.available) func aChangeReachesTheOtherHandlesChangeFeed(_ backend: StoreBackend) async throws {
        try await backend.withStores(2) { stores in
            let listener = backend == .postgres ? stores[1] : stores[0]
            let webhookChanges = ChangeRecorder(listener.changes(of: .webhooks))
            let subscriptionChanges = ChangeRecorder(listener.changes(of: .subscriptions))
            _ = try await stores[0].put(hook("alpha1"), quota: 10)
            #expect(await webhookChanges.waitFor(.webhooks))
            _ = try await stores[0].putTopic(CustomTopic(name: "orders"))
            #expect(await subscriptionChanges.waitFor(.subscriptions))
        }
    }

    /// The count a directory compares with its own before matching a record:
    /// exact on every handle as soon as the write returns, for its part only.
    @Test(arguments: StoreBackend.available) func everyCommittedChangeCountsForItsPartOnEveryHandle(_ backend: StoreBackend) async throws {
        try await backend.withStores(2) { stores in
            let (writer, reader) = (stores[0], stores[1])
            let webhooks = try await reader.changeVersion(of: .webhooks)
            let subscriptions = try await reader.changeVersion(of: .subscriptions)
            _ = try await writer.put(hook("alpha1"), quota: 1)
            #expect(try await reader.changeVersion(of: .webhooks) == webhooks + 1)
            #expect(try await reader.changeVersion(of: .subscriptions) == subscriptions)
            await #expect(throws: StoreError.self) { _ = try await writer.put(hook("beta1"), quota: 1) }
            #expect(try await reader.changeVersion(of: .webhooks) == webhooks + 1, "a refused write counts nothing")
            _ = try await writer.putTopic(CustomTopic(name: "orders"))
            #expect(try await reader.changeVersion(of: .subscriptions) == subscriptions + 1)
            #expect(try await writer.delete(registry: "r", name: "alpha1"))
            #expect(try await reader.changeVersion(of: .webhooks) == webhooks + 2)
        }
    }

    @Test(arguments: StoreBackend.available) func deliveryLogsWrittenThroughTwoHandlesPageAsOne(_ backend: StoreBackend) async throws {
        try await backend.withStores(2) { stores in
            _ = try await stores[0].put(hook("alpha1"), quota: 10)
            for attempt in 1...6 {
                try await stores[attempt % 2].appendDeliveryLog(
                    DeliveryLogEntry(
                        registry: "r", webhook: "alpha1", eventID: "e\(attempt)", attempt: attempt,
                        request: .init(method: "POST", requestUri: "https://x/", headers: [:], content: "{}"), response: nil),
                    keep: 4)
            }
            let first = try await stores[1].deliveryLog(registry: "r", webhook: "alpha1", limit: 3, before: nil)
            let second = try await stores[0].deliveryLog(registry: "r", webhook: "alpha1", limit: 3, before: first.last?.sequence)
            #expect((first + second).map(\.attempt) == [6, 5, 4, 3])
            #expect(try await stores[1].delete(registry: "r", name: "alpha1"))
            try await stores[0].appendDeliveryLog([
                DeliveryLogEntry(
                    registry: "r", webhook: "alpha1", eventID: "late", attempt: 1,
                    request: .init(method: "POST", requestUri: "https://x/", headers: [:], content: "{}"), response: nil)
            ])
            #expect(try await stores[0].deliveryLog(registry: "r", webhook: "alpha1", limit: 10, before: nil).isEmpty)
        }
    }
}
