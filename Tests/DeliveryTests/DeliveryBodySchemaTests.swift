@testable import Delivery
import Foundation
import Kafka
import RegistryEvents
import TestSupport
import Testing

/// What subscriptions receive — delivery bodies in both schemas, batches,
/// dead letters — checked against `schemas/` by Python's jsonschema, from
/// the same code paths the dispatcher takes: the `.cloudevents` reader,
/// the publish API's checks, the batcher, `SubscriptionBody` and the policy.
@Suite("Delivery bodies validate against schemas/", .machineHeavy)
struct DeliveryBodySchemaTests {
    typealias S = SubscriptionSamples
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"

    static func registryEvent(_ action: RegistryAction) -> RegistryEvent {
        let chart = action == .chartPush || action == .chartDelete
        var target = RegistryEvent.Target(
            mediaType: "application/vnd.oci.image.manifest.v1+json", size: 345, digest: digest, length: 345,
            repository: chart ? "charts/mychart" : "hello", url: "http://127.0.0.1:5055/v2/hello/manifests/\(digest)", tag: "v1")
        if chart {
            target.name = "mychart"
            target.version = "0.1.0"
            target.tag = "0.1.0"
        }
        if action == .delete || action == .chartDelete {
            target.size = nil
            target.length = nil
            target.url = nil
            if action == .delete {
                target.tag = nil
                target.mediaType = nil
            }
        }
        return RegistryEvent(
            id: "a98b83a3-6308-4359-b752-7409242f5d53", timestamp: "2026-11-25T16:29:30.427944415Z", action: action,
            registry: "myregistry", location: "westeurope", target: target,
            request: .init(id: "r1", addr: "127.0.0.1:45678", host: "127.0.0.1:5055", method: "PUT", useragent: "skopeo/1.9.3"))
    }

    /// Registry events as the dispatcher reads them off `.cloudevents`.
    static func publishedRegistryEvents() throws -> [PublishedEvent] {
        let layout = TopicLayout()
        let reader = SubscriptionEventReader(layout: layout)
        var events: [PublishedEvent] = []
        for mode in CloudEventsMode.allCases {
            for action in RegistryAction.subscribable {
                for rendered in EventRecordRenderer(layout: layout, cloudEventsMode: mode).records(for: registryEvent(action))
                where rendered.topic == layout.cloudEvents {
                    let record = KafkaConsumerRecord(
                        topic: rendered.topic, partition: 0, offset: Int64(events.count), key: Array(rendered.key.utf8),
                        value: rendered.value, headers: rendered.headers.map(KafkaHeader.init),
                        timestampMilliseconds: nil)
                    events.append(try #require(reader.event(from: record)).event)
                }
            }
        }
        return events
    }

    /// Custom-topic events as the publish API accepts them.
    static func publishedTopicEvents() throws -> [PublishedEvent] {
        let topic = CustomTopic(name: "orders")
        let gridBody = #"""
            [{"id":"e1","subject":"orders/1","eventType":"Orders.Placed","eventTime":"2026-11-25T10:00:00Z","data":{"n":1},"dataVersion":"1"},
             {"id":"e2","subject":"","eventType":"Orders.Cancelled","eventTime":"2026-11-25T10:00:01.5+01:00","data":[1,2.5,null]}]
            """#
        let cloudBody = #"""
            [{"specversion":"1.0","id":"c1","source":"/shop","type":"Orders.Placed","subject":"orders/3","time":"2026-11-25T10:00:02Z",
              "datacontenttype":"application/json","data":{"n":3},"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
             {"specversion":"1.0","id":"c2","source":"/shop","type":"Orders.Placed","data_base64":"AAEC","dataversion":"2"}]
            """#
        return try EventGridPublishing.events(in: Array(gridBody.utf8), kind: .eventGridArray, topic: topic)
            + EventGridPublishing.events(in: Array(cloudBody.utf8), kind: .cloudEventBatch, topic: topic)
    }

    @Test func deliveriesBatchesAndDeadLettersMatchTheirSchemas() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-deliveries-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var count = 0
        func write(_ schema: String, _ label: String, _ text: String) throws {
            try Data(text.utf8).write(to: directory.appendingPathComponent("\(schema)--\(label).json"))
            count += 1
        }

        let registry = try Self.publishedRegistryEvents()
        let custom = try Self.publishedTopicEvents()
        #expect(registry.count == 8 && custom.count == 4)
        for (index, event) in registry.enumerated() {
            let grid = event.rendered(as: .eventGrid)
            try write("eventgrid-delivery", "registry-\(index)", SubscriptionBody.render([grid], schema: .eventGrid).body)
            // The strict per-type schemas: a registry event is exactly what Event Grid sends for it.
            try write("eventgrid-event", "registry-\(index)", String(decoding: grid.jsonBytes, as: UTF8.self))
            let cloud = event.rendered(as: .cloudEvents)
            try write("cloudevents-delivery", "registry-\(index)", SubscriptionBody.render([cloud], schema: .cloudEvents).body)
            try write("cloudevent", "registry-\(index)", String(decoding: cloud.jsonBytes, as: UTF8.self))
        }
        for (index, event) in custom.enumerated() {
            try write("eventgrid-delivery", "topic-\(index)", SubscriptionBody.render([event.rendered(as: .eventGrid)], schema: .eventGrid).body)
            try write(
                "cloudevents-delivery", "topic-\(index)", SubscriptionBody.render([event.rendered(as: .cloudEvents)], schema: .cloudEvents).body)
        }

        // Batches as the batcher closes them (three events each).
        for schema in EventDeliverySchema.allCases {
            let batcher = SubscriptionBatcher(linger: .seconds(3600))
            let subscription = S.subscription(maxEventsPerBatch: 3, schema: schema)
            var batches: [SubscriptionBatcher.Batch] = []
            for (offset, event) in (registry + custom).enumerated() {
                batches += batcher.add(
                    event.rendered(as: schema), to: subscription, completion: RecordLifecycle(S.origin(offset: Int64(offset)), targets: 1, commits: CommitCoordinator()),
                    origin: S.origin(offset: Int64(offset)))
            }
            batches += batcher.due(everything: true)
            #expect(batches.map(\.events.count) == [3, 3, 3, 3])
            let name = schema == .eventGrid ? "eventgrid-delivery" : "cloudevents-delivery"
            for (index, batch) in batches.enumerated() {
                let (body, contentType) = SubscriptionBody.render(batch.events, schema: schema)
                #expect(contentType.hasPrefix(schema == .eventGrid ? "application/json" : "application/cloudevents-batch+json"))
                try write(name, "batch-\(index)", body)
            }
        }

        // Dead letters of an Event Grid batch: one per event, whatever ended it.
        let batchBody = SubscriptionBody.render((registry.prefix(2) + custom.prefix(2)).map { $0.rendered(as: .eventGrid) }, schema: .eventGrid).body
        let endings: [(String, AttemptOutcome, String, Int)] = [
            ("max-attempts", S.outcome(503), "MaxDeliveryAttemptsExceeded: 30 attempts made", 30),
            ("ttl-no-answer", S.outcome(nil, error: "read timeout"), "TimeToLiveExceeded: the next attempt would come after 1440 min", 6),
            ("non-retriable", S.outcome(413), "NonRetriableStatusCode: HTTP 413 is not retried", 1),
        ]
        for (label, outcome, reason, attempt) in endings {
            let letters = SubscriptionPolicy.deadLetteredEvents(
                S.record(body: batchBody, attempt: attempt, events: 4), schema: .eventGrid, outcome: outcome, reason: reason, at: Date())
            #expect(letters.count == 4)
            for (index, letter) in letters.enumerated() {
                try write("eventgrid-deadletter", "\(label)-\(index)", String(decoding: letter.jsonBytes, as: UTF8.self))
            }
        }
        // CloudEvents dead letters carry the same properties as extension attributes.
        let cloudBatch = SubscriptionBody.render(registry.prefix(2).map { $0.rendered(as: .cloudEvents) }, schema: .cloudEvents)
        let cloudLetters = SubscriptionPolicy.deadLetteredEvents(
            S.record(body: cloudBatch.body, contentType: cloudBatch.contentType, attempt: 3, events: 2), schema: .cloudEvents,
            outcome: S.outcome(401), reason: "NonRetriableStatusCode: HTTP 401 is not retried", at: Date())
        try write("cloudevents-delivery", "deadletters", SubscriptionBody.render(cloudLetters, schema: .cloudEvents).body)

        let result = try await Self.runValidator(directory)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(count) passed, 0 failed"), "\(result.output)")
    }

    /// The schemas bite: what we must never send fails them.
    @Test func theDeliverySchemasRefuseWhatEventGridWouldNotSend() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-bad-deliveries-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let grid = try #require(try Self.publishedRegistryEvents().first).rendered(as: .eventGrid)
        guard case .object(var fields) = grid else { return }
        fields["dataVersion"] = nil
        let samples: [(String, JSONValue)] = [
            ("eventgrid-delivery--no-data-version", .array([.object(fields)])),
            ("eventgrid-delivery--not-an-array", grid),
            ("eventgrid-delivery--empty", .array([])),
            ("eventgrid-event--empty-data-version", .object(fields.merging(["dataVersion": ""]) { $1 })),
            ("cloudevents-delivery--event-grid-event", grid),
            ("eventgrid-deadletter--plain-event", grid),
        ]
        for (name, value) in samples {
            try Data(value.jsonBytes).write(to: directory.appendingPathComponent("\(name).json"))
        }
        let result = try await Self.runValidator(directory)
        #expect(result.status == 1)
        #expect(result.output.contains("0 passed, \(samples.count) failed"), "\(result.output)")
    }

    static func runValidator(_ directory: URL) async throws -> (status: Int32, output: String) {
        let result = try await runPythonScript(
            "validate-json.py", [root.appendingPathComponent("schemas").path, directory.path])
        return (result.status, result.output)
    }
}
