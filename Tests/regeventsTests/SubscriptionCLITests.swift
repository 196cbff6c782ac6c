import Foundation
import TestSupport
import Testing

/// `regevents subscription` and `regevents topic` against the real server,
/// with subscriptions pointing at a receiver that passes the validation handshake.
@Suite("regevents subscription and topic, end to end", .machineHeavy, .serialized)
struct SubscriptionCLITests {
    typealias Result = (status: Int32, output: [String], errors: String)

    static let token = "adm1n"

    static func startServer() async throws -> RunningServer {
        try await RunningServer.start(extraArguments: ["--admin-token", token, "--allow-private-targets"])
    }

    static func json(_ result: Result) throws -> [String: Any] {
        guard result.status == 0 else { throw ProcessFailure("regevents failed (\(result.status)): \(result.errors)") }
        return try jsonObject(Data(result.output.joined(separator: "\n").utf8))
    }

    static func properties(_ object: [String: Any]) -> [String: Any] { object["properties"] as? [String: Any] ?? [:] }
    static func filter(_ object: [String: Any]) -> [String: Any] { properties(object)["filter"] as? [String: Any] ?? [:] }
    static func destination(_ object: [String: Any]) -> [String: Any] {
        (properties(object)["destination"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
    }

    /// JSON text with sorted keys, to compare two objects whole.
    static func canonical(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The one `regevents: …` line a failed command prints, and nothing else.
    static func expectOneErrorLine(_ result: Result, status: Int32, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "status \(result.status): \(result.errors)", sourceLocation: sourceLocation)
        let lines = result.errors.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("regevents: ") == true, "expected one error line, got: \(result.errors)", sourceLocation: sourceLocation)
        #expect(result.errors.contains(text), "\(result.errors) does not contain \(text)", sourceLocation: sourceLocation)
        #expect(result.output.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func createWithFiltersShowsWhatWasSentAndUpdateChangesOnlyTheGivenField() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer()
        defer { server.process.terminateQuietly() }
        let common = ["--server", server.baseURL, "--registry", "myregistry", "--admin-token", Self.token]

        let created = try Self.json(
            try await RegeventsProcess.run(
                ["subscription", "create"] + common + [
                    "--name", "filtered", "--endpoint", receiver.url("/eg/filtered"),
                    "--included-event-types", "Microsoft.ContainerRegistry.ImagePushed", "Microsoft.ContainerRegistry.ImageDeleted",
                    "--subject-begins-with", "hello:", "--subject-ends-with", ":v1", "--subject-case-sensitive", "true",
                    "--advanced-filter", "data.target.repository", "StringIn", "hello", "world",
                    "--labels", "team-a", "prod",
                    "--advanced-filter", "data.target.size", "numberinrange", "1,1000", "5000,6000",
                    "--enable-advanced-filtering-on-arrays",
                    "--max-delivery-attempts", "5", "--event-ttl", "60", "--max-events-per-batch", "10",
                    "--preferred-batch-size-in-kilobytes", "128", "--event-delivery-schema", "EVENTGRIDSCHEMA",
                    "--deadletter-endpoint", "my-deadletters",
                    "--delivery-attribute-mapping", "X-Repository", "dynamic", "data.target.repository",
                ]))
        #expect(created["name"] as? String == "filtered")
        #expect(Self.properties(created)["provisioningState"] as? String == "Succeeded")
        #expect(receiver.handshakes("/eg/filtered").count == 1)

        let shown = try Self.json(try await RegeventsProcess.run(["subscription", "show"] + common + ["-n", "filtered"]))
        let filter = Self.filter(shown)
        #expect(filter["includedEventTypes"] as? [String] == ["Microsoft.ContainerRegistry.ImagePushed", "Microsoft.ContainerRegistry.ImageDeleted"])
        #expect(filter["subjectBeginsWith"] as? String == "hello:")
        #expect(filter["subjectEndsWith"] as? String == ":v1")
        #expect(filter["isSubjectCaseSensitive"] as? Bool == true)
        #expect(filter["enableAdvancedFilteringOnArrays"] as? Bool == true)
        let advanced = filter["advancedFilters"] as? [[String: Any]] ?? []
        #expect(advanced.count == 2, "each --advanced-filter is one filter: \(advanced)")
        #expect(advanced.first?["operatorType"] as? String == "StringIn")
        #expect(advanced.first?["key"] as? String == "data.target.repository")
        #expect(advanced.first?["values"] as? [String] == ["hello", "world"])
        #expect(advanced.last?["operatorType"] as? String == "NumberInRange")
        #expect(advanced.last?["key"] as? String == "data.target.size")
        #expect(advanced.last?["values"] as? [[Double]] == [[1, 1000], [5000, 6000]])
        let properties = Self.properties(shown)
        #expect(properties["eventDeliverySchema"] as? String == "EventGridSchema")
        #expect(properties["labels"] as? [String] == ["team-a", "prod"])
        #expect(properties["retryPolicy"] as? [String: Int] == ["maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60])
        let deadLetter = properties["deadLetterDestination"] as? [String: Any]
        #expect(deadLetter?["endpointType"] as? String == "KafkaTopic")
        #expect((deadLetter?["properties"] as? [String: Any])?["topic"] as? String == "my-deadletters")
        let destination = Self.destination(shown)
        #expect(destination["endpointUrl"] as? String == receiver.url("/eg/filtered"))
        #expect(destination["maxEventsPerBatch"] as? Int == 10)
        #expect(destination["preferredBatchSizeInKilobytes"] as? Int == 128)
        let mappings = destination["deliveryAttributeMappings"] as? [[String: Any]] ?? []
        #expect(mappings.count == 1)
        #expect(mappings.first?["name"] as? String == "X-Repository")
        #expect(mappings.first?["type"] as? String == "Dynamic")
        #expect((mappings.first?["properties"] as? [String: Any])?["sourceField"] as? String == "data.target.repository")

        // One filter member: the rest of the filter and everything else stay.
        let updated = try Self.json(
            try await RegeventsProcess.run(["subscription", "update"] + common + ["-n", "filtered", "--subject-ends-with", ":v2"]))
        var expectedFilter = filter
        expectedFilter["subjectEndsWith"] = ":v2"
        #expect(try Self.canonical(Self.filter(updated)) == Self.canonical(expectedFilter))
        var expectedProperties = properties
        expectedProperties["filter"] = expectedFilter
        #expect(
            try Self.canonical(Self.properties(updated)) == Self.canonical(expectedProperties),
            "update changed more than --subject-ends-with")

        // A retry setting: the other one and the filter stay.
        let retried = try Self.json(
            try await RegeventsProcess.run(["subscription", "update"] + common + ["-n", "filtered", "--max-delivery-attempts", "7"]))
        #expect(Self.properties(retried)["retryPolicy"] as? [String: Int] == ["maxDeliveryAttempts": 7, "eventTimeToLiveInMinutes": 60])
        #expect(try Self.canonical(Self.filter(retried)) == Self.canonical(expectedFilter))
        #expect(Self.destination(retried)["maxEventsPerBatch"] as? Int == 10)
        #expect(receiver.handshakes("/eg/filtered").count == 1, "an unchanged endpoint is not validated again")

        // A second subscription, in CloudEvents (the OPTIONS handshake), then list and delete.
        let second = try Self.json(
            try await RegeventsProcess.run(
                ["subscription", "create"] + common + [
                    "-n", "second", "--endpoint", receiver.url("/ce/second"), "--event-delivery-schema", "cloudeventschemav1_0",
                ]))
        #expect(Self.properties(second)["eventDeliverySchema"] as? String == "CloudEventSchemaV1_0")
        #expect(Self.properties(second)["provisioningState"] as? String == "Succeeded")
        let listed = try Self.json(try await RegeventsProcess.run(["subscription", "list"] + common))
        #expect(Set((listed["value"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }) == ["filtered", "second"])
        let table = try await RegeventsProcess.run(["subscription", "list"] + common + ["--output", "table"])
        #expect(table.output.first?.hasPrefix("NAME") == true)
        #expect(table.output.contains { $0.hasPrefix("second") && $0.contains("CloudEventSchemaV1_0") && $0.contains("Succeeded") })

        let deleted = try await RegeventsProcess.run(["subscription", "delete"] + common + ["-n", "second"])
        #expect(deleted.status == 0, "\(deleted.errors)")
        #expect(deleted.output.isEmpty && deleted.errors.isEmpty, "delete prints nothing")
        let after = try Self.json(try await RegeventsProcess.run(["subscription", "list"] + common))
        #expect((after["value"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } == ["filtered"])
        let missing = try await RegeventsProcess.run(["subscription", "show"] + common + ["-n", "second"])
        Self.expectOneErrorLine(missing, status: 1, containing: "registry myregistry has no event subscription second")
    }

    @Test func secretsAreMaskedUnlessTheFullEndpointURLIsAskedFor() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer()
        defer { server.process.terminateQuietly() }
        let common = ["--server", server.baseURL, "--registry", "myregistry", "--admin-token", Self.token]
        let fullURL = receiver.url("/eg/secret?code=t0psecret")

        let created = try await RegeventsProcess.run(
            ["subscription", "create"] + common + [
                "-n", "secretive", "--endpoint", fullURL,
                "--delivery-attribute-mapping", "X-Api-Key", "static", "s3cret", "true",
                "--delivery-attribute-mapping", "X-Team", "Static", "platform",
            ])
        #expect(created.status == 0, "\(created.errors)")
        #expect(!created.output.joined().contains("t0psecret") && !created.output.joined().contains("s3cret"))

        let masked = try await RegeventsProcess.run(["subscription", "show"] + common + ["-n", "secretive"])
        #expect(!masked.output.joined().contains("t0psecret") && !masked.output.joined().contains("s3cret"))
        let maskedJSON = try Self.json(masked)
        #expect(Self.destination(maskedJSON)["endpointUrl"] == nil)
        #expect(Self.destination(maskedJSON)["endpointBaseUrl"] as? String == receiver.url("/eg/secret"))
        let mappings = Self.destination(maskedJSON)["deliveryAttributeMappings"] as? [[String: Any]] ?? []
        let secret = mappings.first { $0["name"] as? String == "X-Api-Key" }?["properties"] as? [String: Any]
        #expect(secret?["isSecret"] as? Bool == true)
        #expect(secret?["value"] == nil)
        let plain = mappings.first { $0["name"] as? String == "X-Team" }?["properties"] as? [String: Any]
        #expect(plain?["value"] as? String == "platform")
        #expect(plain?["isSecret"] as? Bool == false)

        let revealed = try Self.json(
            try await RegeventsProcess.run(["subscription", "show"] + common + ["-n", "secretive", "--include-full-endpoint-url"]))
        #expect(Self.destination(revealed)["endpointUrl"] as? String == fullURL)
        #expect(Self.destination(revealed)["endpointBaseUrl"] as? String == receiver.url("/eg/secret"))
        let notRevealed = try Self.json(
            try await RegeventsProcess.run(["subscription", "show"] + common + ["-n", "secretive", "--include-full-endpoint-url", "false"]))
        #expect(Self.destination(notRevealed)["endpointUrl"] == nil)

        // The secret value was stored: it reaches the endpoint on a delivery.
        let published = try await RegeventsProcess.run([
            "publish", "--server", server.baseURL, "--registry", "myregistry", "--action", "push", "--repository", "hello", "--tag", "v1",
            "--digest", "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c",
        ])
        #expect(published.status == 0, "\(published.errors)")
        let deliveries = try await receiver.waitForEvents("/eg/secret", count: 1)
        #expect(deliveries.first?.headers["x-api-key"] == "s3cret")
        #expect(deliveries.first?.headers["x-team"] == "platform")
    }

    @Test func badValuesFailWithOneLine() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer()
        defer { server.process.terminateQuietly() }
        let create = ["subscription", "create", "--server", server.baseURL, "--registry", "myregistry", "--admin-token", Self.token, "-n", "badone"]
        let endpoint = ["--endpoint", receiver.url("/eg/bad")]

        // Refused before the request: exit 64, naming the flag.
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--max-delivery-attempts", "31"]), status: 64,
            containing: "--max-delivery-attempts: must be between 1 and 30, not 31")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--event-ttl", "0"]), status: 64,
            containing: "--event-ttl: must be between 1 and 1440 minutes, not 0")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--advanced-filter", "data.target.size", "NumberBetween", "1"]),
            status: 64, containing: "--advanced-filter: unknown operator 'NumberBetween'")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(
                create + endpoint + ["--advanced-filter", "data.a", "StringIn", "x", "--advanced-filter", "data.b", "NumberIn", "nine"]),
            status: 64, containing: "NumberIn compares numbers; 'nine' is not a number")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--delivery-attribute-mapping", "X-Key", "static"]), status: 64,
            containing: "--delivery-attribute-mapping: expected NAME static VALUE [true|false] or NAME dynamic SOURCEFIELD")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--event-delivery-schema", "custominputschema"]), status: 64,
            containing: "--event-delivery-schema")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--topic", "sometopic"]), status: 64, containing: "not both")

        // Refused by the server: its message, on one line.
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--delivery-attribute-mapping", "aeg-custom", "static", "x"]),
            status: 1, containing: "deliveryAttributeMappings[0].name: must be a header name not starting with aeg- (reserved) (HTTP 400")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + endpoint + ["--deadletter-endpoint", "no spaces"]), status: 1,
            containing: "properties.deadLetterDestination.properties.topic")
        let nothingCreated = try Self.json(
            try await RegeventsProcess.run([
                "subscription", "list", "--server", server.baseURL, "--registry", "myregistry", "--admin-token", Self.token,
            ]))
        #expect((nothingCreated["value"] as? [Any])?.isEmpty == true)

        // A refused handshake: the server keeps the subscription as Failed and answers 400.
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(create + ["--endpoint", receiver.url("/refuse")]), status: 1,
            containing: "Webhook validation handshake failed")
        let failed = try Self.json(
            try await RegeventsProcess.run([
                "subscription", "show", "--server", server.baseURL, "--registry", "myregistry", "--admin-token", Self.token, "-n", "badone",
            ]))
        #expect(Self.properties(failed)["provisioningState"] as? String == "Failed")
    }

    @Test func topicsAndTheirKeys() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer()
        defer { server.process.terminateQuietly() }
        let common = ["--server", server.baseURL, "--admin-token", Self.token]

        let created = try Self.json(try await RegeventsProcess.run(["topic", "create"] + common + ["--name", "orders"]))
        #expect(created["name"] as? String == "orders")
        #expect(Self.properties(created)["inputSchema"] as? String == "EventGridSchema")
        #expect(Self.properties(created)["endpoint"] as? String == "\(server.baseURL)/v1/topics/orders/api/events")
        let cloud = try Self.json(
            try await RegeventsProcess.run(["topic", "create"] + common + ["-n", "cloudy", "--input-schema", "CloudEventSchemaV1_0"]))
        #expect(Self.properties(cloud)["inputSchema"] as? String == "CloudEventSchemaV1_0")

        let shown = try Self.json(try await RegeventsProcess.run(["topic", "show"] + common + ["-n", "orders"]))
        #expect(shown["id"] as? String == "/v1/topics/orders")
        let listed = try Self.json(try await RegeventsProcess.run(["topic", "list"] + common))
        #expect(Set((listed["value"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }) == ["orders", "cloudy"])

        let keys = try Self.json(try await RegeventsProcess.run(["topic", "key", "list"] + common + ["--name", "orders"]))
        let key1 = try #require(keys["key1"] as? String)
        let key2 = try #require(keys["key2"] as? String)
        #expect(key1.count == 44 && key2.count == 44 && key1 != key2)
        let regenerated = try Self.json(
            try await RegeventsProcess.run(["topic", "key", "regenerate"] + common + ["--name", "orders", "--key-name", "key2"]))
        #expect(regenerated["key1"] as? String == key1, "the other key stays")
        let newKey2 = try #require(regenerated["key2"] as? String)
        #expect(newKey2 != key2)
        let again = try Self.json(try await RegeventsProcess.run(["topic", "key", "list"] + common + ["--name", "orders"]))
        #expect(again["key1"] as? String == key1 && again["key2"] as? String == newKey2)
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(["topic", "key", "regenerate"] + common + ["--name", "orders", "--key-name", "key3"]),
            status: 64, containing: "--key-name: must be key1 or key2, not key3")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(["topic", "create"] + common + ["-n", "other", "--input-schema", "custominputschema"]),
            status: 64, containing: "--input-schema")

        // A subscription on the topic, then the topic goes and takes it along.
        let subscribed = try Self.json(
            try await RegeventsProcess.run(
                ["subscription", "create"] + common + ["--topic", "orders", "-n", "order-sub", "--endpoint", receiver.url("/eg/orders")]))
        #expect(Self.properties(subscribed)["topic"] as? String == "/topics/orders")
        let topicSubscriptions = try Self.json(try await RegeventsProcess.run(["subscription", "list"] + common + ["--topic", "orders"]))
        #expect((topicSubscriptions["value"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } == ["order-sub"])

        let deleted = try await RegeventsProcess.run(["topic", "delete"] + common + ["-n", "orders"])
        #expect(deleted.status == 0, "\(deleted.errors)")
        #expect(deleted.output.isEmpty && deleted.errors.isEmpty, "delete prints nothing")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(["topic", "show"] + common + ["-n", "orders"]), status: 1, containing: "there is no topic orders")
        Self.expectOneErrorLine(
            try await RegeventsProcess.run(["subscription", "list"] + common + ["--topic", "orders"]), status: 1,
            containing: "there is no topic orders")
        let remaining = try Self.json(try await RegeventsProcess.run(["topic", "list"] + common))
        #expect((remaining["value"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } == ["cloudy"])
    }
}
