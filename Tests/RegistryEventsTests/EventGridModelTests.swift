import Foundation
import RegistryEvents
import Testing

@Suite("Published events change schema")
struct PublishedEventTests {
    static let eventGrid: JSONValue = [
        "id": "e1", "topic": "/topics/orders", "subject": "orders/42", "eventType": "Orders.Placed",
        "eventTime": "2026-11-25T10:00:00.123Z", "data": ["amount": 12.5, "items": [1, 2]], "dataVersion": "2.0",
        "metadataVersion": "1",
    ]

    static let cloudEvent: JSONValue = [
        "specversion": "1.0", "id": "c1", "source": "/orders/service", "type": "Orders.Shipped", "subject": "orders/43",
        "time": "2026-11-25T11:00:00Z", "datacontenttype": "application/json", "dataversion": "3", "data": ["carrier": "ups"],
        "traceparent": "00-abc-def-01",
    ]

    @Test func eventGridBecomesACloudEvent() {
        let rendered = PublishedEvent(schema: .eventGrid, envelope: Self.eventGrid).rendered(as: .cloudEvents)
        #expect(rendered == [
            "specversion": "1.0", "id": "e1", "source": "/topics/orders", "type": "Orders.Placed", "subject": "orders/42",
            "time": "2026-11-25T10:00:00.123Z", "datacontenttype": "application/json", "data": ["amount": 12.5, "items": [1, 2]],
        ])
    }

    @Test func anEmptySubjectIsLeftOutOfTheCloudEvent() {
        guard case .object(var fields) = Self.eventGrid else { return }
        fields["subject"] = ""
        fields["data"] = nil
        let rendered = PublishedEvent(schema: .eventGrid, envelope: .object(fields)).rendered(as: .cloudEvents)
        #expect(rendered["subject"] == nil)
        #expect(rendered["data"] == nil)
        #expect(rendered["datacontenttype"] == nil, "no data, no content type")
    }

    @Test func aCloudEventBecomesEventGrid() {
        let rendered = PublishedEvent(schema: .cloudEvents, envelope: Self.cloudEvent).rendered(as: .eventGrid)
        #expect(rendered == [
            "id": "c1", "topic": "/orders/service", "subject": "orders/43", "eventType": "Orders.Shipped",
            "eventTime": "2026-11-25T11:00:00Z", "data": ["carrier": "ups"], "dataVersion": "3", "metadataVersion": "1",
        ])
    }

    @Test func aMinimalCloudEventGetsEveryEventGridField() throws {
        let minimal: JSONValue = ["specversion": "1.0", "id": "c2", "source": "/s", "type": "T", "data_base64": "AAEC"]
        let rendered = PublishedEvent(schema: .cloudEvents, envelope: minimal).rendered(as: .eventGrid)
        #expect(rendered["subject"] == "")
        #expect(rendered["dataVersion"] == "")
        #expect(rendered["data"] == "AAEC", "binary data stays base64")
        let time = try #require(rendered["eventTime"]?.stringValue)
        #expect(time.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/#) != nil, "\(time)")
        let versioned = PublishedEvent(schema: .cloudEvents, envelope: minimal, eventGridDataVersion: "1.0").rendered(as: .eventGrid)
        #expect(versioned["dataVersion"] == "1.0", "the default applies when the CloudEvent has no dataversion")
        let own = PublishedEvent(schema: .cloudEvents, envelope: Self.cloudEvent, eventGridDataVersion: "1.0").rendered(as: .eventGrid)
        #expect(own["dataVersion"] == "3", "a dataversion attribute wins")
    }

    @Test func theSameSchemaIsTheEnvelopeUnchanged() {
        #expect(PublishedEvent(schema: .eventGrid, envelope: Self.eventGrid).rendered(as: .eventGrid) == Self.eventGrid)
        #expect(PublishedEvent(schema: .cloudEvents, envelope: Self.cloudEvent).rendered(as: .cloudEvents) == Self.cloudEvent)
    }

    @Test func attributesReadTheirSchemasNames() {
        let grid = PublishedEvent(schema: .eventGrid, envelope: Self.eventGrid)
        #expect([grid.id, grid.eventType, grid.source, grid.subject, grid.time] == ["e1", "Orders.Placed", "/topics/orders", "orders/42", "2026-11-25T10:00:00.123Z"])
        let cloud = PublishedEvent(schema: .cloudEvents, envelope: Self.cloudEvent)
        #expect([cloud.id, cloud.eventType, cloud.source, cloud.subject, cloud.time] == ["c1", "Orders.Shipped", "/orders/service", "orders/43", "2026-11-25T11:00:00Z"])
    }
}

@Suite("Publishing to a custom topic checks what Event Grid checks")
struct EventGridPublishingTests {
    static let topic = CustomTopic(name: "orders", key1: "k1", key2: "k2")

    static func publish(_ body: String, _ kind: EventGridPublishing.BodyKind = .eventGridArray) -> Result<[PublishedEvent], PublishError> {
        publish(Array(body.utf8), kind)
    }

    static func publish(_ body: [UInt8], _ kind: EventGridPublishing.BodyKind) -> Result<[PublishedEvent], PublishError> {
        do {
            return .success(try EventGridPublishing.events(in: body, kind: kind, topic: topic))
        } catch {
            return .failure(error)
        }
    }

    static func error(_ body: String, _ kind: EventGridPublishing.BodyKind = .eventGridArray) -> PublishError? {
        if case .failure(let error) = publish(body, kind) { return error }
        return nil
    }

    static var gridEvent: [String: Any] {
        [
            "id": "e1", "subject": "orders/42", "eventType": "Orders.Placed", "eventTime": "2026-11-25T10:00:00Z", "data": ["n": 1],
            "dataVersion": "1",
        ]
    }
    static var cloudEvent: [String: Any] {
        ["specversion": "1.0", "id": "c1", "source": "/shop", "type": "Orders.Placed", "data": ["n": 1]]
    }

    static func json(_ value: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    @Test(arguments: ["id", "subject", "eventType", "eventTime"])
    func eachMissingEventGridFieldIsNamed(_ field: String) throws {
        var event = Self.gridEvent
        event[field] = nil
        let error = try #require(Self.error(Self.json([event])))
        #expect(error.kind == .invalid)
        #expect(error.message.contains("'\(field)'"), "\(error.message)")
        #expect(error.message.contains("Event 0"), "\(error.message)")
    }

    @Test func theEventIsNamedByItsIndex() throws {
        var second = Self.gridEvent
        second["eventType"] = nil
        let error = try #require(Self.error(Self.json([Self.gridEvent, second])))
        #expect(error.message.hasPrefix("Event 1:"), "\(error.message)")
    }

    @Test(arguments: ["id", "eventType", "eventTime"])
    func anEmptyOrNonStringRequiredFieldIsRefused(_ field: String) throws {
        for value: Any in ["", 42] {
            var event = Self.gridEvent
            event[field] = value
            let error = try #require(Self.error(Self.json([event])), "\(field) = \(value)")
            #expect(error.message.contains("'\(field)'"), "\(error.message)")
        }
    }

    @Test func anEmptySubjectIsAllowed() throws {
        var event = Self.gridEvent
        event["subject"] = ""
        let events = try Self.publish(Self.json([event])).get()
        #expect(events.first?.subject == "")
    }

    @Test(arguments: ["specversion", "id", "source", "type"])
    func eachMissingCloudEventAttributeIsNamed(_ attribute: String) throws {
        var event = Self.cloudEvent
        event[attribute] = nil
        let error = try #require(Self.error(Self.json(event), .cloudEvent))
        #expect(error.kind == .invalid)
        #expect(error.message.contains(attribute), "\(error.message)")
    }

    @Test func theBodyShapeMustMatchTheContentType() throws {
        #expect(Self.error("[]")?.message.contains("no events") == true)
        #expect(Self.error("[]", .cloudEventBatch)?.message.contains("no events") == true)
        #expect(Self.error(Self.json(Self.gridEvent))?.message.contains("JSON array") == true, "application/json is an array")
        #expect(Self.error(Self.json([Self.cloudEvent]), .cloudEvent)?.message.contains("one JSON object") == true)
        #expect(Self.error(Self.json(Self.cloudEvent), .cloudEventBatch)?.message.contains("JSON array") == true)
        #expect(Self.error("{not json")?.message.contains("not valid JSON") == true)
        #expect(Self.error("[1]")?.message.contains("not a JSON object") == true)
    }

    @Test func aSingleCloudEventAndABatchArePublished() throws {
        let single = try Self.publish(Self.json(Self.cloudEvent), .cloudEvent).get()
        #expect(single.map(\.schema) == [.cloudEvents])
        #expect(single.first?.source == "/shop", "a CloudEvent keeps its source")
        var second = Self.cloudEvent
        second["id"] = "c2"
        let batch = try Self.publish(Self.json([Self.cloudEvent, second]), .cloudEventBatch).get()
        #expect(batch.map(\.id) == ["c1", "c2"])
        #expect(batch.allSatisfy { $0.schema == .cloudEvents })
    }

    @Test func aCloudEventInAPlainArrayIsACloudEvent() throws {
        let events = try Self.publish(Self.json([Self.cloudEvent, Self.gridEvent])).get()
        #expect(events.map(\.schema) == [.cloudEvents, .eventGrid])
        var broken = Self.cloudEvent
        broken["type"] = nil
        #expect(Self.error(Self.json([broken]))?.message.contains("'type'") == true, "and is checked as one")
    }

    @Test func contentTypesChooseTheBodyKind() {
        #expect(EventGridPublishing.BodyKind(contentType: "application/json") == .eventGridArray)
        #expect(EventGridPublishing.BodyKind(contentType: nil) == .eventGridArray)
        #expect(EventGridPublishing.BodyKind(contentType: "application/cloudevents+json; charset=utf-8") == .cloudEvent)
        #expect(EventGridPublishing.BodyKind(contentType: "Application/CloudEvents-Batch+JSON ; charset=utf-8") == .cloudEventBatch)
    }

    @Test(arguments: ["2026-11-25", "2026-11-25 10:00:00Z", "2026-13-25T10:00:00Z", "yesterday", "2026-11-25t10:00:00z"])
    func aBadEventTimeIsRefused(_ time: String) throws {
        var event = Self.gridEvent
        event["eventTime"] = time
        let error = try #require(Self.error(Self.json([event])))
        #expect(error.message.contains("eventTime"), "\(error.message)")
        var cloud = Self.cloudEvent
        cloud["time"] = time
        #expect(Self.error(Self.json(cloud), .cloudEvent)?.message.contains("time") == true)
    }

    @Test func aRequestOverOneMegabyteIsTooLarge() throws {
        var event = Self.gridEvent
        event["data"] = String(repeating: "x", count: EventGridPublishing.maxRequestBytes)
        let error = try #require(Self.error(Self.json([event])))
        #expect(error.kind == .tooLarge)
        #expect(error.message.contains("1 MB"))
        // Exactly at the limit is still read (and refused only for what it says).
        let padded = Array("[]".utf8) + Array(repeating: UInt8(ascii: " "), count: EventGridPublishing.maxRequestBytes - 2)
        guard case .failure(let atLimit) = Self.publish(padded, .eventGridArray) else {
            Issue.record("an empty array is no publish")
            return
        }
        #expect(atLimit.kind == .invalid)
    }

    /// An event as stored can be larger than as sent: `1e15` is written
    /// back as sixteen digits. Over 1 MB it is refused, naming the event.
    @Test func anEventOverOneMegabyteIsTooLarge() throws {
        let numbers = Array(repeating: "1e15", count: 70_000).joined(separator: ",")
        let body = #"[{"id":"e1","subject":"s","eventType":"T","eventTime":"2026-11-25T10:00:00Z","data":[\#(numbers)]}]"#
        #expect(body.utf8.count < EventGridPublishing.maxRequestBytes)
        let error = try #require(Self.error(body))
        #expect(error.kind == .tooLarge)
        #expect(error.message.hasPrefix("Event 0 is"), "\(error.message)")
    }

    @Test func eventGridEventsAreStampedWithTheTopic() throws {
        var event = Self.gridEvent
        event["topic"] = "/somewhere/else"
        event["metadataVersion"] = "7"
        let published = try #require(try Self.publish(Self.json([event])).get().first)
        #expect(published.schema == .eventGrid)
        #expect(published.envelope["topic"] == "/topics/orders")
        #expect(published.envelope["metadataVersion"] == "1")
        #expect(published.envelope["data"] == ["n": 1])
        #expect(published.envelope["dataVersion"] == "1")
    }

    /// Event Grid: "dataVersion … If not included, will be stamped with an empty value".
    @Test func aMissingOrNullDataVersionIsStampedEmpty() throws {
        var event = Self.gridEvent
        event["dataVersion"] = nil
        var null = Self.gridEvent
        null["dataVersion"] = NSNull()
        let published = try Self.publish(Self.json([event, null])).get()
        #expect(published.map { $0.envelope["dataVersion"] } == ["", ""])
        let cloud = try #require(try Self.publish(Self.json(Self.cloudEvent), .cloudEvent).get().first)
        #expect(cloud.envelope["dataVersion"] == nil && cloud.envelope["dataversion"] == nil, "CloudEvents are left as they are")
    }

    @Test func aNonStringDataVersionIsRefused() throws {
        var event = Self.gridEvent
        event["dataVersion"] = 1
        #expect(Self.error(Self.json([event]))?.message.contains("dataVersion") == true)
        event["dataVersion"] = NSNull()
        #expect(Self.error(Self.json([event])) == nil, "null is as good as absent")
    }

    @Test func dataAndDataBase64AreExclusive() throws {
        var event = Self.cloudEvent
        event["data_base64"] = "AAEC"
        #expect(Self.error(Self.json(event), .cloudEvent)?.message.contains("mutually exclusive") == true)
    }
}

@Suite("Event subscription limits and names")
struct EventSubscriptionLimitTests {
    static func valid() -> EventSubscription {
        EventSubscription(
            scope: .registry("myregistry"), name: "mysub", endpointURL: "https://hooks.example/eg", maxEventsPerBatch: 10,
            preferredBatchSizeInKilobytes: 64,
            deliveryAttributeMappings: [.fixed("Authorization", "Bearer x", secret: true), .field("X-Repo", "data.target.repository")],
            filter: EventFilter(advancedFilters: [AdvancedFilter(operatorType: .stringIn, key: "data.target.repository", values: ["a"])]))
    }

    static let destination = "properties.destination.properties"

    struct Case: Sendable, CustomTestStringConvertible {
        let property: String
        let change: @Sendable (inout EventSubscription) -> Void
        var testDescription: String { property }
        init(_ property: String, _ change: @escaping @Sendable (inout EventSubscription) -> Void) {
            self.property = property
            self.change = change
        }
    }

    static let violations: [Case] = [
        Case("properties.retryPolicy.maxDeliveryAttempts") { $0.maxDeliveryAttempts = 0 },
        Case("properties.retryPolicy.maxDeliveryAttempts") { $0.maxDeliveryAttempts = 31 },
        Case("properties.retryPolicy.eventTimeToLiveInMinutes") { $0.eventTimeToLiveInMinutes = 0 },
        Case("properties.retryPolicy.eventTimeToLiveInMinutes") { $0.eventTimeToLiveInMinutes = 1441 },
        Case("\(destination).maxEventsPerBatch") { $0.maxEventsPerBatch = 0 },
        Case("\(destination).maxEventsPerBatch") { $0.maxEventsPerBatch = 5001 },
        Case("\(destination).preferredBatchSizeInKilobytes") { $0.preferredBatchSizeInKilobytes = 0 },
        Case("\(destination).preferredBatchSizeInKilobytes") { $0.preferredBatchSizeInKilobytes = 1025 },
        Case("\(destination).deliveryAttributeMappings") {
            $0.deliveryAttributeMappings = (0..<11).map { .fixed("X-H\($0)", "v") }
        },
        Case("\(destination).deliveryAttributeMappings[1].name") { $0.deliveryAttributeMappings[1].name = "aeg-custom" },
        Case("\(destination).deliveryAttributeMappings[1].name") { $0.deliveryAttributeMappings[1].name = "AEG-Custom" },
        Case("\(destination).deliveryAttributeMappings[0].name") { $0.deliveryAttributeMappings[0].name = "" },
        Case("\(destination).deliveryAttributeMappings[0].name") { $0.deliveryAttributeMappings[0].name = "Bad Header" },
        Case("\(destination).deliveryAttributeMappings[0].name") { $0.deliveryAttributeMappings[0].name = "X:Y" },
        Case("\(destination).deliveryAttributeMappings[0].properties.value") { $0.deliveryAttributeMappings[0].properties.value = nil },
        Case("\(destination).deliveryAttributeMappings[0].properties.value") {
            $0.deliveryAttributeMappings[0].properties.value = String(repeating: "v", count: 4097)
        },
        Case("\(destination).deliveryAttributeMappings[0].properties.value") {
            $0.deliveryAttributeMappings[0].properties.value = "a\r\nX-Injected: 1"
        },
        Case("\(destination).deliveryAttributeMappings[1].properties.sourceField") {
            $0.deliveryAttributeMappings[1].properties.sourceField = nil
        },
        Case("\(destination).deliveryAttributeMappings[1].properties.sourceField") {
            $0.deliveryAttributeMappings[1].properties.sourceField = ""
        },
        Case("properties.filter.advancedFilters[0].values") { $0.filter.advancedFilters?[0].values = [] },
        Case("properties.filter.advancedFilters[1].key") {
            $0.filter.advancedFilters?.append(AdvancedFilter(operatorType: .isNotNull, key: " "))
        },
        Case("properties.filter.advancedFilters") {
            $0.filter.advancedFilters = (0..<26).map { AdvancedFilter(operatorType: .isNotNull, key: "data.k\($0)") }
        },
        Case("properties.filter.advancedFilters[0].values") {
            $0.filter.advancedFilters = [AdvancedFilter(operatorType: .stringIn, key: "subject", values: (0..<26).map { .string("v\($0)") })]
        },
        Case("properties.filter.includedEventTypes[1]") { $0.filter.includedEventTypes = ["A", " "] },
    ]

    @Test func theValidSubscriptionHasNoViolation() {
        #expect(Self.valid().limitViolation() == nil)
    }

    @Test(arguments: violations)
    func eachLimitIsNamedByItsProperty(_ violation: Case) throws {
        var subscription = Self.valid()
        violation.change(&subscription)
        let found = try #require(subscription.limitViolation())
        #expect(found.property == violation.property, "\(found.message)")
        #expect(!found.message.isEmpty)
    }

    @Test func theLimitsThemselvesAreAllowed() {
        var subscription = Self.valid()
        subscription.maxDeliveryAttempts = 1
        subscription.eventTimeToLiveInMinutes = 1
        subscription.maxEventsPerBatch = 1
        subscription.preferredBatchSizeInKilobytes = 1
        #expect(subscription.limitViolation() == nil)
        subscription.maxDeliveryAttempts = 30
        subscription.eventTimeToLiveInMinutes = 1440
        subscription.maxEventsPerBatch = 5000
        subscription.preferredBatchSizeInKilobytes = 1024
        subscription.deliveryAttributeMappings = (0..<10).map { .fixed("X-H\($0)", String(repeating: "v", count: 4096)) }
        subscription.filter.advancedFilters = (0..<25).map { AdvancedFilter(operatorType: .stringIn, key: "data.k\($0)", values: ["v"]) }
        #expect(subscription.limitViolation() == nil)
    }

    @Test(arguments: [
        ("abc", true), ("ab", false), ("eg-All-01", true), (String(repeating: "a", count: 64), true),
        (String(repeating: "a", count: 65), false), ("a_b", false), ("has space", false), ("", false), ("café", false),
        ("x/y", false),
    ])
    func subscriptionNames(_ name: String, _ valid: Bool) {
        #expect(EventSubscription.isValidName(name) == valid)
    }

    @Test(arguments: [
        ("abc", true), ("ab", false), ("orders-1", true), (String(repeating: "a", count: 50), true),
        (String(repeating: "a", count: 51), false), ("a.b", false), ("a_b", false), ("", false),
    ])
    func topicNames(_ name: String, _ valid: Bool) {
        #expect(CustomTopic.isValidName(name) == valid)
    }

    @Test func newTopicKeysAreDistinct256BitBase64() throws {
        let topic = CustomTopic(name: "orders")
        #expect(topic.key1 != topic.key2)
        for key in [topic.key1, topic.key2] {
            #expect(key.count == 44)
            #expect(try #require(Data(base64Encoded: key)).count == 32)
        }
        #expect(topic.eventSource == "/topics/orders")
    }

    @Test func deliveryDeadLetterAndScopeShapes() {
        #expect(SubscriptionScope(description: "topic/orders") == .topic("orders"))
        #expect(SubscriptionScope(description: "registry/r") == .registry("r"))
        #expect(SubscriptionScope(description: "nothing") == nil)
        #expect(SubscriptionScope.topic("orders").apiPath == "/v1/topics/orders")
        #expect(EventDeliverySchema(text: "cloudeventschemav1_0") == .cloudEvents)
        #expect(EventDeliverySchema(text: "eventgridschema") == .eventGrid)
        #expect(EventDeliverySchema(text: "CustomInputSchema") == nil)
    }
}

@Suite("Delivery attribute values")
struct DeliveryAttributeMappingTests {
    static let event: JSONValue = [
        "subject": "hello:v1",
        "data": ["target": ["repository": "hello", "size": 345, "ratio": 0.5, "signed": true, "tags": ["a"], "none": nil]],
    ]

    @Test(arguments: [
        ("subject", "hello:v1"), ("data.target.repository", "hello"), ("DATA.Target.Repository", "hello"), ("data.target.size", "345"),
        ("data.target.ratio", "0.5"), ("data.target.signed", "true"),
    ])
    func dynamicValuesComeFromTheEvent(_ field: String, _ value: String) {
        #expect(DeliveryAttributeMapping.field("X-Value", field).value(for: Self.event) == value)
    }

    @Test(arguments: ["data.target.none", "data.target.tags", "data.target", "data.nothing", "data.target.repository.deeper", ""])
    func missingNullOrStructuredFieldsGiveNoValue(_ field: String) {
        #expect(DeliveryAttributeMapping.field("X-Value", field).value(for: Self.event) == nil)
    }

    @Test func dynamicValuesThatCannotBeHeadersAreDropped() {
        let event: JSONValue = ["data": ["crlf": "a\r\nX-Injected: 1", "nul": "a\u{0}b", "long": .string(String(repeating: "v", count: 4097))]]
        for field in ["data.crlf", "data.nul", "data.long"] {
            #expect(DeliveryAttributeMapping.field("X-Value", field).value(for: event) == nil, "\(field)")
        }
    }

    @Test func staticValuesAreFixedSecretOrNot() {
        #expect(DeliveryAttributeMapping.fixed("X-Team", "a").value(for: Self.event) == "a")
        let secret = DeliveryAttributeMapping.fixed("Authorization", "Bearer x", secret: true)
        #expect(secret.value(for: .null) == "Bearer x")
        #expect(secret.isSecret)
        #expect(!DeliveryAttributeMapping.fixed("X-Team", "a").isSecret)
        #expect(!DeliveryAttributeMapping(name: "X", type: .dynamic, properties: .init(isSecret: true, sourceField: "subject")).isSecret)
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test func integersBooleansAndFractionsParseApart() throws {
        let parsed = try #require(JSONValue(parsing: Array(#"[1, 0, true, false, 2.5, -3, null, "1"]"#.utf8)))
        #expect(parsed == .array([.number(1), .number(0), .bool(true), .bool(false), .number(2.5), .number(-3), .null, .string("1")]))
    }

    @Test(arguments: [
        (JSONValue.number(3), "3"), (.number(-42), "-42"), (.number(2.5), "2.5"), (.number(0.1), "0.1"), (.number(1e15), "1000000000000000"),
        (.bool(true), "true"), (.null, "null"), (.string("a/b"), #""a/b""#),
        (JSONValue.object(["b": 1, "a": [1.5, "x"]]), #"{"a":[1.5,"x"],"b":1}"#),
    ])
    func encodingWritesIntegersWithoutAFraction(_ value: JSONValue, _ text: String) {
        #expect(String(decoding: value.jsonBytes, as: UTF8.self) == text)
    }

    @Test func valuesRoundTrip() throws {
        let text = #"{"a":[1,2.25,-7,true,null,{"b":"c"}],"big":123456789012,"s":"é\n"}"#
        let value = try #require(JSONValue(parsing: Array(text.utf8)))
        #expect(JSONValue(parsing: value.jsonBytes) == value)
        #expect(value["big"] == 123_456_789_012)
        #expect(String(decoding: value.jsonBytes, as: UTF8.self).contains(#""big":123456789012"#))
    }

    @Test func notJSONIsNil() {
        #expect(JSONValue(parsing: Array("{".utf8)) == nil)
        #expect(JSONValue(parsing: Array("".utf8)) == nil)
    }

    @Test func pathsPreferTheExactKeyThenIgnoreCase() {
        let value: JSONValue = ["Data": ["tag": "lower", "TAG": "upper", "Repo": "r"], "data2": 1]
        #expect(value.value(at: ["Data", "tag"]) == "lower")
        #expect(value.value(at: ["data", "TAG"]) == "upper")
        #expect(value.value(at: ["DATA", "repo"]) == "r")
        #expect(value.value(at: ["data", "missing"]) == nil)
        #expect(value.value(at: ["data2", "deeper"]) == nil, "a number has no members")
        #expect(value.value(at: [String]()) == value)
        #expect(value["data"] == nil, "the subscript is exact")
    }

    @Test func scalarTextIsForHeaders() {
        #expect(JSONValue.number(345).scalarText == "345")
        #expect(JSONValue.number(0.25).scalarText == "0.25")
        #expect(JSONValue.bool(false).scalarText == "false")
        #expect(JSONValue.string("x").scalarText == "x")
        #expect(JSONValue.null.scalarText == nil)
        #expect(JSONValue.array([1]).scalarText == nil)
        #expect(JSONValue.object([:]).scalarText == nil)
    }
}

@Suite("Opt-in event types")
struct OptInEventTypeTests {
    static func event(_ type: String) -> JSONValue {
        .object(["id": "1", "eventType": .string(type), "subject": "library/hello:prod", "topic": "/registries/r", "data": .object([:])])
    }

    @Test func aRegistrysTagEventsReachOnlySubscriptionsThatNameThem() {
        let added = Self.event("RegistryEvents.ContainerRegistry.TagAdded")
        var subscription = EventSubscription(scope: .registry("r"), name: "all", endpointURL: "https://hooks.example/eg")
        #expect(!subscription.matches(added), "no filter: ACR's and Event Grid's types only")
        #expect(subscription.matches(Self.event("Microsoft.ContainerRegistry.ImagePushed")))
        subscription.filter.includedEventTypes = ["All"]
        #expect(!subscription.matches(added), "\"All\" is Event Grid's types")
        subscription.filter.includedEventTypes = ["registryevents.containerregistry.tagadded"]
        #expect(subscription.matches(added), "named (any case): delivered")
        #expect(!subscription.matches(Self.event("RegistryEvents.ContainerRegistry.TagRemoved")))
        // A custom topic's publisher chooses its own types: no opt-in rule there.
        let topic = EventSubscription(scope: .topic("orders"), name: "all", endpointURL: "https://hooks.example/eg")
        #expect(topic.matches(added))
    }

    @Test func webhooksTakeTheOptInActionsByName() {
        #expect((try? Webhook.parseActions(["push", "TAG_ADDED", "tag_removed"]).get()) == [.push, .tagAdded, .tagRemoved])
        #expect(RegistryAction.subscribable.allSatisfy { !$0.isOptIn })
        #expect(RegistryAction.optIn.allSatisfy { $0.eventGridType?.hasPrefix("RegistryEvents.ContainerRegistry.") == true })
    }
}
