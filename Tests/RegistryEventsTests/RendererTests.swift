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
