import Foundation
import TestSupport
import Testing

/// Custom topics: Event Grid's publish API (with Azure's own SDK), and every
/// advanced filter operator through the full path.
@Suite("Custom topics, end to end", .machineHeavy, .serialized)
struct CustomTopicEndToEndTests {
    /// A new custom topic joins the dispatcher's subscription by a group
    /// rebalance; the embedded (mock) cluster waits a session timeout less
    /// one second for it, so the tests shorten the session timeout.
    static let serverArguments = ["--allow-private-targets", "--kafka-property", "session.timeout.ms=3000"]

    static func keys(_ base: String, _ topic: String) async throws -> (String, String) {
        let keys = try await API.send(.POST, "\(base)/v1/topics/\(topic)/listKeys")
        return (keys.body["key1"] as? String ?? "", keys.body["key2"] as? String ?? "")
    }

    @Test func azureSDKPublishesBothSchemasWithKeysAndTokens() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: Self.serverArguments)
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        let created = try await API.send(.PUT, "\(base)/v1/topics/sdk-topic", json: [:])
        #expect(created.status == 201, "\(created.text)")
        let endpoint = try #require((created.body["properties"] as? [String: Any])?["endpoint"] as? String)
        #expect(endpoint == "\(base)/v1/topics/sdk-topic/api/events")
        try await API.subscribe(base, "topics/sdk-topic", "as-eventgrid", ["destination": API.webhook(receiver.url("/eg"))])
        try await API.subscribe(base, "topics/sdk-topic", "as-cloudevents", [
            "destination": API.webhook(receiver.url("/ce")), "eventDeliverySchema": "CloudEventSchemaV1_0",
        ])
        let (key1, key2) = try await Self.keys(base, "sdk-topic")

        for arguments in [
            ["--schema", "eventgrid"], ["--schema", "eventgrid", "--sas"], ["--schema", "cloudevents"],
            ["--schema", "cloudevents", "--sas"],
        ] {
            let result = try await runPythonScript("eventgrid-sdk-publish.py", ["--endpoint", endpoint, "--key", key1] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.output)")
        }
        let eventGrid = try await receiver.waitForEvents("/eg", count: 8).flatMap(\.events)
        #expect(eventGrid.count == 8)
        #expect(eventGrid.allSatisfy { $0["eventType"] as? String == "Contoso.Items.ItemReceived" })
        #expect(eventGrid.filter { $0["topic"] as? String == "/topics/sdk-topic" }.count == 4, "Event Grid events get the topic")
        #expect(eventGrid.contains { ($0["data"] as? [String: Any])?["itemSku"] as? String == "sku-1" })
        let cloudEvents = try await receiver.waitForEvents("/ce", count: 8).flatMap(\.events)
        #expect(cloudEvents.count == 8)
        #expect(cloudEvents.filter { $0["source"] as? String == "/sdk/tests" }.count == 4, "CloudEvents keep their source")
        #expect(cloudEvents.allSatisfy { $0["specversion"] as? String == "1.0" && $0["type"] as? String == "Contoso.Items.ItemReceived" })

        // Wrong key, expired token: 401 as the SDK understands it.
        let wrong = try await runPythonScript(
            "eventgrid-sdk-publish.py",
            ["--endpoint", endpoint, "--key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "--schema", "eventgrid", "--expect-error", "401"])
        #expect(wrong.status == 0, "\(wrong.output)")
        let expired = try await runPythonScript(
            "eventgrid-sdk-publish.py",
            ["--endpoint", endpoint, "--key", key1, "--schema", "eventgrid", "--sas", "--sas-expires-in", "-60", "--expect-error", "401"])
        #expect(expired.status == 0, "\(expired.output)")

        // Regenerating key1 retires it; key2 goes on working.
        let regenerated = try await API.send(.POST, "\(base)/v1/topics/sdk-topic/regenerateKey", json: ["keyName": "key1"])
        #expect(regenerated.body["key2"] as? String == key2)
        #expect(regenerated.body["key1"] as? String != key1)
        let retired = try await runPythonScript(
            "eventgrid-sdk-publish.py", ["--endpoint", endpoint, "--key", key1, "--schema", "eventgrid", "--expect-error", "401"])
        #expect(retired.status == 0, "\(retired.output)")
        let stillGood = try await runPythonScript("eventgrid-sdk-publish.py", ["--endpoint", endpoint, "--key", key2, "--schema", "eventgrid"])
        #expect(stillGood.status == 0, "\(stillGood.output)")

        // Bad publishes: 400 naming the field, 413 over 1 MB, 404 for no topic.
        let headers = ["aeg-sas-key": key2]
        let missing = try await API.send(
            .POST, endpoint, json: [["id": "1", "subject": "s", "eventTime": "2026-01-01T00:00:00Z", "data": [:]]], headers: headers)
        #expect(missing.status == 400)
        #expect(missing.text.contains("eventType"))
        let huge = String(repeating: "x", count: 1_100_000)
        let tooLarge = try await API.send(
            .POST, endpoint,
            json: [["id": "1", "subject": "s", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z", "data": huge]], headers: headers)
        #expect(tooLarge.status == 413)
        let noTopic = try await API.send(.POST, "\(base)/v1/topics/nosuchtopic/api/events", json: [[String: Any]](), headers: headers)
        #expect(noTopic.status == 401, "an unknown topic answers as a wrong key does")
        // Event Grid's host-based endpoint: <topic>.<domain>/api/events.
        let port = base.split(separator: ":").last.map(String.init) ?? ""
        let byHost = try await API.send(
            .POST, "\(base)/api/events",
            json: [["id": "host-1", "subject": "by-host", "eventType": "t", "eventTime": "2026-01-01T00:00:00Z", "data": [:]]],
            headers: ["aeg-sas-key": key2, "Host": "sdk-topic.events.example:\(port)"])
        #expect(byHost.status == 200, "\(byHost.text)")
        #expect(try await receiver.waitForEvents("/eg", count: 11).flatMap(\.events).contains { $0["subject"] as? String == "by-host" })

        // SREs see the custom topic's Kafka topic and the dispatcher's lag on it.
        let topics = try await RegeventsProcess.run(["topics", "--server", base, "--output", "json"])
        let report = try jsonObject(Data(topics.output.joined(separator: "\n").utf8))["topics"] as? [[String: Any]] ?? []
        let custom = try #require(report.first { $0["name"] as? String == "registry-events.topic.sdk-topic" })
        #expect((custom["records"] as? Int ?? 0) >= 11)
        #expect((custom["consumerGroups"] as? [[String: Any]])?.first?["group"] as? String == "registry-events.subscriptions")
    }

    /// One subscription per operator on a custom topic; two events; each
    /// subscription receives exactly the events its filter passes.
    @Test func everyAdvancedFilterOperatorThroughTheFullPath() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: Self.serverArguments)
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        #expect(try await API.send(.PUT, "\(base)/v1/topics/orders").status == 201)
        let cases: [(name: String, filter: [String: Any], expected: Set<String>)] = [
            ("NumberIn", ["key": "data.index", "values": [5]], ["first"]),
            ("NumberNotIn", ["key": "data.index", "values": [5]], ["second"]),
            ("NumberLessThan", ["key": "data.index", "value": 10], ["first"]),
            ("NumberGreaterThan", ["key": "data.index", "value": 10], ["second"]),
            ("NumberLessThanOrEquals", ["key": "data.index", "value": 5], ["first"]),
            ("NumberGreaterThanOrEquals", ["key": "data.index", "value": 50], ["second"]),
            ("NumberInRange", ["key": "data.index", "values": [[1, 10]]], ["first"]),
            ("NumberNotInRange", ["key": "data.index", "values": [[1, 10]]], ["second"]),
            ("BoolEquals", ["key": "data.signed", "value": true], ["first"]),
            ("StringIn", ["key": "data.sku", "values": ["ALPHA-1"]], ["first"]),
            ("StringNotIn", ["key": "data.sku", "values": ["alpha-1"]], ["second"]),
            ("StringContains", ["key": "data.sku", "values": ["ETA"]], ["second"]),
            ("StringNotContains", ["key": "data.sku", "values": ["eta"]], ["first"]),
            ("StringBeginsWith", ["key": "data.sku", "values": ["alpha"]], ["first"]),
            ("StringNotBeginsWith", ["key": "data.sku", "values": ["alpha"]], ["second"]),
            ("StringEndsWith", ["key": "data.sku", "values": ["-2"]], ["second"]),
            ("StringNotEndsWith", ["key": "data.sku", "values": ["-2"]], ["first"]),
            ("IsNullOrUndefined", ["key": "data.note"], ["first"]),
            ("IsNotNull", ["key": "data.note"], ["second"]),
        ]
        for (name, filter, _) in cases {
            try await API.subscribe(base, "topics/orders", "op-\(name)", [
                "destination": API.webhook(receiver.url("/op/\(name)/")),
                "filter": ["advancedFilters": [filter.merging(["operatorType": name]) { $1 }]],
            ])
        }
        try await API.subscribe(base, "topics/orders", "array-tags", [
            "destination": API.webhook(receiver.url("/array/")),
            "filter": [
                "enableAdvancedFilteringOnArrays": true,
                "advancedFilters": [["operatorType": "StringIn", "key": "data.tags", "values": ["BLUE"]]],
            ],
        ])
        let (key, _) = try await Self.keys(base, "orders")
        let events: [[String: Any]] = [
            ["id": "e1", "subject": "first", "eventType": "Orders.Placed", "eventTime": "2026-11-25T10:00:00Z", "dataVersion": "1",
             "data": ["index": 5, "signed": true, "sku": "Alpha-1", "tags": ["red", "blue"], "note": NSNull()]],
            ["id": "e2", "subject": "second", "eventType": "Orders.Placed", "eventTime": "2026-11-25T10:00:01Z", "dataVersion": "1",
             "data": ["index": 50, "signed": false, "sku": "beta-2", "note": "gift"]],
        ]
        let published = try await API.send(.POST, "\(base)/v1/topics/orders/api/events", json: events, headers: ["aeg-sas-key": key])
        #expect(published.status == 200, "\(published.text)")
        for (name, _, expected) in cases {
            let delivered = try await receiver.waitForEvents("/op/\(name)/", count: expected.count)
            #expect(Set(delivered.flatMap(\.events).compactMap { $0["subject"] as? String }) == expected, "\(name)")
        }
        #expect(Set(try await receiver.waitForEvents("/array/", count: 1).flatMap(\.events).compactMap { $0["subject"] as? String }) == ["first"])
        // Nothing more arrives later: no operator matched an event it should not.
        try await Task.sleep(for: .seconds(1))
        for (name, _, expected) in cases {
            #expect(receiver.deliveries("/op/\(name)/").flatMap(\.events).count == expected.count, "\(name)")
        }
    }
}
