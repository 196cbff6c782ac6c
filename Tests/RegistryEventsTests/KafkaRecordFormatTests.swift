import RegistryEvents
import Testing

/// The Kafka record format is one codec: what the writers put on the wire
/// reads back through the same codec, and the header names are DESIGN.md's
/// (Kafka, "Topics"). The names below are spelled out on purpose: they are
/// the contract with kcat users and streaming consumers.
@Suite("Kafka record format")
struct KafkaRecordFormatTests {
    let layout = TopicLayout()

    func records(_ action: RegistryAction, _ mode: CloudEventsMode) -> [RenderedRecord] {
        EventRecordRenderer(layout: layout, cloudEventsMode: mode).records(for: Samples.event(action))
    }

    func names(_ headers: [RecordHeader]) -> Set<String> { Set(headers.map(\.name)) }

    // MARK: DESIGN.md's table

    @Test func eventRecordsCarryTheHeadersOfDesignsTable() throws {
        for action in RegistryAction.subscribable {
            for mode in CloudEventsMode.allCases {
                let written = records(action, mode)
                let acr = try #require(written.first { $0.topic == layout.acr })
                #expect(names(acr.headers) == ["registry", "action", "location", "content-type"])
                #expect(acr.header("content-type") == "application/json")
                guard let cloudEvent = written.first(where: { $0.topic == layout.cloudEvents }) else {
                    #expect(action == .quarantine, "only quarantine has no Event Grid type")
                    continue
                }
                let expected: Set<String> = ["content-type", "registry", "action"]
                let binary: Set<String> = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"]
                #expect(names(cloudEvent.headers) == (mode == .binary ? expected.union(binary) : expected))
            }
        }
    }

    @Test func customTopicAndDeliveryRecordsCarryTheHeadersOfDesignsTable() {
        for schema in EventDeliverySchema.allCases {
            #expect(names(KafkaRecordFormat.customTopicHeaders(schema: schema, topic: "orders"))
                == ["content-type", "regevents-schema", "eventgrid-topic"])
        }
        #expect(KafkaRecordFormat.retryHeaders == [RecordHeader("content-type", "application/json")])
        #expect(KafkaRecordFormat.attemptHeaders == [RecordHeader("content-type", "application/json")])
    }

    /// Dead letters: DESIGN.md's shapes, plus `content-type` (the `.deadletter` row's "…").
    @Test func deadLettersCarryTheHeadersOfDesignsShapes() {
        let ingest = DeadLetterHeaders(.ingest(registry: "myregistry", eventIndices: [2]), reason: "r").headers
        #expect(names(ingest) == ["content-type", "regevents-source", "registry", "regevents-reason", "regevents-event-index"])
        let webhook = DeadLetterHeaders(.webhook(registry: "myregistry", webhook: "hook"), reason: "r").headers
        #expect(names(webhook) == ["content-type", "regevents-source", "registry", "webhook", "regevents-reason"])
        let subscription = DeadLetterHeaders(
            .subscription(scope: "registry/myregistry", subscription: "s", schema: .eventGrid), reason: "r").headers
        #expect(names(subscription) == ["content-type", "regevents-source", "scope", "subscription", "regevents-reason"])
        let pointer = DeadLetterHeaders(.pointer, reason: "r").headers
        #expect(names(pointer) == ["content-type", "regevents-pointer", "regevents-reason"])
        #expect(pointer.value(named: "regevents-pointer") == "true")
        #expect(ingest.value(named: "regevents-source") == "ingest")
        #expect(webhook.value(named: "regevents-source") == "webhook")
        #expect(subscription.value(named: "regevents-source") == "subscription")
    }

    // MARK: bytes on the wire, order included

    @Test func eventRecordHeadersAreExactlyWhatTheyWere() {
        let push = records(.push, .binary)
        #expect(push[0].headers == [
            RecordHeader("registry", "myregistry"), RecordHeader("action", "push"), RecordHeader("content-type", "application/json"),
            RecordHeader("location", "westeurope"),
        ])
        #expect(push[1].headers == [
            RecordHeader("ce_specversion", "1.0"), RecordHeader("ce_id", push[1].header("ce_id")),
            RecordHeader("ce_source", "/registries/myregistry"), RecordHeader("ce_type", "Microsoft.ContainerRegistry.ImagePushed"),
            RecordHeader("ce_time", "2026-11-25T16:29:30.427944415Z"), RecordHeader("ce_subject", "library/hello:v1"),
            RecordHeader("content-type", "application/json"), RecordHeader("registry", "myregistry"), RecordHeader("action", "push"),
        ])
        #expect(records(.push, .structured)[1].headers == [
            RecordHeader("content-type", "application/cloudevents+json; charset=UTF-8"), RecordHeader("registry", "myregistry"),
            RecordHeader("action", "push"),
        ])
        #expect(KafkaRecordFormat.customTopicHeaders(schema: .cloudEvents, topic: "orders") == [
            RecordHeader("content-type", "application/cloudevents+json"), RecordHeader("regevents-schema", "CloudEventSchemaV1_0"),
            RecordHeader("eventgrid-topic", "orders"),
        ])
        #expect(KafkaRecordFormat.customTopicHeaders(schema: .eventGrid, topic: "orders") == [
            RecordHeader("content-type", "application/json"), RecordHeader("regevents-schema", "EventGridSchema"),
            RecordHeader("eventgrid-topic", "orders"),
        ])
    }

    @Test func deadLetterHeadersAreExactlyWhatTheyWere() {
        #expect(DeadLetterHeaders(.ingest(registry: "myregistry", eventIndices: [3]), reason: "MalformedEvent: x").headers == [
            RecordHeader("content-type", "application/vnd.docker.distribution.events.v1+json"), RecordHeader("registry", "myregistry"),
            RecordHeader("regevents-source", "ingest"), RecordHeader("regevents-reason", "MalformedEvent: x"),
            RecordHeader("regevents-event-index", "3"),
        ])
        #expect(DeadLetterHeaders(.webhook(registry: "myregistry", webhook: "hook"), reason: "TimeToLiveExceeded").headers == [
            RecordHeader("content-type", "application/json"), RecordHeader("registry", "myregistry"),
            RecordHeader("regevents-source", "webhook"), RecordHeader("webhook", "hook"),
            RecordHeader("regevents-reason", "TimeToLiveExceeded"),
        ])
        #expect(
            DeadLetterHeaders(.subscription(scope: "topic/orders", subscription: "s", schema: .cloudEvents), reason: "r").headers == [
                RecordHeader("content-type", "application/cloudevents+json"), RecordHeader("regevents-source", "subscription"),
                RecordHeader("scope", "topic/orders"), RecordHeader("subscription", "s"), RecordHeader("regevents-reason", "r"),
            ])
        #expect(DeadLetterHeaders(.pointer, reason: "UndeliverableRecord: too large").headers == [
            RecordHeader("content-type", "application/json"), RecordHeader("regevents-pointer", "true"),
            RecordHeader("regevents-reason", "UndeliverableRecord: too large"),
        ])
    }

    // MARK: round trips

    @Test(arguments: RegistryAction.subscribable, CloudEventsMode.allCases)
    func everyActionReadsBackInBothModes(action: RegistryAction, mode: CloudEventsMode) throws {
        let event = Samples.event(action)
        let written = records(action, mode)

        let acr = try #require(written.first { $0.topic == layout.acr })
        let read = try #require(KafkaRecordFormat.acrEvent(value: acr.value, headers: acr.headers))
        #expect(read.id == event.id)
        #expect(read.timestamp == event.timestamp)
        #expect(read.action == action)
        #expect(read.registry == event.registry)
        #expect(read.location == event.location)
        #expect(read.target.repository == event.target.repository)
        #expect(read.target.digest == event.target.digest)
        #expect(read.target.tag == event.target.tag)
        #expect(acr.headers.value(named: KafkaRecordFormat.Header.action) == action.rawValue)

        guard let record = written.first(where: { $0.topic == layout.cloudEvents }) else {
            #expect(action == .quarantine)
            return
        }
        #expect(KafkaRecordFormat.isBinaryCloudEvent(record.headers) == (mode == .binary))
        let (registry, envelope) = try #require(KafkaRecordFormat.cloudEvent(value: record.value, headers: record.headers))
        #expect(registry == event.registry)
        #expect(record.headers.value(named: KafkaRecordFormat.Header.action) == action.rawValue)
        // Either mode reads back as the one structured CloudEvent the renderer made.
        let cloudEvent = try #require(CloudEvent(event, source: RegistryTopics().topic(for: event.registry)))
        #expect(envelope == JSONValue(parsing: JSONRendering.encode(cloudEvent)))
        #expect(envelope["type"]?.stringValue == action.eventGridType)
    }

    @Test(arguments: EventDeliverySchema.allCases)
    func customTopicEventsReadBack(schema: EventDeliverySchema) throws {
        let envelope: JSONValue = .object(["id": .string("e1"), "subject": .string("orders/1"), "data": .object(["n": .number(1)])])
        let headers = KafkaRecordFormat.customTopicHeaders(schema: schema, topic: "orders")
        let (topic, event) = try #require(KafkaRecordFormat.customTopicEvent(value: envelope.jsonBytes, headers: headers))
        #expect(topic == "orders")
        #expect(event == PublishedEvent(schema: schema, envelope: envelope))
    }

    @Test func deadLettersReadBack() {
        let origins: [DeadLetterHeaders.Origin] = [
            .ingest(registry: "myregistry", eventIndices: [0]), .ingest(registry: "myregistry", eventIndices: [1, 4, 7]), .webhook(registry: "myregistry", webhook: "hook"),
            .subscription(scope: "registry/myregistry", subscription: "s", schema: .eventGrid),
            .subscription(scope: "topic/orders", subscription: "s", schema: .cloudEvents), .pointer,
        ]
        for origin in origins {
            let written = DeadLetterHeaders(origin, reason: "MaxDeliveryAttemptsExceeded")
            #expect(DeadLetterHeaders(headers: written.headers) == written)
            #expect(KafkaRecordFormat.isPointerDeadLetter(written.headers) == (origin == .pointer))
        }
        #expect(DeadLetterHeaders(headers: KafkaRecordFormat.retryHeaders) == nil)
    }

    /// Records written by others (kcat, another producer) still read: a
    /// null `ce_*` header is a null attribute, and the last of a repeated header counts.
    @Test func foreignBinaryRecordsReadAsTheBindingSays() throws {
        let headers = [
            RecordHeader("registry", "first"), RecordHeader("registry", "myregistry"), RecordHeader("ce_specversion", "1.0"),
            RecordHeader("ce_id", "x"), RecordHeader("ce_comexampleextension", nil),
        ]
        let (registry, envelope) = try #require(KafkaRecordFormat.cloudEvent(value: Array("not json".utf8), headers: headers))
        #expect(registry == "myregistry")
        #expect(envelope == .object([
            "specversion": .string("1.0"), "id": .string("x"), "comexampleextension": .null,
            "data_base64": .string("bm90IGpzb24="),
        ]))
        #expect(KafkaRecordFormat.cloudEvent(value: Array("{}".utf8), headers: [RecordHeader("action", "push")]) == nil)
        #expect(KafkaRecordFormat.acrEvent(value: Array("{}".utf8), headers: headers) == nil)
    }
}
