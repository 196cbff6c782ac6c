@testable import Delivery
import Foundation
import Kafka
import RegistryEvents
import Synchronization
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

@Suite("Subscription batches: count, size, subscription changes, linger")
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

    @Test func aRecordCompletesOnceAfterItsLastDelivery() {
        let fired = Fired()
        let completion = fired.completion(deliveries: 3)
        completion.deliveryDone()
        completion.deliveryDone()
        #expect(fired.value == 0)
        completion.deliveryDone()
        #expect(fired.value == 1)
        completion.deliveryDone()
        #expect(fired.value == 1, "a stray extra call does not complete it again")
    }

    @Test func concurrentDeliveriesCompleteTheRecordExactlyOnce() async {
        let fired = Fired()
        let completion = fired.completion(deliveries: 500)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<500 { group.addTask { completion.deliveryDone() } }
        }
        #expect(fired.value == 1)
    }
}

@Suite("Event Grid's delivery policy and dead letters")
struct SubscriptionPolicyTests {
    typealias S = SubscriptionSamples

    static let policy = SubscriptionPolicy(
        subscription: S.subscription(), schedule: .eventGridDefault, jitter: 0, defaultDeadLetterTopic: "registry-events.deadletter")

    @Test(arguments: 200...204)
    func twoHundredToTwoHundredFourDeliver(_ status: Int) {
        #expect(Self.policy.isDelivered(S.outcome(status)))
        #expect(Self.policy.terminalReason(S.outcome(status)) == nil)
    }

    @Test(arguments: [205, 206, 207, 226, 300, 301, 302, 304, 307, 404, 500])
    func otherAnswersAreFailures(_ status: Int) {
        #expect(!Self.policy.isDelivered(S.outcome(status)))
    }

    @Test func noAnswerIsAFailureThatIsRetried() {
        #expect(!Self.policy.isDelivered(S.outcome(nil, error: "connect timeout")))
        #expect(Self.policy.terminalReason(S.outcome(nil, error: "connect timeout")) == nil)
    }

    @Test(arguments: [400, 401, 403, 413])
    func someClientErrorsAreNotRetried(_ status: Int) throws {
        let reason = try #require(Self.policy.terminalReason(S.outcome(status)))
        #expect(reason.hasPrefix("NonRetriableStatusCode"))
        #expect(reason.contains("\(status)"))
        #expect(DeadLetterFields.reasonCode(reason) == "NonRetriableStatusCode")
    }

    @Test(arguments: [404, 408, 429, 500, 502, 503, 504])
    func othersFollowTheRetrySchedule(_ status: Int) {
        #expect(Self.policy.terminalReason(S.outcome(status)) == nil)
    }

    @Test(arguments: [
        (400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden"), (404, "NotFound"), (408, "TimedOut"),
        (413, "RequestEntityTooLarge"), (429, "Busy"), (503, "Busy"), (500, "GenericError"), (502, "GenericError"),
        (302, "GenericError"),
    ])
    func outcomeNamesAreEventGrids(_ status: Int, _ name: String) {
        #expect(DeadLetterFields.outcomeName(S.outcome(status)) == name)
    }

    @Test func withoutAnAnswerTheOutcomeIsATimeoutOrAGenericError() {
        #expect(DeadLetterFields.outcomeName(S.outcome(nil, error: "HTTPClientError.readTimeout")) == "TimedOut")
        #expect(DeadLetterFields.outcomeName(S.outcome(nil, error: "Deadline exceeded")) == "TimedOut")
        #expect(DeadLetterFields.outcomeName(S.outcome(nil, error: "connection refused")) == "GenericError")
        #expect(
            DeadLetterFields.outcomeName(
                AttemptOutcome(statusCode: nil, reasonPhrase: "", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil))
                == "GenericError")
    }

    static let firstAttempt = "2023-11-14T22:13:20.000Z"  // 1_700_000_000_000 ms

    @Test func eventGridSchemaDeadLettersAddCamelCaseFieldsToEachEvent() throws {
        let body = SubscriptionBody.render([S.event("e1"), S.event("e2")], schema: .eventGrid).body
        let record = S.record(body: body, attempt: 7, events: 2)
        let now = Date(timeIntervalSince1970: 1_700_000_100.5)
        let letters = SubscriptionPolicy.deadLetteredEvents(
            record, schema: .eventGrid, outcome: S.outcome(503), reason: "MaxDeliveryAttemptsExceeded: 7 attempts made", at: now)
        #expect(letters.count == 2)
        #expect(letters.map { $0["id"]?.stringValue } == ["e1", "e2"])
        for (letter, original) in zip(letters, [S.event("e1"), S.event("e2")]) {
            let fields = try #require(letter.objectValue)
            #expect(fields["deadLetterReason"] == "MaxDeliveryAttemptsExceeded")
            #expect(fields["deliveryAttempts"] == 7)
            #expect(fields["lastDeliveryOutcome"] == "Busy")
            #expect(fields["lastHttpStatusCode"] == 503)
            #expect(fields["publishTime"] == .string(Self.firstAttempt))
            #expect(fields["lastDeliveryAttemptTime"] == "2023-11-14T22:15:00.500Z")
            #expect(!fields.keys.contains("deadletterreason"))
            // The event itself is untouched.
            for (key, value) in try #require(original.objectValue) { #expect(fields[key] == value, "\(key)") }
        }
    }

    @Test func cloudEventsDeadLettersUseLowerCaseAttributes() throws {
        let (body, _) = SubscriptionBody.render([S.cloudEvent("c1")], schema: .cloudEvents)
        let record = S.record(body: body, contentType: SubscriptionBody.cloudEventContentType, attempt: 1)
        let letters = SubscriptionPolicy.deadLetteredEvents(
            record, schema: .cloudEvents, outcome: S.outcome(nil, error: "read timeout"), reason: "TimeToLiveExceeded: later",
            at: Date(timeIntervalSince1970: 1_700_000_000))
        let fields = try #require(letters.first?.objectValue)
        #expect(letters.count == 1)
        #expect(fields["id"] == "c1")
        #expect(fields["deadletterreason"] == "TimeToLiveExceeded")
        #expect(fields["deliveryattempts"] == 1)
        #expect(fields["lastdeliveryoutcome"] == "TimedOut")
        #expect(fields["lasthttpstatuscode"] == nil, "no answer, no status")
        #expect(fields["publishtime"] == .string(Self.firstAttempt))
        #expect(fields["lastdeliveryattempttime"] == "2023-11-14T22:13:20.000Z")
        #expect(!fields.keys.contains { $0 != $0.lowercased() }, "CloudEvents attribute names are lower case: \(fields.keys.sorted())")
    }

    @Test func thePublishTimeIsWhenKafkaTookTheEventWhenKnown() {
        var record = S.record(body: SubscriptionBody.render([S.event("e1")], schema: .eventGrid).body)
        record.publishedAtMilliseconds = 1_600_000_000_000
        let letters = SubscriptionPolicy.deadLetteredEvents(
            record, schema: .eventGrid, outcome: S.outcome(400), reason: "NonRetriableStatusCode: x", at: Date())
        #expect(letters.first?["publishTime"] == "2020-09-13T12:26:40.000Z")
    }

    @Test func aCloudEventsBatchDeadLettersEveryEvent() {
        let (body, contentType) = SubscriptionBody.render([S.cloudEvent("c1"), S.cloudEvent("c2"), S.cloudEvent("c3")], schema: .cloudEvents)
        let letters = SubscriptionPolicy.deadLetteredEvents(
            S.record(body: body, contentType: contentType, attempt: 2, events: 3), schema: .cloudEvents, outcome: S.outcome(400),
            reason: "NonRetriableStatusCode: HTTP 400 is not retried", at: Date())
        #expect(letters.map { $0["id"]?.stringValue } == ["c1", "c2", "c3"])
        #expect(letters.allSatisfy { $0["lasthttpstatuscode"] == 400 && $0["lastdeliveryoutcome"] == "BadRequest" })
    }

    @Test func deadLettersGoToTheSubscriptionsTopicOrTheDefault() {
        let record = S.record(body: SubscriptionBody.render([S.event("e1"), S.event("e2")], schema: .eventGrid).body, events: 2)
        let byDefault = Self.policy.deadLetters(record, outcome: S.outcome(400), reason: "NonRetriableStatusCode: x", at: Date())
        #expect(byDefault.map(\.topic) == ["registry-events.deadletter", "registry-events.deadletter"])
        #expect(byDefault.first?.headers.first { $0.key == "content-type" }?.stringValue == "application/json")
        var own = S.subscription(schema: .cloudEvents)
        own.deadLetterDestination = .kafkaTopic("team.deadletters")
        let policy = SubscriptionPolicy(subscription: own, schedule: .eventGridDefault, jitter: 0, defaultDeadLetterTopic: "unused")
        let letters = policy.deadLetters(
            S.record(body: SubscriptionBody.render([S.cloudEvent("c1")], schema: .cloudEvents).body), outcome: S.outcome(400),
            reason: "NonRetriableStatusCode: x", at: Date())
        #expect(letters.map(\.topic) == ["team.deadletters"])
        #expect(letters.first?.headers.first { $0.key == "content-type" }?.stringValue == "application/cloudevents+json")
    }

    @Test func eventGridSchemaIsAlwaysAnArray() throws {
        let (one, oneType) = SubscriptionBody.render([S.event("e1")], schema: .eventGrid)
        #expect(oneType == "application/json")
        #expect(JSONValue(parsing: Array(one.utf8)) == .array([S.event("e1")]))
        let (two, twoType) = SubscriptionBody.render([S.event("e1"), S.event("e2")], schema: .eventGrid)
        #expect(twoType == "application/json")
        #expect(JSONValue(parsing: Array(two.utf8)) == .array([S.event("e1"), S.event("e2")]))
    }

    @Test func cloudEventsAreAnObjectAloneAndAnArrayAsABatch() throws {
        let (one, oneType) = SubscriptionBody.render([S.cloudEvent("c1")], schema: .cloudEvents)
        #expect(oneType == "application/cloudevents+json; charset=utf-8")
        #expect(JSONValue(parsing: Array(one.utf8)) == S.cloudEvent("c1"))
        let (two, twoType) = SubscriptionBody.render([S.cloudEvent("c1"), S.cloudEvent("c2")], schema: .cloudEvents)
        #expect(twoType == "application/cloudevents-batch+json; charset=utf-8")
        #expect(JSONValue(parsing: Array(two.utf8)) == .array([S.cloudEvent("c1"), S.cloudEvent("c2")]))
        #expect(SubscriptionBody.events(in: one) == [S.cloudEvent("c1")])
        #expect(SubscriptionBody.events(in: two).count == 2)
        #expect(SubscriptionBody.events(in: "not json").isEmpty)
    }
}

@Suite("A subscription delivery's request")
struct SubscriptionRequestTests {
    typealias S = SubscriptionSamples

    func headerMap(_ request: OutboundRequest) -> [String: [String]] {
        Dictionary(grouping: request.headers, by: { $0.0.lowercased() }).mapValues { $0.map(\.1) }
    }

    @Test func eventGridHeadersNameTheSubscriptionAndCountEarlierAttempts() {
        let body = SubscriptionBody.render([S.event("e1")], schema: .eventGrid).body
        let request = SubscriptionAttempts.request(S.record(body: body, attempt: 3), subscription: S.subscription("eg-All"))
        let headers = headerMap(request)
        #expect(request.method == "POST")
        #expect(request.url == "https://hooks.example/eg-All")
        #expect(request.body == body)
        #expect(headers["content-type"] == ["application/json"])
        #expect(headers["aeg-event-type"] == ["Notification"])
        #expect(headers["aeg-subscription-name"] == ["EG-ALL"])
        #expect(headers["aeg-delivery-count"] == ["2"], "attempt 3 follows two deliveries")
        #expect(headers["aeg-metadata-version"] == ["1"])
        #expect(headers["aeg-data-version"] == ["1.0"])
        let first = SubscriptionAttempts.request(S.record(body: body, attempt: 1), subscription: S.subscription())
        #expect(headerMap(first)["aeg-delivery-count"] == ["0"])
    }

    @Test func aBatchOrACloudEventHasNoDataVersionHeader() {
        let batch = SubscriptionBody.render([S.event("e1"), S.event("e2")], schema: .eventGrid).body
        #expect(headerMap(SubscriptionAttempts.request(S.record(body: batch, events: 2), subscription: S.subscription()))["aeg-data-version"] == nil)
        let (single, type) = SubscriptionBody.render([S.cloudEvent("c1")], schema: .cloudEvents)
        let request = SubscriptionAttempts.request(
            S.record(body: single, contentType: type), subscription: S.subscription(schema: .cloudEvents))
        #expect(headerMap(request)["aeg-data-version"] == nil)
        #expect(headerMap(request)["content-type"] == ["application/cloudevents+json; charset=utf-8"])
    }

    @Test func deliveryAttributesAreStaticOrFromTheFirstEvent() {
        let subscription = S.subscription(attributes: [
            .fixed("Authorization", "Bearer s3cret", secret: true), .fixed("X-Team", "a"),
            .field("X-Repository", "data.target.repository"), .field("X-Size", "Data.Target.Size"), .field("X-Missing", "data.nothing"),
            .field("X-Object", "data.target"),
        ])
        let body = SubscriptionBody.render(
            [S.event("e1", repository: "first"), S.event("e2", repository: "second")], schema: .eventGrid
        ).body
        let headers = headerMap(SubscriptionAttempts.request(S.record(body: body, events: 2), subscription: subscription))
        #expect(headers["authorization"] == ["Bearer s3cret"], "a secret is still sent")
        #expect(headers["x-team"] == ["a"])
        #expect(headers["x-repository"] == ["first"], "dynamic values come from the first event of a batch")
        #expect(headers["x-size"] == ["345"], "field names ignore case; numbers print as JSON writes them")
        #expect(headers["x-missing"] == nil, "a missing field sends no header")
        #expect(headers["x-object"] == nil, "an object is not a header value")
    }
}

@Suite("Registry events reach subscriptions as Event Grid sends them")
struct RegistryEventRenderingTests {
    static func registryEvent() -> RegistryEvent {
        RegistryEvent(
            id: "a98b83a3-6308-4359-b752-7409242f5d53", timestamp: "2026-11-25T16:29:30.427944415Z", action: .push,
            registry: "myregistry", location: "westeurope",
            target: .init(
                mediaType: "application/vnd.oci.image.manifest.v1+json", size: 345,
                digest: "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c", length: 345, repository: "hello",
                tag: "v1"),
            request: .init(id: "r1", host: "127.0.0.1:5055", method: "PUT", useragent: "skopeo/1.9.3"))
    }

    /// The registry's events are on `.cloudevents`; in Event Grid schema they
    /// must be what Event Grid sends for a container registry (dataVersion 1.0).
    @Test(arguments: CloudEventsMode.allCases)
    func aRegistryCloudEventInEventGridSchemaIsTheEventGridEvent(_ mode: CloudEventsMode) throws {
        let layout = TopicLayout()
        let event = Self.registryEvent()
        let rendered = try #require(
            EventRecordRenderer(layout: layout, cloudEventsMode: mode).records(for: event).first { $0.topic == layout.cloudEvents })
        let record = KafkaConsumerRecord(
            topic: rendered.topic, partition: 0, offset: 0, key: Array(rendered.key.utf8), value: rendered.value,
            headers: rendered.headers.map { KafkaHeader(key: $0.0, string: $0.1) }, timestampMilliseconds: nil)
        let (scope, published) = try #require(SubscriptionEventReader(layout: layout).event(from: record))
        #expect(scope == .registry("myregistry"))
        let expected = JSONValue(parsing: JSONRendering.encode(try #require(EventGridEvent(event, topic: "/registries/myregistry"))))
        #expect(published.rendered(as: .eventGrid) == expected)
        let cloudEvent = JSONValue(parsing: JSONRendering.encode(try #require(CloudEvent(event, source: "/registries/myregistry"))))
        #expect(published.rendered(as: .cloudEvents) == cloudEvent, "and in CloudEvents, the CloudEvent")
    }
}
