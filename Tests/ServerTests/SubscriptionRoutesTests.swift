import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Kafka
import RegistryEvents
@testable import Server
import TestSupport
import Testing

/// The JSON API as tests call it: status, parsed body, raw text.
struct JSONCall: Sendable {
    let client: any TestClientProtocol
    var headers: HTTPFields = [:]

    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var text: String
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:] }
        var properties: [String: Any] { json["properties"] as? [String: Any] ?? [:] }
        var error: (code: String, message: String)? {
            guard let error = json["error"] as? [String: Any], let code = error["code"] as? String,
                let message = error["message"] as? String
            else { return nil }
            return (code, message)
        }
    }

    @discardableResult
    func callAsFunction(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers extra: HTTPFields = [:]) async throws
        -> Answer
    {
        var all = headers
        all.append(contentsOf: extra)
        if body != nil, all[.contentType] == nil { all[.contentType] = "application/json" }
        return try await client.execute(uri: uri, method: method, headers: all, body: body.map { ByteBuffer(string: $0) }) {
            Answer(status: $0.status, text: String(buffer: $0.body))
        }
    }

    func json(_ method: HTTPRequest.Method, _ uri: String, _ object: Any, headers extra: HTTPFields = [:]) async throws -> Answer {
        try await self(method, uri, String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self), headers: extra)
    }
}

/// Event Grid SAS tokens exactly as azure-eventgrid's `generate_sas` makes them.
enum SAS {
    /// Python's `quote(text, safe="~()*!.'")`.
    static func quote(_ text: String) -> String {
        let safe = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~()*!'")
        return text.addingPercentEncoding(withAllowedCharacters: safe) ?? text
    }

    static func token(endpoint: String, key: String, expiry: String = "2030-01-01 00:00:00+00:00") throws -> String {
        let unsigned = "r=\(quote(endpoint + "?apiVersion=2018-01-01"))&e=\(quote(expiry))"
        let secret = try #require(Data(base64Encoded: key))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(unsigned.utf8), using: SymmetricKey(data: secret))
        return "\(unsigned)&s=\(quote(Data(mac).base64EncodedString()))"
    }
}

extension HTTPField.Name {
    static let aegSasKey = Self("aeg-sas-key")!
    static let aegSasToken = Self("aeg-sas-token")!
}

@Suite("Event subscriptions through the router", .machineHeavy)
struct SubscriptionRoutesTests {
    static let base = "/v1/registries/myreg/eventSubscriptions"

    static func webhook(_ url: String = EndpointSink.url(), _ extra: [String: Any] = [:]) -> [String: Any] {
        ["endpointType": "WebHook", "properties": ["endpointUrl": url].merging(extra) { $1 }]
    }

    @Test func createShowListPatchAndDelete() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let created = try await api.json(.put, "\(Self.base)/eg-sub1", ["properties": ["destination": Self.webhook()]])
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["id"] as? String == "\(Self.base)/eg-sub1")
            #expect(created.json["name"] as? String == "eg-sub1")
            #expect(created.json["type"] as? String == "Microsoft.EventGrid/eventSubscriptions")
            let properties = created.properties
            #expect(properties["topic"] as? String == "/registries/myreg")
            #expect(properties["provisioningState"] as? String == "AwaitingManualAction", "no deliveries in router tests")
            #expect((properties["provisioningMessage"] as? String)?.isEmpty == false)
            #expect(properties["eventDeliverySchema"] as? String == "EventGridSchema")
            let destination = try #require(properties["destination"] as? [String: Any])
            #expect(destination["endpointType"] as? String == "WebHook")
            let endpoint = try #require(destination["properties"] as? [String: Any])
            #expect(endpoint["endpointUrl"] as? String == EndpointSink.url(), "no query to hide")
            #expect(endpoint["endpointBaseUrl"] as? String == EndpointSink.url())
            #expect(endpoint["maxEventsPerBatch"] as? Int == 1)
            #expect(endpoint["preferredBatchSizeInKilobytes"] as? Int == 64)
            let retry = try #require(properties["retryPolicy"] as? [String: Any])
            #expect(retry["maxDeliveryAttempts"] as? Int == 30)
            #expect(retry["eventTimeToLiveInMinutes"] as? Int == 1440)
            let createdAt = try #require((created.json["systemData"] as? [String: Any])?["createdAt"] as? String)

            let replaced = try await api.json(
                .put, "\(Self.base)/eg-sub1",
                ["properties": ["destination": Self.webhook(), "eventDeliverySchema": "CloudEventSchemaV1_0"]])
            #expect(replaced.status == .ok, "a second PUT replaces")
            #expect(replaced.properties["eventDeliverySchema"] as? String == "CloudEventSchemaV1_0")
            #expect((replaced.json["systemData"] as? [String: Any])?["createdAt"] as? String == createdAt)

            let shown = try await api(.get, "\(Self.base)/eg-sub1")
            #expect(shown.status == .ok)
            #expect(shown.json["name"] as? String == "eg-sub1")
            _ = try await api.json(.put, "\(Self.base)/a-second", ["properties": ["destination": Self.webhook()]])
            let list = try await api(.get, Self.base)
            #expect((list.json["value"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["a-second", "eg-sub1"])

            // ARM's PATCH sends the properties at the top level; both shapes work.
            let topLevel = try await api.json(.patch, "\(Self.base)/eg-sub1", ["retryPolicy": ["maxDeliveryAttempts": 5]])
            #expect(topLevel.status == .ok, "\(topLevel.text)")
            #expect((topLevel.properties["retryPolicy"] as? [String: Any])?["maxDeliveryAttempts"] as? Int == 5)
            #expect((topLevel.properties["retryPolicy"] as? [String: Any])?["eventTimeToLiveInMinutes"] as? Int == 1440)
            let wrapped = try await api.json(
                .patch, "\(Self.base)/eg-sub1",
                ["properties": ["labels": ["x"], "destination": ["properties": ["maxEventsPerBatch": 10]]]])
            #expect(wrapped.status == .ok, "\(wrapped.text)")
            #expect(wrapped.properties["labels"] as? [String] == ["x"])
            let patchedEndpoint = (wrapped.properties["destination"] as? [String: Any])?["properties"] as? [String: Any]
            #expect(patchedEndpoint?["maxEventsPerBatch"] as? Int == 10)
            #expect(patchedEndpoint?["endpointUrl"] as? String == EndpointSink.url(), "PATCH keeps what it does not name")
            #expect((wrapped.properties["retryPolicy"] as? [String: Any])?["maxDeliveryAttempts"] as? Int == 5)
            #expect(wrapped.properties["eventDeliverySchema"] as? String == "CloudEventSchemaV1_0")

            #expect(try await api(.delete, "\(Self.base)/eg-sub1").status == .ok)
            #expect(try await api(.delete, "\(Self.base)/eg-sub1").status == .noContent)
            let gone = try await api(.get, "\(Self.base)/eg-sub1")
            #expect(gone.status == .notFound)
            #expect(gone.error?.code == "NotFound")
            #expect(try await api.json(.patch, "\(Self.base)/eg-sub1", ["labels": ["y"]]).status == .notFound)
        }
    }

    struct Violation: Sendable, CustomTestStringConvertible {
        let property: String
        let body: String
        var testDescription: String { "\(property) ← \(body.prefix(80))" }
    }

    static func body(_ properties: [String: Any]) -> String {
        var all = properties
        if all["destination"] == nil { all["destination"] = webhook() }
        return String(decoding: (try? JSONSerialization.data(withJSONObject: ["properties": all])) ?? Data(), as: UTF8.self)
    }

    static let destination = "properties.destination.properties"

    static let violations: [Violation] = [
        Violation(property: "properties.retryPolicy.maxDeliveryAttempts", body: body(["retryPolicy": ["maxDeliveryAttempts": 31]])),
        Violation(property: "properties.retryPolicy.eventTimeToLiveInMinutes", body: body(["retryPolicy": ["eventTimeToLiveInMinutes": 1441]])),
        Violation(property: "\(destination).maxEventsPerBatch", body: body(["destination": webhook(EndpointSink.url("/"), ["maxEventsPerBatch": 5001])])),
        Violation(
            property: "\(destination).preferredBatchSizeInKilobytes",
            body: body(["destination": webhook(EndpointSink.url("/"), ["preferredBatchSizeInKilobytes": 1025])])),
        Violation(
            property: "properties.filter.advancedFilters",
            body: body(["filter": ["advancedFilters": (0..<26).map { ["operatorType": "IsNotNull", "key": "data.k\($0)"] }]])),
        Violation(
            property: "properties.filter.advancedFilters[1].values",
            body: body([
                "filter": ["advancedFilters": [
                    ["operatorType": "StringIn", "key": "subject", "values": (0..<20).map { "v\($0)" }],
                    ["operatorType": "NumberIn", "key": "data.n", "values": Array(0..<6)],
                ]]
            ])),
        Violation(
            property: "properties.filter.advancedFilters[0].operatorType",
            body: body(["filter": ["advancedFilters": [["operatorType": "StringLooksLike", "key": "subject", "values": ["a"]]]]])),
        Violation(property: "properties.eventDeliverySchema", body: body(["eventDeliverySchema": "CustomInputSchema"])),
        Violation(
            property: "properties.destination.endpointType",
            body: body(["destination": ["endpointType": "EventHub", "properties": ["resourceId": "/x"]]])),
        Violation(property: "\(destination).endpointUrl", body: body(["destination": ["endpointType": "WebHook", "properties": [:] as [String: Any]]])),
        Violation(property: "\(destination).endpointUrl", body: body(["destination": webhook("ftp://files.example/drop")])),
        Violation(property: "\(destination).endpointUrl", body: body(["destination": webhook("not a url")])),
        Violation(
            property: "\(destination).deliveryAttributeMappings[0].name",
            body: body(["destination": webhook(EndpointSink.url("/"), [
                "deliveryAttributeMappings": [["name": "aeg-mine", "type": "Static", "properties": ["value": "v"]]],
            ])])),
        Violation(
            property: "\(destination).deliveryAttributeMappings[0].properties.value",
            body: body(["destination": webhook(EndpointSink.url("/"), [
                "deliveryAttributeMappings": [["name": "X-Key", "type": "Static", "properties": ["value": "a\r\nX-Injected: 1"]]],
            ])])),
        Violation(
            property: "properties.deadLetterDestination.properties.topic",
            body: body(["deadLetterDestination": ["endpointType": "KafkaTopic", "properties": ["topic": "registry-events.acr"]]])),
        Violation(
            property: "\(destination).deliveryAttributeMappings[0].name",
            body: body(["destination": webhook(EndpointSink.url("/"), [
                "deliveryAttributeMappings": [["name": "X\u{7F}Key", "type": "Static", "properties": ["value": "v"]]],
            ])])),
        Violation(
            property: "\(destination).deliveryAttributeMappings[0].properties.value",
            body: body(["destination": webhook(EndpointSink.url("/"), [
                "deliveryAttributeMappings": [["name": "X-Key", "type": "Static", "properties": ["value": "a\u{07}b"]]],
            ])])),
        Violation(property: "properties.expirationTimeUtc", body: body(["expirationTimeUtc": "2020-01-01T00:00:00Z"])),
        Violation(
            property: "\(destination).azureActiveDirectoryTenantId",
            body: body(["destination": webhook(EndpointSink.url("/"), ["azureActiveDirectoryTenantId": "t"])])),
        Violation(
            property: "\(destination).maxEventPerBatch", body: body(["destination": webhook(EndpointSink.url("/"), ["maxEventPerBatch": 10])])),
        Violation(
            property: "properties.deadLetterDestination.endpointType",
            body: body(["deadLetterDestination": ["endpointType": "StorageBlob", "properties": ["resourceId": "/x", "blobContainerName": "c"]]])),
        Violation(
            property: "properties.deadLetterDestination.properties.topic",
            body: body(["deadLetterDestination": ["endpointType": "KafkaTopic", "properties": ["topic": "no spaces allowed"]]])),
    ]

    @Test(arguments: violations)
    func everyLimitIsA400NamingTheProperty(_ violation: Violation) async throws {
        try await withTestServer { _, client in
            let answer = try await JSONCall(client: client)(.put, "\(Self.base)/limits", violation.body)
            #expect(answer.status == .badRequest)
            let error = try #require(answer.error, "\(answer.text)")
            #expect(error.code == "InvalidEventSubscription", "\(error.message)")
            // What the decoder refuses (an unknown operatorType) says so first.
            let named = error.message.hasPrefix("\(violation.property): ")
                || error.message.hasPrefix("invalid event subscription body: \(violation.property): ")
            #expect(named, "\(error.message)")
            if violation.property == "properties.deadLetterDestination.endpointType" {
                #expect(error.message.hasSuffix("must be WebHook or KafkaTopic, not StorageBlob"), "\(error.message)")
            }
            #expect(try await JSONCall(client: client)(.get, "\(Self.base)/limits").status == .notFound, "nothing was stored")
        }
    }

    @Test func badNamesAndMissingScopesAreRefused() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let body = Self.body([:])
            for (uri, status, code) in [
                ("\(Self.base)/ab", HTTPResponse.Status.badRequest, "InvalidEventSubscriptionName"),
                ("\(Self.base)/has_underscore", .badRequest, "InvalidEventSubscriptionName"),
                ("\(Self.base)/\(String(repeating: "a", count: 65))", .badRequest, "InvalidEventSubscriptionName"),
                ("/v1/registries/-bad-/eventSubscriptions/good-name", .badRequest, "InvalidRegistryName"),
                ("/v1/topics/ab/eventSubscriptions/good-name", .badRequest, "InvalidTopicName"),
                ("/v1/topics/nothere/eventSubscriptions/good-name", .notFound, "NotFound"),
            ] {
                let answer = try await api(.put, uri, body)
                #expect(answer.status == status, "\(uri): \(answer.text)")
                #expect(answer.error?.code == code, "\(uri): \(answer.text)")
            }
            #expect(try await api(.get, "\(Self.base)/nosuchsub").status == .notFound)
            #expect(try await api(.get, "/v1/topics/nothere/eventSubscriptions").status == .notFound)
            #expect(try await api(.get, "/v1/topics/nothere/eventSubscriptions/good-name").status == .notFound)
            #expect(try await api(.post, "\(Self.base)/nosuchsub/getFullUrl").status == .notFound)
            let notJSON = try await api(.put, "\(Self.base)/good-name", "{")
            #expect(notJSON.status == .badRequest)
        }
    }

    @Test func anEndpointQueryIsShownOnlyByGetFullUrl() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let url = EndpointSink.url() + "?code=s3cret-code&x=1"
            let created = try await api.json(.put, "\(Self.base)/hidden", ["properties": ["destination": Self.webhook(url)]])
            #expect(created.status == .created)
            for answer in [created, try await api(.get, "\(Self.base)/hidden"), try await api(.get, Self.base)] {
                #expect(!answer.text.contains("s3cret-code"), "\(answer.text)")
            }
            let endpoint = (created.properties["destination"] as? [String: Any])?["properties"] as? [String: Any]
            #expect(endpoint?["endpointUrl"] == nil)
            #expect(endpoint?["endpointBaseUrl"] as? String == EndpointSink.url())
            for method in [HTTPRequest.Method.post, .get] {
                let full = try await api(method, "\(Self.base)/hidden/getFullUrl")
                #expect(full.status == .ok)
                #expect(full.json["endpointUrl"] as? String == url)
            }
        }
    }

    @Test func aSecretAttributeIsWriteOnlyAndKeptWhenSentBackWithoutItsValue() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let mappings: [[String: Any]] = [
                ["name": "Authorization", "type": "Static", "properties": ["value": "Bearer top-secret", "isSecret": true]],
                ["name": "X-Team", "type": "Static", "properties": ["value": "team-a"]],
                ["name": "X-Repo", "type": "Dynamic", "properties": ["sourceField": "data.target.repository"]],
            ]
            let created = try await api.json(
                .put, "\(Self.base)/secrets", ["properties": ["destination": Self.webhook(EndpointSink.url("/"), ["deliveryAttributeMappings": mappings])]])
            #expect(created.status == .created, "\(created.text)")
            #expect(!created.text.contains("top-secret"))
            #expect(created.text.contains("team-a"), "only secrets are hidden")
            let shown = try await api(.get, "\(Self.base)/secrets")
            #expect(!shown.text.contains("top-secret"))
            let read = try #require(((shown.properties["destination"] as? [String: Any])?["properties"] as? [String: Any])?["deliveryAttributeMappings"] as? [[String: Any]])
            let secret = try #require(read.first { $0["name"] as? String == "Authorization" }?["properties"] as? [String: Any])
            #expect(secret["isSecret"] as? Bool == true)
            #expect(secret["value"] == nil)

            func revealed() async throws -> [String: String] {
                let answer = try await api(.post, "\(Self.base)/secrets/getDeliveryAttributes")
                #expect(answer.status == .ok)
                let value = answer.json["value"] as? [[String: Any]] ?? []
                return Dictionary(uniqueKeysWithValues: value.compactMap { mapping in
                    guard let name = mapping["name"] as? String else { return nil }
                    return (name, ((mapping["properties"] as? [String: Any])?["value"] as? String) ?? "")
                })
            }
            #expect(try await revealed() == ["Authorization": "Bearer top-secret", "X-Team": "team-a", "X-Repo": ""])

            // What a read shows, sent back with one change: the secret stays.
            var edited = read
            edited[1] = ["name": "X-Team", "type": "Static", "properties": ["value": "team-b"]]
            let patched = try await api.json(.patch, "\(Self.base)/secrets", ["destination": ["properties": ["deliveryAttributeMappings": edited]]])
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(!patched.text.contains("top-secret"))
            #expect(try await revealed() == ["Authorization": "Bearer top-secret", "X-Team": "team-b", "X-Repo": ""])

            // A new secret without a value has nothing to keep.
            let newSecret = try await api.json(
                .patch, "\(Self.base)/secrets",
                ["destination": ["properties": ["deliveryAttributeMappings": [["name": "X-Other", "type": "Static", "properties": ["isSecret": true]]]]]])
            #expect(newSecret.status == .badRequest)
            #expect(newSecret.error?.message.hasPrefix("\(Self.destination).deliveryAttributeMappings[0].properties.value") == true)
        }
    }

    @Test func theAdminTokenGuardsManagementButNotPublishing() async throws {
        try await withTestServer(adminToken: "adm1n") { dependencies, client in
            let anonymous = JSONCall(client: client)
            let admin = JSONCall(client: client, headers: [.authorization: "Bearer adm1n"])
            let subscription = ["properties": ["destination": Self.webhook()]]
            #expect(try await anonymous.json(.put, "\(Self.base)/guarded", subscription).status == .unauthorized)
            #expect(try await admin.json(.put, "\(Self.base)/guarded", subscription).status == .created)
            #expect(try await anonymous(.get, "\(Self.base)/guarded").status == .unauthorized)
            #expect(try await anonymous(.get, Self.base).status == .unauthorized)
            #expect(try await anonymous(.post, "\(Self.base)/guarded/getFullUrl").status == .unauthorized)
            #expect(try await anonymous(.post, "\(Self.base)/guarded/getDeliveryAttributes").status == .unauthorized)
            #expect(try await anonymous(.delete, "\(Self.base)/guarded").status == .unauthorized)
            #expect(try await admin(.get, "\(Self.base)/guarded").status == .ok)

            #expect(try await anonymous(.put, "/v1/topics/orders").status == .unauthorized)
            #expect(try await admin(.put, "/v1/topics/orders").status == .created)
            #expect(try await anonymous(.get, "/v1/topics").status == .unauthorized)
            #expect(try await anonymous(.get, "/v1/topics/orders").status == .unauthorized)
            #expect(try await anonymous(.post, "/v1/topics/orders/listKeys").status == .unauthorized)
            #expect(try await anonymous(.post, "/v1/topics/orders/regenerateKey", #"{"keyName":"key1"}"#).status == .unauthorized)
            #expect(try await anonymous.json(.put, "/v1/topics/orders/eventSubscriptions/sub1", subscription).status == .unauthorized)
            #expect(try await anonymous(.delete, "/v1/topics/orders").status == .unauthorized)

            // Publishing needs the topic's key, not the admin token.
            try await TopicRoutesTests.ensureKafkaTopic(dependencies, "orders")
            let keys = try await admin(.post, "/v1/topics/orders/listKeys").json
            let key1 = try #require(keys["key1"] as? String)
            let events = TopicRoutesTests.events()
            #expect(try await anonymous(.post, "/v1/topics/orders/api/events", events).status == .unauthorized)
            let published = try await anonymous(.post, "/v1/topics/orders/api/events", events, headers: [.aegSasKey: key1])
            #expect(published.status == .ok, "\(published.text)")
            let withAdminOnly = try await admin(.post, "/v1/topics/orders/api/events", events)
            #expect(withAdminOnly.status == .unauthorized, "the admin token is not a topic key")
        }
    }
}

@Suite("Custom topics through the router", .machineHeavy)
struct TopicRoutesTests {
    static func events(_ count: Int = 1, eventType: String? = "Orders.Placed") -> String {
        let events: [[String: Any]] = (0..<count).map { index in
            var event: [String: Any] = [
                "id": "e\(index)", "subject": "orders/\(index)", "eventTime": "2026-11-25T10:00:00Z", "data": ["n": index],
                "dataVersion": "1",
            ]
            event["eventType"] = eventType
            return event
        }
        return String(decoding: (try? JSONSerialization.data(withJSONObject: events)) ?? Data(), as: UTF8.self)
    }

    /// Without deliveries the router creates no Kafka topics; the embedded cluster does.
    static func ensureKafkaTopic(_ dependencies: ServerDependencies, _ topic: String) async throws {
        let cluster = try #require(dependencies.connection.embeddedCluster)
        _ = try cluster.createTopic(
            KafkaTopicSpec(name: dependencies.configuration.layout.customTopic(topic), partitions: dependencies.configuration.partitions))
    }

    @Test func createKeepsKeysListRegenerateAndDelete() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let created = try await api(.put, "/v1/topics/orders")
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["id"] as? String == "/v1/topics/orders")
            #expect(created.json["type"] as? String == "Microsoft.EventGrid/topics")
            #expect(created.properties["inputSchema"] as? String == "EventGridSchema")
            #expect(created.properties["kafkaTopic"] as? String == "registry-events.topic.orders")
            #expect((created.properties["endpoint"] as? String)?.hasSuffix("/v1/topics/orders/api/events") == true)
            #expect(!created.text.contains("key1"), "keys only through listKeys")
            let keys = try await api(.post, "/v1/topics/orders/listKeys")
            #expect(keys.status == .ok)
            let key1 = try #require(keys.json["key1"] as? String)
            let key2 = try #require(keys.json["key2"] as? String)
            #expect(key1 != key2)

            let again = try await api(.put, "/v1/topics/orders", #"{"location":"westeurope","properties":{"inputSchema":"CloudEventSchemaV1_0"}}"#)
            #expect(again.status == .ok)
            #expect(again.properties["inputSchema"] as? String == "CloudEventSchemaV1_0")
            let kept = try await api(.post, "/v1/topics/orders/listKeys").json
            #expect(kept["key1"] as? String == key1, "a second PUT keeps the keys")
            #expect(kept["key2"] as? String == key2)
            #expect(try await api(.get, "/v1/topics/orders").status == .ok)
            _ = try await api(.put, "/v1/topics/billing")
            #expect((try await api(.get, "/v1/topics").json["value"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["billing", "orders"])

            let first = try await api(.post, "/v1/topics/orders/regenerateKey", #"{"keyName":"key1"}"#)
            #expect(first.status == .ok)
            let newKey1 = try #require(first.json["key1"] as? String)
            #expect(newKey1 != key1)
            #expect(first.json["key2"] as? String == key2)
            let second = try await api(.post, "/v1/topics/orders/regenerateKey", #"{"keyName":"KEY2"}"#)
            #expect(second.json["key1"] as? String == newKey1)
            #expect(second.json["key2"] as? String != key2)
            let bad = try await api(.post, "/v1/topics/orders/regenerateKey", #"{"keyName":"key3"}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.error?.code == "InvalidKeyName")
            #expect(try await api(.post, "/v1/topics/orders/regenerateKey", "{}").status == .badRequest)

            let schema = try await api(.put, "/v1/topics/orders", #"{"properties":{"inputSchema":"CustomInputSchema"}}"#)
            #expect(schema.status == .badRequest)
            #expect(schema.error?.code == "InvalidTopic")
            #expect(try await api(.put, "/v1/topics/a_b").error?.code == "InvalidTopicName")
            #expect(try await api(.post, "/v1/topics/nothere/listKeys").status == .notFound)
            #expect(try await api(.get, "/v1/topics/nothere").status == .notFound)
        }
    }

    @Test func deletingATopicDeletesItsSubscriptions() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            _ = try await api(.put, "/v1/topics/orders")
            let subscription = ["properties": ["destination": SubscriptionRoutesTests.webhook()]]
            let created = try await api.json(.put, "/v1/topics/orders/eventSubscriptions/sub1", subscription)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["id"] as? String == "/v1/topics/orders/eventSubscriptions/sub1")
            #expect(created.properties["topic"] as? String == "/topics/orders")
            _ = try await api.json(.put, "/v1/registries/orders/eventSubscriptions/sub1", subscription)
            #expect(try await api(.delete, "/v1/topics/orders").status == .ok)
            #expect(try await api(.delete, "/v1/topics/orders").status == .noContent)
            #expect(try await api(.get, "/v1/topics/orders").status == .notFound)
            #expect(try await api(.get, "/v1/topics/orders/eventSubscriptions/sub1").status == .notFound)
            _ = try await api(.put, "/v1/topics/orders")
            let list = try await api(.get, "/v1/topics/orders/eventSubscriptions")
            #expect((list.json["value"] as? [Any])?.isEmpty == true, "the new topic does not inherit the old one's subscriptions")
            #expect(try await api(.get, "/v1/registries/orders/eventSubscriptions/sub1").status == .ok, "a registry's subscription stays")
        }
    }

    @Test func publishingTakesEitherKeyOrASASToken() async throws {
        try await withTestServer { dependencies, client in
            let api = JSONCall(client: client)
            let topic = try await api(.put, "/v1/topics/orders")
            let endpoint = try #require(topic.properties["endpoint"] as? String)
            let keys = try await api(.post, "/v1/topics/orders/listKeys").json
            let key1 = try #require(keys["key1"] as? String)
            let key2 = try #require(keys["key2"] as? String)
            let uri = "/v1/topics/orders/api/events"
            try await Self.ensureKafkaTopic(dependencies, "orders")

            let none = try await api(.post, uri, Self.events())
            #expect(none.status == .unauthorized)
            #expect(none.error?.code == "Unauthorized")
            #expect(try await api(.post, uri, Self.events(), headers: [.aegSasKey: key1]).status == .ok)
            #expect(try await api(.post, "/v1/topics/orders/events", Self.events(), headers: [.aegSasKey: key2]).status == .ok)
            let wrong = try await api(.post, uri, Self.events(), headers: [.aegSasKey: CustomTopic.newKey()])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.error?.message.contains(key1) == false, "keys are never echoed")

            #expect(try await api(.post, uri, Self.events(), headers: [.aegSasToken: try SAS.token(endpoint: endpoint, key: key1)]).status == .ok)
            #expect(try await api(.post, uri, Self.events(), headers: [.aegSasToken: try SAS.token(endpoint: endpoint, key: key2)]).status == .ok)
            let expired = try SAS.token(endpoint: endpoint, key: key1, expiry: "2020-01-01 00:00:00+00:00")
            let expiredAnswer = try await api(.post, uri, Self.events(), headers: [.aegSasToken: expired])
            #expect(expiredAnswer.status == .unauthorized)
            #expect(expiredAnswer.error?.message.contains("expired") == true)
            var tampered = try SAS.token(endpoint: endpoint, key: key1)
            let last = tampered.index(tampered.endIndex, offsetBy: -5)
            tampered.replaceSubrange(last...last, with: tampered[last] == "A" ? "B" : "A")
            #expect(try await api(.post, uri, Self.events(), headers: [.aegSasToken: tampered]).status == .unauthorized)
            let otherKey = try SAS.token(endpoint: endpoint, key: CustomTopic.newKey())
            #expect(try await api(.post, uri, Self.events(), headers: [.aegSasToken: otherKey]).status == .unauthorized)
            #expect(try await api(.post, uri, Self.events(), headers: [.aegSasToken: "garbage"]).status == .unauthorized)

            // What was accepted is on the topic's Kafka topic, stamped with the topic.
            let records = try await readTopic(dependencies, dependencies.configuration.layout.customTopic("orders"), expecting: 4)
            #expect(records.count == 4)
            let event = try #require(try records.first?.json())
            #expect(event["topic"] as? String == "/topics/orders")
            #expect(records.first?.headerValue("eventgrid-topic") == "orders")
        }
    }

    @Test func badPublishesAre400Or413() async throws {
        try await withTestServer { dependencies, client in
            let api = JSONCall(client: client)
            _ = try await api(.put, "/v1/topics/orders")
            try await Self.ensureKafkaTopic(dependencies, "orders")
            let key = try #require(try await api(.post, "/v1/topics/orders/listKeys").json["key1"] as? String)
            let auth: HTTPFields = [.aegSasKey: key]
            let uri = "/v1/topics/orders/api/events"

            let missing = try await api(.post, uri, Self.events(eventType: nil), headers: auth)
            #expect(missing.status == .badRequest)
            #expect(missing.error?.message.contains("'eventType'") == true, "\(missing.text)")
            #expect(try await api(.post, uri, "[]", headers: auth).status == .badRequest)
            #expect(try await api(.post, uri, "{", headers: auth).status == .badRequest)
            var cloudEvent = auth
            cloudEvent[.contentType] = "application/cloudevents+json; charset=utf-8"
            #expect(try await api(.post, uri, Self.events(), headers: cloudEvent).status == .badRequest, "an array is not one CloudEvent")

            let huge = "[" + String(repeating: " ", count: EventGridPublishing.maxRequestBytes) + "]"
            let tooLarge = try await api(.post, uri, huge, headers: auth)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.error?.code == "RequestEntityTooLarge")

            let nowhere = try await api(.post, "/v1/topics/nothere/api/events", Self.events(), headers: auth)
            #expect(nowhere.status == .unauthorized, "an unknown topic answers as a wrong key does")
            #expect(nowhere.error?.code == "Unauthorized")
            #expect(try await api(.post, uri, Self.events(3), headers: auth).status == .ok, "and a good one still works")
        }
    }
}

@Suite("Publisher authentication", .machineHeavy)
struct PublishAuthenticationTests {
    static let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    static let vector =
        "r=http%3A%2F%2F127.0.0.1%3A8080%2Fapi%2Fevents%3FapiVersion%3D2018-01-01&e=2030-01-01%2000%3A00%3A00%2B00%3A00&s=JE6w2BZogpjLDnCksX39cGLG5sz6F27QgQZp424qWr0%3D"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027
    static let expiry = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z

    static func topic(key1: String = CustomTopic.newKey(), key2: String = CustomTopic.newKey()) -> CustomTopic {
        CustomTopic(name: "orders", key1: key1, key2: key2)
    }

    @Test func theKnownVectorIsWhatTheTestsBuild() throws {
        #expect(try SAS.token(endpoint: "http://127.0.0.1:8080/api/events", key: Self.key) == Self.vector)
    }

    static let endpoints = ["http://127.0.0.1:8080/api/events"]

    @Test func theKnownVectorIsAcceptedWithEitherKeySlot() throws {
        try PublishAuthentication.check(key: nil, token: Self.vector, topic: Self.topic(key1: Self.key), endpoints: Self.endpoints, now: Self.now)
        try PublishAuthentication.check(key: nil, token: Self.vector, topic: Self.topic(key2: Self.key), endpoints: Self.endpoints, now: Self.now)
    }

    /// Event Grid's rule: `r`, decoded, is a prefix of the endpoint
    /// (scheme, query and case aside); a token for another endpoint fails
    /// even when signed with this topic's key.
    @Test func theResourceMustBeAPrefixOfTheEndpoint() throws {
        let endpoint = "https://orders.example.com/v1/topics/orders/api/events"
        for resource in [
            "https://orders.example.com/v1/topics/orders/api/events?apiVersion=2018-01-01", "HTTP://ORDERS.example.com/v1/topics/orders/",
            "orders.example.com",
        ] {
            #expect(PublishAuthentication.resourceMatches(resource, endpoints: [endpoint]), "\(resource)")
        }
        for resource in ["https://orders.example.com/v1/topics/billing/api/events", "https://other.example.com/", "", "?x"] {
            #expect(!PublishAuthentication.resourceMatches(resource, endpoints: [endpoint]), "\(resource)")
        }
        #expect(throws: PublishAuthentication.Failure.wrongResource) {
            try PublishAuthentication.check(
                key: nil, token: Self.vector, topic: Self.topic(key1: Self.key), endpoints: ["http://127.0.0.1:8080/v1/topics/orders/api/events"],
                now: Self.now)
        }
    }

    @Test func failuresSayWhy() {
        func failure(key: String? = nil, token: String? = nil, topic: CustomTopic? = nil, now: Date = Self.now)
            -> PublishAuthentication.Failure?
        {
            do {
                try PublishAuthentication.check(
                    key: key, token: token, topic: topic ?? Self.topic(key1: Self.key), endpoints: Self.endpoints, now: now)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure() == .missing)
        #expect(failure(key: "nope") == .wrongKey)
        #expect(failure(key: Self.key) == nil)
        #expect(failure(token: Self.vector, now: Self.expiry.addingTimeInterval(1)) == .expired)
        #expect(failure(token: Self.vector, now: Self.expiry.addingTimeInterval(-1)) == nil)
        #expect(failure(token: Self.vector, topic: Self.topic()) == .badSignature)
        #expect(failure(token: Self.vector.replacingOccurrences(of: "JE6w", with: "JE6x")) == .badSignature)
        #expect(failure(token: Self.vector.replacingOccurrences(of: "2030", with: "2031")) == .badSignature, "the expiry is signed")
        #expect(failure(token: "r=x&e=2030-01-01") == .malformedToken)
        #expect(failure(token: "e=2030-01-01%2000%3A00%3A00&s=abc") == .malformedToken, "no resource")
        #expect(failure(token: "r=x&e=tomorrow&s=abc") == .malformedToken)
    }

    @Test(arguments: [
        ("2030-01-01 00:00:00+00:00", 0.0), ("2030-01-01 02:00:00+02:00", 0), ("2030-01-01 00:00:00", 0),
        ("2030-01-01 12:30:05.250000", 45_005.25), ("2030-01-01 12:30:05.250000+00:00", 45_005.25),
        ("1/1/2030 12:00:00 AM", 0), ("1/1/2030 1:30:00 PM", 48_600),
        ("2030-01-01T00:00:00Z", 0), ("2030-01-01T01:00:00+01:00", 0), ("2030-01-01T00:00:00.500Z", 0.5),
    ])
    func expiriesParseInEverySDKsForm(_ text: String, _ offset: Double) throws {
        let date = try #require(PublishAuthentication.parseExpiry(text), "\(text)")
        #expect(abs(date.timeIntervalSince(Self.expiry) - offset) < 0.001, "\(text) → \(date)")
    }

    @Test(arguments: ["", "tomorrow", "2030-13-01 00:00:00", "01/01/2030"])
    func otherExpiriesDoNotParse(_ text: String) {
        #expect(PublishAuthentication.parseExpiry(text) == nil)
    }
}
