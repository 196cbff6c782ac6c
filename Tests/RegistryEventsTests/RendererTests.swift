import Foundation
import RegistryEvents
import Testing

@Suite("One event, three schemas")
struct RendererTests {
    func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func aPushHasExactlyTheACRFields() throws {
        let body = try json(JSONRendering.encode(ACRPayload(Samples.event(.push))))
        #expect(Set(body.keys) == ["id", "timestamp", "action", "target", "request"])
        let target = try #require(body["target"] as? [String: Any])
        #expect(Set(target.keys) == ["mediaType", "size", "digest", "length", "repository", "tag"])
        let request = try #require(body["request"] as? [String: Any])
        #expect(Set(request.keys) == ["id", "host", "method", "useragent"])
        #expect(body["action"] as? String == "push")
        #expect(body["timestamp"] as? String == "2026-11-25T16:29:30.427944415Z")
    }

    @Test func aDeleteHasNoSizeAndAChartNoRequest() throws {
        let delete = try json(JSONRendering.encode(ACRPayload(Samples.event(.delete))))
        #expect(Set((delete["target"] as? [String: Any] ?? [:]).keys) == ["digest", "repository"])
        #expect(delete["request"] != nil)
        let chart = try json(JSONRendering.encode(ACRPayload(Samples.event(.chartPush))))
        #expect(chart["request"] == nil)
        #expect(Set((chart["target"] as? [String: Any] ?? [:]).keys) == [
            "mediaType", "size", "digest", "repository", "tag", "name", "version",
        ])
        let ping = try json(JSONRendering.encode(ACRPayload.ping(id: "p", timestamp: "2026-11-25T16:29:30Z")))
        #expect(Set(ping.keys) == ["id", "timestamp", "action"])
    }

    @Test(arguments: [
        (RegistryAction.push, "Microsoft.ContainerRegistry.ImagePushed", "library/hello:v1"),
        (.delete, "Microsoft.ContainerRegistry.ImageDeleted", "library/hello"),
        (.chartPush, "Microsoft.ContainerRegistry.ChartPushed", "charts/mychart:0.1.0"),
        (.chartDelete, "Microsoft.ContainerRegistry.ChartDeleted", "charts/mychart:0.1.0"),
    ])
    func eventGridTypesAndSubjects(_ action: RegistryAction, _ type: String, _ subject: String) throws {
        let event = try #require(EventGridEvent(Samples.event(action), topic: "/registries/myregistry"))
        #expect(event.eventType == type)
        #expect(event.subject == subject)
        #expect(event.topic == "/registries/myregistry")
        #expect(event.dataVersion == "1.0")
        #expect(event.metadataVersion == "1")
        #expect(event.eventTime == "2026-11-25T16:29:30.427944415Z")
        #expect(event.data.location == "westeurope")
        #expect(event.data.action == action.rawValue)
        #expect((event.data.request == nil) == action.isChart)
        let cloudEvent = CloudEvent(event)
        #expect(cloudEvent.type == type)
        #expect(cloudEvent.source == event.topic)
        #expect(cloudEvent.id == event.id)
        #expect(cloudEvent.datacontenttype == "application/json")
        #expect(cloudEvent.data == event.data)
    }

    @Test func quarantineHasNoEventGridType() {
        #expect(EventGridEvent(Samples.event(.quarantine), topic: "/t") == nil)
        let records = EventRecordRenderer(layout: TopicLayout()).records(for: Samples.event(.quarantine))
        #expect(records.map(\.topic) == ["registry-events.acr"])
    }

    @Test func theEventGridIDIsStableAndDistinct() {
        let first = EventIdentity.eventGridID(for: Samples.event(.push))
        #expect(first == EventIdentity.eventGridID(for: Samples.event(.push)))
        var other = Samples.event(.push)
        other.id = "another"
        #expect(first != EventIdentity.eventGridID(for: other))
        #expect(first.wholeMatch(of: #/[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/#) != nil)
    }

    /// Ids already delivered must not change: the first implementation, kept
    /// here as the reference, gives the same id for any event.
    @Test func theEventGridIDIsTheOneEveryEarlierVersionGave() {
        func fnv1a(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
            bytes.reduce(seed) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
        }
        func reference(_ event: RegistryEvent) -> String {
            let text = Array("\(event.registry)\u{0}\(event.id)\u{0}\(event.action.rawValue)".utf8)
            let high = fnv1a(text, seed: 0xcbf2_9ce4_8422_2325)
            let low = fnv1a(text, seed: 0x8422_2325_cbf2_9ce4)
            var bytes = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
            bytes[6] = (bytes[6] & 0x0f) | 0x80
            bytes[8] = (bytes[8] & 0x3f) | 0x80
            let hex = Array(bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined())
            return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
        }
        for index in 0..<200 {
            var event = Samples.event([RegistryAction.push, .delete, .chartPush, .chartDelete][index % 4])
            event.id = "event-\(index)-é"
            event.registry = "registry\(index % 7)"
            #expect(EventIdentity.eventGridID(for: event) == reference(event))
        }
    }

    @Test func bothRecordsShareTheKeyAndCarryTheirHeaders() throws {
        let records = EventRecordRenderer(layout: TopicLayout(), topics: RegistryTopics(overrides: ["myregistry": "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/myregistry"]))
            .records(for: Samples.event(.push))
        #expect(records.map(\.topic) == ["registry-events.acr", "registry-events.cloudevents"])
        #expect(records.allSatisfy { $0.key == "myregistry/library/hello" })
        #expect(records[0].header("registry") == "myregistry")
        #expect(records[0].header("action") == "push")
        #expect(records[0].header("content-type") == "application/json")
        #expect(records[0].value == JSONRendering.encode(ACRPayload(Samples.event(.push))))
        #expect(records[1].header("content-type") == "application/cloudevents+json; charset=UTF-8")
        let structured = try json(records[1].value)
        #expect(structured["specversion"] as? String == "1.0")
        #expect((structured["source"] as? String)?.hasPrefix("/subscriptions/s/") == true)
    }

    @Test func binaryModePutsAttributesInHeadersAndDataInTheValue() throws {
        let records = EventRecordRenderer(layout: TopicLayout(), cloudEventsMode: .binary).records(for: Samples.event(.push))
        let record = records[1]
        #expect(record.header("ce_specversion") == "1.0")
        #expect(record.header("ce_type") == "Microsoft.ContainerRegistry.ImagePushed")
        #expect(record.header("ce_source") == "/registries/myregistry")
        #expect(record.header("ce_subject") == "library/hello:v1")
        #expect(record.header("ce_time") == "2026-11-25T16:29:30.427944415Z")
        #expect(record.header("content-type") == "application/json")
        let data = try json(record.value)
        #expect(data["action"] as? String == "push")
        #expect(data["location"] as? String == "westeurope")
    }
}
