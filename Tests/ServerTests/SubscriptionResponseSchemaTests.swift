import AsyncHTTPClient
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RegistryEvents
import Server
import TestSupport
import Testing

/// The subscription and custom topic APIs' real answers, and the validation
/// handshake as `SubscriptionValidator` sends it, checked against `schemas/`
/// by Python's jsonschema.
@Suite("Subscription and topic answers validate against schemas/", .machineHeavy)
struct SubscriptionResponseSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var fullSubscription: [String: Any] {
        ["properties": [
            "destination": SubscriptionRoutesTests.webhook(
                EndpointSink.url() + "?code=s3cret",
                [
                    "maxEventsPerBatch": 10, "preferredBatchSizeInKilobytes": 256,
                    "deliveryAttributeMappings": [
                        ["name": "Authorization", "type": "Static", "properties": ["value": "Bearer top-secret", "isSecret": true]],
                        ["name": "X-Team", "type": "Static", "properties": ["value": "team-a", "isSecret": false]],
                        ["name": "X-Repo", "type": "Dynamic", "properties": ["sourceField": "data.target.repository"]],
                    ],
                ]),
            "filter": [
                "includedEventTypes": ["Microsoft.ContainerRegistry.ImagePushed"], "subjectBeginsWith": "hello", "subjectEndsWith": ":v1",
                "isSubjectCaseSensitive": false, "enableAdvancedFilteringOnArrays": true,
                "advancedFilters": [
                    ["operatorType": "StringIn", "key": "data.target.repository", "values": ["hello", "world"]],
                    ["operatorType": "NumberInRange", "key": "data.target.size", "values": [[1, 1000.5]]],
                    ["operatorType": "NumberGreaterThan", "key": "data.target.size", "value": 0],
                    ["operatorType": "BoolEquals", "key": "data.signed", "value": true],
                    ["operatorType": "IsNotNull", "key": "data.target.digest"],
                ],
            ],
            "eventDeliverySchema": "CloudEventSchemaV1_0",
            "retryPolicy": ["maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60],
            "deadLetterDestination": ["endpointType": "KafkaTopic", "properties": ["topic": "team.deadletters"]],
            "labels": ["team-a"],
        ]]
    }

    @Test func subscriptionTopicKeyAndErrorAnswersMatchTheirSchemas() async throws {
        let samples = Locked<[(String, String)]>([])
        try await withTestServer { dependencies, client in
            func keep(_ schema: String, _ label: String, _ answer: JSONCall.Answer) {
                samples.withLock { $0.append(("\(schema)--\(label)", answer.text)) }
            }
            /// Each element of a list answer's `value`.
            func keepEach(_ schema: String, _ label: String, _ answer: JSONCall.Answer) throws {
                let value = try #require(answer.json["value"] as? [Any], "\(answer.text)")
                #expect(!value.isEmpty)
                for (index, element) in value.enumerated() {
                    let text = String(decoding: try JSONSerialization.data(withJSONObject: element), as: UTF8.self)
                    samples.withLock { $0.append(("\(schema)--\(label)-\(index)", text)) }
                }
            }
            let api = JSONCall(client: client)
            let base = "/v1/registries/myreg/eventSubscriptions"
            keep("event-subscription", "created", try await api.json(.put, "\(base)/full-sub", Self.fullSubscription))
            keep("event-subscription", "replaced", try await api.json(.put, "\(base)/full-sub", Self.fullSubscription))
            keep("event-subscription", "shown", try await api(.get, "\(base)/full-sub"))
            keep(
                "event-subscription", "patched",
                try await api.json(
                    .patch, "\(base)/full-sub",
                    ["deadLetterDestination": ["endpointType": "WebHook", "properties": ["endpointUrl": EndpointSink.url("/dl") + "?sig=abc"]]]))
            keep(
                "event-subscription", "minimal",
                try await api.json(.put, "\(base)/minimal", ["properties": ["destination": SubscriptionRoutesTests.webhook()]]))
            try keepEach("event-subscription", "listed", try await api(.get, base))

            keep("custom-topic", "created", try await api(.put, "/v1/topics/orders"))
            keep(
                "custom-topic", "cloudevents",
                try await api(.put, "/v1/topics/orders", #"{"location":"local","properties":{"inputSchema":"CloudEventSchemaV1_0"}}"#))
            keep("custom-topic", "shown", try await api(.get, "/v1/topics/orders"))
            _ = try await api(.put, "/v1/topics/billing")
            try keepEach("custom-topic", "listed", try await api(.get, "/v1/topics"))
            keep(
                "event-subscription", "on-topic",
                try await api.json(.put, "/v1/topics/orders/eventSubscriptions/sub1", ["properties": ["destination": SubscriptionRoutesTests.webhook()]]))
            try keepEach("event-subscription", "topic-listed", try await api(.get, "/v1/topics/orders/eventSubscriptions"))

            let keys = try await api(.post, "/v1/topics/orders/listKeys")
            keep("topic-keys", "listed", keys)
            keep("topic-keys", "regenerated", try await api(.post, "/v1/topics/orders/regenerateKey", #"{"keyName":"key2"}"#))

            keep("error", "limit", try await api.json(.put, "\(base)/bad", ["properties": ["retryPolicy": ["maxDeliveryAttempts": 31]]]))
            keep(
                "error", "operator",
                try await api(.put, "\(base)/bad", #"{"properties":{"filter":{"advancedFilters":[{"operatorType":"Nope","key":"k"}]}}}"#))
            keep("error", "no-subscription", try await api(.get, "\(base)/nothere"))
            keep("error", "bad-name", try await api(.get, "\(base)/x"))
            keep("error", "no-topic", try await api(.get, "/v1/topics/nothere/eventSubscriptions"))
            keep("error", "key-name", try await api(.post, "/v1/topics/orders/regenerateKey", #"{"keyName":"key9"}"#))
            keep("error", "publish-unauthorized", try await api(.post, "/v1/topics/orders/api/events", "[]"))
            let key = try #require(keys.json["key1"] as? String)
            try await TopicRoutesTests.ensureKafkaTopic(dependencies, "orders")
            keep("error", "publish-invalid", try await api(.post, "/v1/topics/orders/api/events", "[]", headers: [.aegSasKey: key]))
            keep(
                "error", "publish-too-large",
                try await api(
                    .post, "/v1/topics/orders/api/events", "[" + String(repeating: " ", count: EventGridPublishing.maxRequestBytes) + "]",
                    headers: [.aegSasKey: key]))
        }
        let all = samples.withLock { $0 }
        #expect(!all.contains { $0.1.contains("top-secret") || $0.1.contains("s3cret") || $0.1.contains("sig=abc") }, "no secret in any read")
        let result = try await Self.validate(all)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(all.count) passed, 0 failed"), "\(result.output)")
    }

    /// The handshake as `SubscriptionValidator` POSTs it, captured by a real
    /// HTTP endpoint: one answering with the code, one leaving the URL to visit.
    @Test func theValidationHandshakeMatchesItsSchema() async throws {
        let received = Locked<[(path: String, eventType: String?, body: String)]>([])
        let router = Router()
        for path in ["sync", "manual"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
                received.withLock { $0.append((path, request.headers[HTTPField.Name("aeg-event-type")!], body)) }
                guard path == "sync",
                    let code = JSONValue(parsing: Array(body.utf8))?.arrayValue?.first?.value(at: ["data", "validationCode"])?.stringValue
                else { return Response(status: .ok) }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"validationResponse":"\#(code)"}"#)))
            }
        }
        let receiver = Application(router: router, logger: serverTestLogger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await receiver.test(.live) { client in
                let port = try #require(client.port)
                let validator = SubscriptionValidator(
                    sender: WebhookSender(http: .allowingPrivateTargets(httpClient), timeout: .seconds(30)),
                    topic: { $0.kind == .registry ? "/registries/\($0.name)" : CustomTopic.eventSource($0.name) },
                    publicBaseURL: { "http://127.0.0.1:8080/" })
                let sync = EventSubscription(scope: .registry("myreg"), name: "eg-sync", endpointURL: "http://localhost:\(port)/sync")
                #expect(await validator.validate(sync) == .validated)
                let manual = EventSubscription(scope: .topic("orders"), name: "eg-manual", endpointURL: "http://localhost:\(port)/manual")
                let verdict = await validator.validate(manual)
                guard case .awaitingManualAction(let code, _) = verdict else {
                    Issue.record("an answer without the code leaves the validation URL to visit; got \(verdict)")
                    return
                }
                let body = try #require(received.withLock { $0.last }?.body)
                #expect(body.contains(code))
            }
        } catch {
            try await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        let handshakes = received.withLock { $0 }
        #expect(handshakes.map(\.path) == ["sync", "manual"])
        #expect(handshakes.allSatisfy { $0.eventType == "SubscriptionValidation" })
        let result = try await Self.validate(handshakes.map { ("subscription-validation-event--\($0.path)", $0.body) })
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("2 passed, 0 failed"), "\(result.output)")
    }

    static func validate(_ samples: [(String, String)]) async throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-eg-answers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in samples {
            try Data(text.utf8).write(to: directory.appendingPathComponent("\(name).json"))
        }
        let result = try await runPythonScript("validate-json.py", [root.appendingPathComponent("schemas").path, directory.path])
        return (result.status, result.output)
    }
}
