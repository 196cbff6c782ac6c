import Foundation
import TestSupport
import Testing

/// Event subscriptions through the real server to real HTTP receivers.
@Suite("Event subscriptions, end to end", .machineHeavy, .serialized)
struct SubscriptionDeliveryEndToEndTests {
    static let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"
    static let pushed = "Microsoft.ContainerRegistry.ImagePushed"

    func publish(_ server: String, _ extra: [String], registry: String = "myregistry") async throws {
        let result = try await RegeventsProcess.run(
            ["publish", "--server", server, "--registry", registry, "--repository", "hello", "--digest", Self.digest] + extra)
        #expect(result.status == 0, "publish: \(result.errors)")
    }

    static func startServer(_ extra: [String] = []) async throws -> RunningServer {
        try await RunningServer.start(extraArguments: ["--allow-private-targets", "--subscription-retry-schedule", "200ms"] + extra)
    }

    @Test func bothSchemasBatchesDeliveryAttributesAndFilterFamilies() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer(["--subscription-batch-linger", "1s"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        let scope = "registries/myregistry"
        try await API.subscribe(base, scope, "eg-all", [
            "destination": API.webhook(receiver.url("/eg"), [
                "deliveryAttributeMappings": [
                    ["name": "X-Api-Key", "type": "Static", "properties": ["value": "s3cret", "isSecret": true]],
                    ["name": "X-Repository", "type": "Dynamic", "properties": ["sourceField": "data.target.repository"]],
                ],
            ]),
        ])
        try await API.subscribe(base, scope, "ce-single", [
            "destination": API.webhook(receiver.url("/ce")), "eventDeliverySchema": "CloudEventSchemaV1_0",
        ])
        try await API.subscribe(base, scope, "ce-batch", [
            "destination": API.webhook(receiver.url("/cebatch"), ["maxEventsPerBatch": 2]),
            "eventDeliverySchema": "CloudEventSchemaV1_0",
        ])
        try await API.subscribe(base, scope, "eg-sized", [
            "destination": API.webhook(receiver.url("/sized"), ["maxEventsPerBatch": 10, "preferredBatchSizeInKilobytes": 2])
        ])
        try await API.subscribe(base, scope, "deletes-only", [
            "destination": API.webhook(receiver.url("/deletes")),
            "filter": ["includedEventTypes": ["Microsoft.ContainerRegistry.ImageDeleted"]],
        ])
        try await API.subscribe(base, scope, "begins", [
            "destination": API.webhook(receiver.url("/begins")), "filter": ["subjectBeginsWith": "HELLO:"],
        ])
        try await API.subscribe(base, scope, "ends-case", [
            "destination": API.webhook(receiver.url("/endscase")),
            "filter": ["subjectEndsWith": ":V1", "isSubjectCaseSensitive": true],
        ])
        try await API.subscribe(base, scope, "ends", [
            "destination": API.webhook(receiver.url("/ends")), "filter": ["subjectEndsWith": ":v1"],
        ])
        try await API.subscribe(base, scope, "advanced", [
            "destination": API.webhook(receiver.url("/advanced")),
            "filter": ["advancedFilters": [
                ["operatorType": "StringIn", "key": "data.target.repository", "values": ["HELLO"]],
                ["operatorType": "StringBeginsWith", "key": "data.location", "values": ["east"]],
            ]],
        ])
        try await API.subscribe(base, "registries/otherregistry", "elsewhere", ["destination": API.webhook(receiver.url("/other"))])

        for index in 1...5 {
            try await publish(base, ["--action", "push", "--tag", "v\(index)", "--id", "push-\(index)", "--location", "eastus"])
        }
        try await publish(base, ["--action", "delete", "--id", "delete-1"])

        // Event Grid schema: a JSON array per delivery, one event each by default.
        let eventGrid = try await receiver.waitForEvents("/eg", count: 6)
        #expect(eventGrid.count == 6)
        let first = try #require(eventGrid.first)
        #expect(first.headers["content-type"] == "application/json")
        #expect(first.headers["aeg-event-type"] == "Notification")
        #expect(first.headers["aeg-subscription-name"] == "EG-ALL")
        #expect(first.headers["aeg-delivery-count"] == "0")
        #expect(first.headers["x-api-key"] == "s3cret")
        #expect(first.headers["x-repository"] == "hello")
        #expect(first.json is [Any])
        let event = try #require(first.events.first)
        #expect(event["eventType"] as? String == Self.pushed)
        #expect(event["topic"] as? String == "/registries/myregistry")
        #expect(Set(event.keys) == ["id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"])
        #expect(Set(eventGrid.flatMap(\.events).compactMap { $0["subject"] as? String }) == ["hello:v1", "hello:v2", "hello:v3", "hello:v4", "hello:v5", "hello"])

        // CloudEvents: one object per delivery, or a batch array.
        let cloudEvents = try await receiver.waitForEvents("/ce", count: 6)
        let single = cloudEvents.filter { $0.path == "/ce" }
        #expect(single.count == 6)
        #expect(single.allSatisfy { $0.headers["content-type"] == "application/cloudevents+json; charset=utf-8" && $0.json is [String: Any] })
        #expect(single.first?.events.first?["specversion"] as? String == "1.0")
        let batches = try await receiver.waitForEvents("/cebatch", count: 6)
        // How the six split depends on timing (a batch leaves when full or
        // when its linger ends): the contract is at most two each, all six once.
        #expect(batches.allSatisfy { (1...2).contains($0.events.count) }, "batches of at most two: \(batches.map(\.events.count))")
        #expect(batches.map(\.events.count).reduce(0, +) == 6, "every event once: \(batches.map(\.events.count))")
        for batch in batches {
            let type = batch.headers["content-type"]
            #expect(batch.events.count == 1 ? type == "application/cloudevents+json; charset=utf-8" : type == "application/cloudevents-batch+json; charset=utf-8")
        }
        let decoded = try await decodeWithCloudEventsSDK(single + batches)
        #expect(decoded.count == 12)

        // Batches stay within the preferred size. (Whether two events meet
        // within one linger is timing: under the full suite all six have left
        // alone; the batcher's own tests show that more than one fits.)
        let sized = try await receiver.waitForEvents("/sized", count: 6)
        #expect(sized.allSatisfy { $0.body.utf8.count <= 2048 || $0.events.count == 1 })
        #expect(sized.reduce(0) { $0 + $1.events.count } == 6)

        // Filter families.
        let deletes = try await receiver.waitForEvents("/deletes", count: 1)
        #expect(deletes.flatMap(\.events).map { $0["eventType"] as? String } == ["Microsoft.ContainerRegistry.ImageDeleted"])
        #expect(try await receiver.waitForEvents("/begins", count: 5).flatMap(\.events).count == 5, "subject filters ignore case")
        #expect(try await receiver.waitForEvents("/ends", count: 1).flatMap(\.events).compactMap { $0["subject"] as? String } == ["hello:v1"])
        #expect(try await receiver.waitForEvents("/advanced", count: 5).flatMap(\.events).count == 5)
        try await Task.sleep(for: .seconds(1))
        #expect(receiver.deliveries("/endscase").isEmpty, "case-sensitive :V1 matches nothing")
        #expect(receiver.deliveries("/other").isEmpty, "another registry's subscription sees nothing")
        #expect(receiver.deliveries("/advanced").flatMap(\.events).allSatisfy { $0["eventType"] as? String == Self.pushed })

        // Reads hide the secret and the API reveals it on request.
        let shown = try await API.send(.GET, "\(base)/v1/\(scope)/eventSubscriptions/eg-all")
        #expect(!shown.text.contains("s3cret"))
        let attributes = try await API.send(.POST, "\(base)/v1/\(scope)/eventSubscriptions/eg-all/getDeliveryAttributes")
        #expect(attributes.text.contains("s3cret"))
    }

    @Test func validationHandshakeBothWays() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer()
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        let scope = "registries/myregistry"

        // Synchronous: the endpoint echoes the code; Succeeded at once.
        let sync = try await API.subscribe(base, scope, "sync", ["destination": API.webhook(receiver.url("/sync"))])
        #expect((sync["properties"] as? [String: Any])?["provisioningState"] as? String == "Succeeded")
        let handshake = try #require(receiver.handshakes("/sync").first)
        #expect(handshake.headers["aeg-event-type"] == "SubscriptionValidation")
        let validation = try #require(handshake.events.first)
        #expect(validation["eventType"] as? String == "Microsoft.EventGrid.SubscriptionValidationEvent")
        let data = try #require(validation["data"] as? [String: Any])
        #expect((data["validationCode"] as? String)?.isEmpty == false)

        // Manual: 200 without the code; AwaitingManualAction and no deliveries until the URL is visited.
        let manual = try await API.subscribe(base, scope, "manual", ["destination": API.webhook(receiver.url("/manual"))])
        #expect((manual["properties"] as? [String: Any])?["provisioningState"] as? String == "AwaitingManualAction")
        try await publish(base, ["--action", "push", "--tag", "before", "--id", "before-validation"])
        _ = try await receiver.waitForEvents("/sync", count: 1)
        #expect(receiver.deliveries("/manual").isEmpty, "no deliveries before validation")
        let manualData = try #require(receiver.handshakes("/manual").first?.events.first?["data"] as? [String: Any])
        let validationURL = try #require(manualData["validationUrl"] as? String)
        #expect(validationURL.hasPrefix(base))
        let wrongCode = try await httpGet(validationURL.replacingOccurrences(of: "code=", with: "code=x"))
        #expect(wrongCode.status == 404)
        let visited = try await httpGet(validationURL)
        #expect(visited.status == 200, "\(String(decoding: visited.body, as: UTF8.self))")
        let shown = try await API.send(.GET, "\(base)/v1/\(scope)/eventSubscriptions/manual")
        #expect((shown.body["properties"] as? [String: Any])?["provisioningState"] as? String == "Succeeded")
        try await publish(base, ["--action", "push", "--tag", "after", "--id", "after-validation"])
        let delivered = try await receiver.waitForEvents("/manual", count: 1)
        #expect(delivered.flatMap(\.events).compactMap { $0["subject"] as? String } == ["hello:after"])

        // Refused: 400 with the reason; the resource says Failed.
        let refused = try await API.send(
            .PUT, "\(base)/v1/\(scope)/eventSubscriptions/refused", json: ["properties": ["destination": API.webhook(receiver.url("/refuse"))]])
        #expect(refused.status == 400)
        #expect(((refused.body["error"] as? [String: Any])?["code"] as? String) == "WebhookValidationFailed")
        #expect(refused.text.contains("response code 403"))
        let failed = try await API.send(.GET, "\(base)/v1/\(scope)/eventSubscriptions/refused")
        #expect((failed.body["properties"] as? [String: Any])?["provisioningState"] as? String == "Failed")

        // CloudEvents: the OPTIONS request; consent with WebHook-Allowed-Origin, refusal without.
        let consent = try await API.subscribe(base, scope, "ce-consent", [
            "destination": API.webhook(receiver.url("/cloud")), "eventDeliverySchema": "CloudEventSchemaV1_0",
        ])
        #expect((consent["properties"] as? [String: Any])?["provisioningState"] as? String == "Succeeded")
        let options = try #require(receiver.handshakes("/cloud").first)
        #expect(options.method == "OPTIONS")
        #expect(options.headers["webhook-request-origin"] == "eventgrid.azure.net")
        let noConsent = try await API.send(
            .PUT, "\(base)/v1/\(scope)/eventSubscriptions/ce-refused",
            json: ["properties": ["destination": API.webhook(receiver.url("/noorigin")), "eventDeliverySchema": "CloudEventSchemaV1_0"]])
        #expect(noConsent.status == 400)
        #expect(noConsent.text.contains("WebHook-Allowed-Origin"))
    }

    @Test func retriesDeadLettersTimeToLiveAndASlowSubscriberHoldsNobodyBack() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer(["--subscription-minute", "4s", "--subscription-jitter", "0"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        let scope = "registries/myregistry"
        try await API.subscribe(base, scope, "healthy", ["destination": API.webhook(receiver.url("/ok"))])
        // The time to live counts from publishing: wait until the dispatcher has joined its group.
        try await publish(base, ["--action", "push", "--tag", "warm", "--id", "warm-up"])
        #expect(try await receiver.waitForEvents("/ok", count: 1).count == 1)
        try await API.subscribe(base, scope, "slow", ["destination": API.webhook(receiver.url("/slow"))])
        try await API.subscribe(base, scope, "flaky", ["destination": API.webhook(receiver.url("/flaky"))])
        try await API.subscribe(base, scope, "later", ["destination": API.webhook(receiver.url("/later"))])
        try await API.subscribe(base, scope, "bad", [
            "destination": API.webhook(receiver.url("/bad")),
            "deadLetterDestination": ["endpointType": "WebHook", "properties": ["endpointUrl": receiver.url("/deadletters")]],
        ])
        try await API.subscribe(base, scope, "failing", [
            "destination": API.webhook(receiver.url("/fail1")), "retryPolicy": ["maxDeliveryAttempts": 3],
        ])
        try await API.subscribe(base, scope, "expiring", [
            "destination": API.webhook(receiver.url("/fail2")), "retryPolicy": ["eventTimeToLiveInMinutes": 1],
            "deadLetterDestination": ["endpointType": "KafkaTopic", "properties": ["topic": "my-dead-letters"]],
        ])
        try await publish(base, ["--action", "push", "--tag", "v1", "--id", "retry-me"])

        // The healthy subscriber is served while the slow one still holds its request (20 s).
        let healthy = try await receiver.waitForEvents("/ok", count: 2, limit: .seconds(10))
        #expect(healthy.count == 2)
        #expect(try await receiver.waitForEvents("/slow", count: 1, limit: .seconds(10)).count == 1, "the slow endpoint has its request")

        // 503, 503, 200: three attempts, counted in aeg-delivery-count.
        let flaky = try await receiver.waitForEvents("/flaky", count: 3)
        #expect(flaky.map { $0.headers["aeg-delivery-count"] } == ["0", "1", "2"])
        #expect(Set(flaky.map(\.body)).count == 1)

        // 429 with Retry-After: 1 — the next attempt waits at least that long.
        let later = try await receiver.waitForEvents("/later", count: 2)
        #expect(later.count == 2)
        if later.count == 2 { #expect(later[1].at - later[0].at >= .seconds(1)) }

        // 400 is not retried: one attempt, dead-lettered at once, also POSTed to the dead-letter endpoint.
        let deadLetterPost = try await receiver.waitForEvents("/deadletters", count: 1)
        #expect(receiver.deliveries("/bad").count == 1)
        let posted = try #require(deadLetterPost.first?.events.first)
        #expect(posted["deadLetterReason"] as? String == "NonRetriableStatusCode")
        #expect(posted["lastHttpStatusCode"] as? Int == 400)
        #expect(posted["lastDeliveryOutcome"] as? String == "BadRequest")
        #expect(posted["deliveryAttempts"] as? Int == 1)
        #expect(posted["publishTime"] is String && posted["lastDeliveryAttemptTime"] is String)
        #expect(posted["eventType"] as? String == Self.pushed)

        // 500 until maxDeliveryAttempts (3), then the dead-letter topic.
        #expect(try await receiver.waitForEvents("/fail1", count: 3).count == 3)
        let deadLetters = try await tailUntil(server, topic: "deadletter", containing: "MaxDeliveryAttemptsExceeded")
        #expect(deadLetters.contains("\"deliveryAttempts\":3"))
        #expect(deadLetters.contains("NonRetriableStatusCode"))

        // 500 until the time to live (one 4 s "minute" here) runs out, then its own dead-letter topic.
        let expired = try await tailUntil(server, topic: "my-dead-letters", containing: "TimeToLiveExceeded")
        #expect(expired.contains("\"lastHttpStatusCode\":500"))
        let attempts = receiver.deliveries("/fail2").count
        #expect(attempts >= 2 && attempts < 30, "attempts stop at the time to live: \(attempts)")

        // Every attempt is on .deliveries.
        let audit = try await tailUntil(server, topic: "deliveries", containing: "\"target\":\"flaky\"")
        #expect(audit.contains("\"kind\":\"subscription\""))
    }

    @Test func restartingServeAgainstABrokerThatStaysUpLosesNothing() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let broker = try RegeventsProcess(["broker"])
        defer { broker.terminateQuietly() }
        let line = try await broker.waitForLine(containing: "embedded Kafka broker")
        let bootstrap = String(line.split(separator: " ").last ?? "")
        let arguments = [
            "--kafka-brokers", bootstrap, "--allow-private-targets", "--subscription-retry-schedule", "3s",
            "--kafka-property", "session.timeout.ms=3000",
        ]
        let first = try await RunningServer.start(extraArguments: arguments)
        let base = first.baseURL
        #expect(try await API.send(.PUT, "\(base)/v1/topics/shop").status == 201)
        let key = try #require((try await API.send(.POST, "\(base)/v1/topics/shop/listKeys")).body["key1"] as? String)
        try await API.subscribe(base, "topics/shop", "keeper", ["destination": API.webhook(receiver.url("/keep"))])
        try await API.subscribe(base, "registries/myregistry", "retrier", ["destination": API.webhook(receiver.url("/flaky"))])
        let event: (String) -> [String: Any] = { id in
            ["id": id, "subject": "orders/\(id)", "eventType": "Shop.Order", "eventTime": "2026-11-25T10:00:00Z", "data": ["id": id]]
        }
        let published = try await API.send(.POST, "\(base)/v1/topics/shop/api/events", json: [event("before-stop")], headers: ["aeg-sas-key": key])
        #expect(published.status == 200)
        try await publish(base, ["--action", "push", "--tag", "v1", "--id", "retry-across-restart"])
        #expect(try await receiver.waitForEvents("/keep", count: 1).count == 1)
        // The first attempt failed (503); its retry waits in a tier topic while serve restarts.
        #expect(try await receiver.waitForEvents("/flaky", count: 1).count == 1)
        #expect(try await first.process.stop(SIGTERM) == 0)

        // While serve is down, events keep arriving in Kafka.
        for index in 0..<3 {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: event("while-down-\(index)")), as: UTF8.self)
            let produced = try await runTool(
                "kcat",
                ["-P", "-b", bootstrap, "-t", "registry-events.topic.shop", "-k", "orders", "-H", "regevents-schema=EventGridSchema",
                 "-H", "eventgrid-topic=shop"],
                input: body + "\n")
            #expect(produced.status == 0)
        }
        let second = try await RunningServer.start(extraArguments: arguments + ["--data-dir", first.dataDirectory.path])
        defer { second.process.terminateQuietly() }
        let all = try await receiver.waitForEvents("/keep", count: 4, limit: .seconds(120))
        let ids = Set(all.flatMap(\.events).compactMap { $0["id"] as? String })
        #expect(ids == ["before-stop", "while-down-0", "while-down-1", "while-down-2"])
        // 503 before the restart, 503 and 200 after it.
        #expect(try await receiver.waitForEvents("/flaky", count: 3, limit: .seconds(120)).count == 3)
    }

    /// `.cloudevents` in Kafka's binary mode (ce_ headers, data alone) reaches
    /// subscriptions as the same events as in structured mode.
    @Test func binaryModeRecordsAreDeliveredIntact() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await Self.startServer(["--cloudevents-mode", "binary"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await API.subscribe(base, "registries/myregistry", "binary-eg", ["destination": API.webhook(receiver.url("/eg"))])
        try await API.subscribe(base, "registries/myregistry", "binary-ce", [
            "destination": API.webhook(receiver.url("/ce")), "eventDeliverySchema": "CloudEventSchemaV1_0",
        ])
        try await publish(base, ["--action", "push", "--tag", "v9", "--id", "binary-1"])
        let gridEvent = try #require(try await receiver.waitForEvents("/eg", count: 1).first?.events.first)
        #expect(gridEvent["eventType"] as? String == Self.pushed)
        #expect(gridEvent["subject"] as? String == "hello:v9")
        #expect(gridEvent["dataVersion"] as? String == "1.0")
        #expect(gridEvent["topic"] as? String == "/registries/myregistry")
        #expect(((gridEvent["data"] as? [String: Any])?["target"] as? [String: Any])?["tag"] as? String == "v9")
        let cloudEvent = try #require(try await receiver.waitForEvents("/ce", count: 1).first?.events.first)
        #expect(cloudEvent["type"] as? String == Self.pushed)
        #expect(cloudEvent["id"] as? String == gridEvent["id"] as? String)
        #expect(((cloudEvent["data"] as? [String: Any])?["target"] as? [String: Any])?["repository"] as? String == "hello")
    }

    /// The delivered CloudEvents, decoded by the CloudEvents SDK (Python).
    func decodeWithCloudEventsSDK(_ deliveries: [EventGridReceiver.Received]) async throws -> [[String: Any]] {
        let input = try JSONSerialization.data(withJSONObject: deliveries.map { ["headers": $0.headers, "body": $0.body] })
        let result = try await runPythonScript(
            "check-delivered-cloudevents.py", ["--require", "subject"], input: String(decoding: input, as: UTF8.self))
        guard result.status == 0 else { throw ProcessFailure("CloudEvents SDK refused: \(result.output)") }
        return try jsonObject(Data(result.output.utf8))["events"] as? [[String: Any]] ?? []
    }
}
