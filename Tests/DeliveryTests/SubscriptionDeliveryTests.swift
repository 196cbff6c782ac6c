@testable import Delivery
import Foundation
import Kafka
import RegistryEvents
import Synchronization
import TestSupport
import Testing

/// Test data shared by the subscription delivery suites.
enum SubscriptionSamples {
    static func subscription(
        _ name: String = "mysub", maxEventsPerBatch: Int = 10, preferredKilobytes: Int = 64,
        schema: EventDeliverySchema = .eventGrid, attributes: [DeliveryAttributeMapping] = []
    ) -> EventSubscription {
        EventSubscription(
            scope: .registry("myregistry"), name: name, endpointURL: "https://hooks.example/\(name)", maxEventsPerBatch: maxEventsPerBatch,
            preferredBatchSizeInKilobytes: preferredKilobytes, deliveryAttributeMappings: attributes, eventDeliverySchema: schema,
            provisioningState: .succeeded, createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
    }

    /// An Event Grid schema event; `padding` characters of data make it as large as a test needs.
    static func event(_ id: String, padding: Int = 0, repository: String = "hello") -> JSONValue {
        [
            "id": .string(id), "topic": "/registries/myregistry", "subject": .string("\(repository):v1"),
            "eventType": "Microsoft.ContainerRegistry.ImagePushed", "eventTime": "2026-11-25T16:29:30.427Z",
            "dataVersion": "1.0", "metadataVersion": "1",
            "data": ["target": ["repository": .string(repository), "size": 345], "padding": .string(String(repeating: "x", count: padding))],
        ]
    }

    /// An event whose JSON is exactly `bytes` long.
    static func event(_ id: String, bytes: Int) -> JSONValue {
        let base = event(id).jsonBytes.count
        precondition(bytes >= base, "an event is at least \(base) bytes")
        let sized = event(id, padding: bytes - base)
        precondition(sized.jsonBytes.count == bytes)
        return sized
    }

    static func cloudEvent(_ id: String) -> JSONValue {
        [
            "specversion": "1.0", "id": .string(id), "source": "/registries/myregistry", "type": "Microsoft.ContainerRegistry.ImagePushed",
            "subject": "hello:v1", "time": "2026-11-25T16:29:30.427Z", "datacontenttype": "application/json",
            "data": ["target": ["repository": "hello"]],
        ]
    }

    static func origin(offset: Int64) -> KafkaConsumerRecord {
        KafkaConsumerRecord(
            topic: "registry-events.cloudevents", partition: 1, offset: offset, key: nil, value: [], headers: [],
            timestampMilliseconds: nil)
    }

    static func record(body: String, contentType: String? = nil, attempt: Int = 1, events: Int? = nil) -> DeliveryRecord {
        DeliveryRecord(
            targetKind: .subscription, registry: "myregistry", target: "mysub", eventID: "e1", attempt: attempt,
            dueAtMilliseconds: 0, firstAttemptAtMilliseconds: 1_700_000_000_000, body: body, originTopic: "registry-events.cloudevents",
            originPartition: 0, originOffset: 7, scope: "registry/myregistry", contentType: contentType, eventCount: events)
    }

    static func outcome(_ status: Int?, error: String? = nil) -> AttemptOutcome {
        AttemptOutcome(
            statusCode: status, reasonPhrase: "", responseHeaders: [:], responseBody: "", error: error ?? (status == nil ? "refused" : nil),
            retryAfter: nil)
    }
}

@Suite("Subscription batches: count, size, subscription changes, linger", .machineHeavy)
struct SubscriptionBatcherTests {
    typealias S = SubscriptionSamples

    /// Records' lifecycles, as the dispatcher would receive them.
    final class Fired: Sendable {
        let commits = CommitCoordinator()
        func completion(deliveries: Int = 1) -> RecordLifecycle {
            RecordLifecycle(SubscriptionSamples.origin(offset: 0), targets: deliveries, commits: commits)
        }
    }

    func renderedSize(_ batch: SubscriptionBatcher.Batch) -> Int {
        SubscriptionBody.render(batch.events, schema: .eventGrid).body.utf8.count
    }

    @Test func aBatchClosesWhenItHoldsMaxEventsPerBatch() {
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        let subscription = S.subscription(maxEventsPerBatch: 3)
        let fired = Fired()
        var closed: [[SubscriptionBatcher.Batch]] = []
        for index in 0..<7 {
            closed.append(batcher.add(S.event("e\(index)"), to: subscription, completion: fired.completion(), origin: S.origin(offset: Int64(index))))
        }
        #expect(closed.map(\.count) == [0, 0, 1, 0, 0, 1, 0])
        let batches = closed.flatMap { $0 }
        #expect(batches.map { $0.events.map { $0["id"]?.stringValue ?? "" } } == [["e0", "e1", "e2"], ["e3", "e4", "e5"]])
        #expect(batches.map(\.completions.count) == [3, 3])
        #expect(batches.map(\.origin.offset) == [0, 3], "the origin is the batch's first record")
        let rest = batcher.due(everything: true)
        #expect(rest.map { $0.events.count } == [1])
    }

    @Test func oneEventPerBatchGoesAtOnce() {
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        let ready = batcher.add(S.event("e0"), to: S.subscription(maxEventsPerBatch: 1), completion: Fired().completion(), origin: S.origin(offset: 0))
        #expect(ready.map(\.events.count) == [1])
        #expect(batcher.due(everything: true).isEmpty)
    }

    /// The size counts the brackets and the commas: a batch that renders to
    /// exactly the preferred size stays together; one byte more closes it.
    @Test func theRenderedArrayFillsThePreferredSizeExactlyAndNeverMore() throws {
        let limit = 1024
        let subscription = S.subscription(maxEventsPerBatch: 100, preferredKilobytes: 1)
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        let first = S.event("a", bytes: 500)
        // [first,second] = 2 + 500 + 1 + 521 = 1024.
        let second = S.event("b", bytes: 521)
        #expect(batcher.add(first, to: subscription, completion: Fired().completion(), origin: S.origin(offset: 0)).isEmpty)
        #expect(batcher.add(second, to: subscription, completion: Fired().completion(), origin: S.origin(offset: 1)).isEmpty)
        let third = S.event("c", bytes: 300)
        let closed = batcher.add(third, to: subscription, completion: Fired().completion(), origin: S.origin(offset: 2))
        let full = try #require(closed.first)
        #expect(closed.count == 1)
        #expect(full.events == [first, second])
        #expect(renderedSize(full) == limit)
        #expect(full.bytes == limit, "the batch's own count matches what is rendered")

        // One byte over: [c,d] would be 2 + 300 + 1 + 722 = 1025.
        let fourth = S.event("d", bytes: 722)
        let overfull = batcher.add(fourth, to: subscription, completion: Fired().completion(), origin: S.origin(offset: 3))
        #expect(overfull.map(\.events) == [[third]])
        let last = batcher.due(everything: true)
        #expect(last.map(\.events) == [[fourth]])
        #expect(last.allSatisfy { renderedSize($0) <= limit })
    }

    @Test func manySmallEventsStayWithinThePreferredSize() {
        let subscription = S.subscription(maxEventsPerBatch: 5000, preferredKilobytes: 2)
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        var batches: [SubscriptionBatcher.Batch] = []
        for index in 0..<200 {
            batches += batcher.add(
                S.event("e\(index)", padding: index % 37 * 7), to: subscription, completion: Fired().completion(),
                origin: S.origin(offset: Int64(index)))
        }
        batches += batcher.due(everything: true)
        #expect(batches.reduce(0) { $0 + $1.events.count } == 200)
        #expect(batches.count > 1)
        for batch in batches {
            #expect(renderedSize(batch) <= 2048)
            #expect(batch.bytes == renderedSize(batch))
        }
    }

    @Test func anEventLargerThanThePreferredSizeGoesAloneAndAtOnce() {
        let subscription = S.subscription(maxEventsPerBatch: 100, preferredKilobytes: 1)
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        let small = S.event("small", bytes: 300)
        let large = S.event("large", bytes: 1500)
        #expect(batcher.add(small, to: subscription, completion: Fired().completion(), origin: S.origin(offset: 0)).isEmpty)
        let ready = batcher.add(large, to: subscription, completion: Fired().completion(), origin: S.origin(offset: 1))
        #expect(ready.map(\.events) == [[small], [large]], "the open batch closes first, then the large event goes alone")
        #expect(batcher.due(everything: true).isEmpty, "nothing waits")

        // Alone from the start, too; and one that fills the size exactly has no room for company.
        let alone = batcher.add(S.event("large2", bytes: 1500), to: subscription, completion: Fired().completion(), origin: S.origin(offset: 2))
        #expect(alone.map(\.events.count) == [1])
        let exact = batcher.add(S.event("exact", bytes: 1022), to: subscription, completion: Fired().completion(), origin: S.origin(offset: 3))
        #expect(exact.map(\.events.count) == [1])
        #expect(exact.map(renderedSize) == [1024])
        #expect(batcher.due(everything: true).isEmpty)
    }

    @Test func aChangedSubscriptionClosesTheOpenBatch() {
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        let before = S.subscription(maxEventsPerBatch: 10)
        var after = before
        after.endpointURL = "https://hooks.example/elsewhere"
        #expect(batcher.add(S.event("e0"), to: before, completion: Fired().completion(), origin: S.origin(offset: 0)).isEmpty)
        #expect(batcher.add(S.event("e1"), to: before, completion: Fired().completion(), origin: S.origin(offset: 1)).isEmpty)
        let closed = batcher.add(S.event("e2"), to: after, completion: Fired().completion(), origin: S.origin(offset: 2))
        #expect(closed.count == 1)
        #expect(closed.first?.subscription == before)
        #expect(closed.first?.events.map { $0["id"]?.stringValue } == ["e0", "e1"])
        let open = batcher.due(everything: true)
        #expect(open.map(\.subscription) == [after])
        #expect(open.map { $0.events.map { $0["id"]?.stringValue } } == [["e2"]])
    }

    @Test func eachSubscriptionHasItsOwnBatch() {
        let batcher = SubscriptionBatcher(linger: .seconds(3600))
        let one = S.subscription("one", maxEventsPerBatch: 2)
        let two = S.subscription("two", maxEventsPerBatch: 2)
        var topic = one
        topic.scope = .topic("orders")
        #expect(batcher.add(S.event("a"), to: one, completion: Fired().completion(), origin: S.origin(offset: 0)).isEmpty)
        #expect(batcher.add(S.event("b"), to: two, completion: Fired().completion(), origin: S.origin(offset: 1)).isEmpty)
        #expect(batcher.add(S.event("c"), to: topic, completion: Fired().completion(), origin: S.origin(offset: 2)).isEmpty)
        let full = batcher.add(S.event("d"), to: one, completion: Fired().completion(), origin: S.origin(offset: 3))
        #expect(full.map { $0.events.map { $0["id"]?.stringValue } } == [["a", "d"]])
        #expect(batcher.due(everything: true).count == 2)
    }

    @Test func dueReturnsOnlyBatchesThatWaitedTheLinger() {
        let waiting = SubscriptionBatcher(linger: .seconds(3600))
        for name in ["one", "two"] {
            _ = waiting.add(S.event(name), to: S.subscription(name), completion: Fired().completion(), origin: S.origin(offset: 0))
        }
        #expect(waiting.due().isEmpty, "an hour has not passed")
        #expect(waiting.due().isEmpty)
        let all = waiting.due(everything: true)
        #expect(Set(all.map(\.subscription.name)) == ["one", "two"])
        #expect(waiting.due(everything: true).isEmpty, "what was returned is gone")

        let eager = SubscriptionBatcher(linger: .zero)
        _ = eager.add(S.event("a"), to: S.subscription("one"), completion: Fired().completion(), origin: S.origin(offset: 0))
        _ = eager.add(S.event("b"), to: S.subscription("two"), completion: Fired().completion(), origin: S.origin(offset: 1))
        #expect(Set(eager.due().map(\.subscription.name)) == ["one", "two"])
        #expect(eager.due().isEmpty)
    }

    static let durable = DeliverySettlement.Settled(result: .delivered, deadLetters: [], isDurable: true)

    @Test func aRecordIsCommittableOnlyAfterItsLastTargetsOutcome() {
        let fired = Fired()
        let lifecycle = fired.completion(deliveries: 3)
        #expect(fired.commits.committable().map(\.offset) == [0], "received: its own offset holds the commit")
        lifecycle.record(Self.durable)
        lifecycle.record(DeliverySettlement.Settled(result: .retrying, deadLetters: [], isDurable: true))
        #expect(fired.commits.committable().map(\.offset) == [0])
        lifecycle.record(DeliverySettlement.Settled(result: .deadLettered, deadLetters: [], isDurable: true))
        #expect(fired.commits.committable().map(\.offset) == [1], "settled: committable")
        #expect(lifecycle.outcomes == [.delivered, .retrying, .deadLettered])
    }

    @Test func anOutcomeThatIsNotDurableNeverSettlesTheRecord() {
        let fired = Fired()
        let lifecycle = fired.completion(deliveries: 2)
        lifecycle.record(Self.durable)
        lifecycle.record(DeliverySettlement.Settled(result: .retrying, deadLetters: [], isDurable: false))
        #expect(fired.commits.committable().map(\.offset) == [0], "cancelled before Kafka acknowledged: read again after a restart")
    }

    @Test func concurrentOutcomesSettleTheRecordExactlyOnce() async {
        let fired = Fired()
        let lifecycle = fired.completion(deliveries: 500)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<500 { group.addTask { lifecycle.record(Self.durable) } }
        }
        #expect(fired.commits.committable().map(\.offset) == [1])
        #expect(fired.commits.inFlight == 0)
    }
}
