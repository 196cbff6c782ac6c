import Crypto
import Foundation
import TestSupport
import Testing

/// The endpoint health rule with a shortened clock: a webhook failing past
/// it is disabled, said on `.operations`, re-enabled with one update, and
/// its recovery said too; a rotation is said as well.
@Suite("Endpoint health and operational events", .machineHeavy)
struct EndpointHealthEndToEndTests {
    static func operations(_ base: String) async throws -> [[String: Any]] {
        let tail = try await RegeventsProcess.run(["tail", "--server", base, "--topic", "operations", "--from-beginning", "--exit-at-end"])
        return tail.output.compactMap { line in
            guard let record = try? jsonObject(Data(line.utf8)) else { return nil }
            if let value = record["value"] as? [String: Any] { return value }
            return (record["value"] as? String).flatMap { try? jsonObject(Data($0.utf8)) }
        }
    }

    static func waitForOperation(_ base: String, type: String, limit: Duration = .seconds(60)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let found = try await operations(base).last(where: { $0["type"] as? String == type }) { return found }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw ProcessFailure("no \(type) on .operations within \(limit)")
    }

    @Test func aWebhookFailingPastTheRuleIsDisabledSaidSoReEnabledAndRecovers() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-retry-schedule", "300ms", "--webhook-max-attempts", "20",
            "--endpoint-disable-after", "1s", "--endpoint-disable-min-attempts", "3",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        let path = "\(base)/v1/registries/myregistry/webhooks/healthhook1"
        try await DeliveryFaultTests.createWebhook(base, "healthhook1", receiver.url("/fail-health"))
        _ = try await DeliveryFaultTests.ingest(base, ids: ["health-1", "health-2"])

        // Disabled once it has failed for over a second with at least three attempts.
        var status = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while status != "disabled", ContinuousClock.now < deadline {
            status = ((try await API.send(.GET, path).body["properties"] as? [String: Any])?["status"] as? String) ?? ""
            if status != "disabled" { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(status == "disabled")
        let disabled = try await Self.waitForOperation(base, type: "RegistryEvents.Operations.EndpointDisabled")
        #expect(disabled["specversion"] as? String == "1.0")
        #expect(disabled["source"] as? String == "/registries/myregistry/webhooks/healthhook1")
        let data = try #require(disabled["data"] as? [String: Any])
        #expect((data["attempts"] as? Int ?? 0) >= 3)
        #expect(data["lastOutcome"] as? String == "HTTP 500")
        #expect((data["rule"] as? String)?.contains("at least 3 attempts") == true)

        // The API, `operations list` and `webhook show` list it.
        let source = "/registries/myregistry/webhooks/healthhook1"
        let listed = try await API.send(.GET, "\(base)/v1/operations?source=\(source)&type=EndpointDisabled")
        #expect(((listed.body["value"] as? [[String: Any]])?.first?["source"] as? String) == source, "\(listed.text)")
        let refused = try await API.send(.GET, "\(base)/v1/operations?type=Nope")
        #expect(refused.status == 400 && ((refused.body["error"] as? [String: Any])?["code"] as? String) == "InvalidFilter")
        let table = try await RegeventsProcess.run(["operations", "list", "--server", base, "--type", "EndpointDisabled"])
        #expect(table.status == 0 && table.output.contains { $0.contains("EndpointDisabled") && $0.contains(source) }, "\(table.output)")
        let shown = try await RegeventsProcess.run(["webhook", "show", "--server", base, "--registry", "myregistry", "--name", "healthhook1"])
        let shownEvents = try jsonObject(Data(shown.output.joined(separator: "\n").utf8))["operationalEvents"] as? [[String: Any]]
        #expect(shownEvents?.contains { $0["type"] as? String == "RegistryEvents.Operations.EndpointDisabled" } == true, "\(shown.output)")
        let attemptsAtDisable = receiver.requests("/fail-health").count

        // Re-enabled with one update (and fixed): new events are delivered, and the recovery is said.
        let enabled = try await API.send(
            .PATCH, path, json: ["properties": ["status": "enabled", "serviceUri": receiver.url("/ok-health")]])
        #expect(enabled.status == 200)
        _ = try await DeliveryFaultTests.ingest(base, ids: ["health-3"])
        _ = try await receiver.waitFor("/ok-health", count: 1, limit: .seconds(30))
        let recovered = try await Self.waitForOperation(base, type: "RegistryEvents.Operations.EndpointRecovered")
        #expect(((recovered["data"] as? [String: Any])?["failuresBefore"] as? Int ?? 0) >= 3)
        #expect(receiver.requests("/fail-health").count <= attemptsAtDisable + 2, "a disabled webhook is not attempted (beyond attempts in flight)")

        // A signing secret rotation is an operational event too.
        #expect(try await API.send(.POST, "\(path)/rotateSigningSecret", json: ["gracePeriodInHours": 0]).status == 200)
        let rotated = try await Self.waitForOperation(base, type: "RegistryEvents.Operations.SigningSecretRotated")
        #expect(((rotated["data"] as? [String: Any])?["webhook"] as? String) == "healthhook1")
        #expect(!String(describing: rotated).contains("whsec_"), "the secret itself is never in an operational event")
    }

    @Test func aSubscriptionFailingPastTheRuleIsSetFailedSaidSoAndAnUpdateEnablesIt() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--subscription-retry-schedule", "300ms",
            "--endpoint-disable-after", "1s", "--endpoint-disable-min-attempts", "3",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        let path = "\(base)/v1/registries/myregistry/eventSubscriptions/subhealth"
        try await API.subscribe(base, "registries/myregistry", "subhealth", [
            "destination": API.webhook(receiver.url("/fail-subhealth")), "retryPolicy": ["maxDeliveryAttempts": 30],
        ])
        _ = try await DeliveryFaultTests.ingest(base, ids: ["subhealth-1", "subhealth-2"])

        var properties: [String: Any] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while properties["provisioningState"] as? String != "Failed", ContinuousClock.now < deadline {
            properties = (try await API.send(.GET, path).body["properties"] as? [String: Any]) ?? [:]
            if properties["provisioningState"] as? String != "Failed" { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(properties["provisioningState"] as? String == "Failed")
        #expect((properties["provisioningMessage"] as? String)?.contains("endpoint health rule") == true, "\(properties)")
        let disabled = try await Self.waitForOperation(base, type: "RegistryEvents.Operations.EndpointDisabled")
        #expect(disabled["source"] as? String == "/registries/myregistry/eventSubscriptions/subhealth")
        #expect(((disabled["data"] as? [String: Any])?["attempts"] as? Int ?? 0) >= 3)

        // One update validates the endpoint again and enables the subscription.
        try await API.subscribe(base, "registries/myregistry", "subhealth", [
            "destination": API.webhook(receiver.url("/ok-subhealth")), "retryPolicy": ["maxDeliveryAttempts": 30],
        ], expect: 200)
        #expect(((try await API.send(.GET, path).body["properties"] as? [String: Any])?["provisioningState"] as? String) == "Succeeded")
        _ = try await DeliveryFaultTests.ingest(base, ids: ["subhealth-3"])
        _ = try await receiver.waitForEvents("/ok-subhealth", count: 1)
    }

    @Test func aBadHealthRuleStopsServeNamingTheFlag() async throws {
        for (arguments, flag) in [
            (["--endpoint-disable-after", "soon"], "--endpoint-disable-after"),
            (["--endpoint-disable-min-attempts", "0"], "--endpoint-disable-min-attempts"),
        ] {
            let run = try await RegeventsProcess.run(["serve"] + arguments)
            #expect(run.status == 64, "\(arguments)")
            #expect(run.errors.contains(flag) || run.output.joined().contains(flag), "\(run.errors)")
        }
    }

    /// The optional operations webhook: every operational event, signed
    /// with its own secret, retried until the endpoint takes it.
    @Test func operationalEventsAlsoGoToASignedOperationsWebhookRetriedUntilTaken() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let key = Data((0..<32).map { UInt8($0) })
        let secret = "whsec_" + key.base64EncodedString()
        // 503 twice, then 200: the forwarder waits and sends the same event again.
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--operations-webhook", receiver.url("/flaky-ops"), "--operations-webhook-secret", secret,
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await DeliveryFaultTests.createWebhook(base, "opshooked", receiver.url("/ok-opshooked"))
        let path = "\(base)/v1/registries/myregistry/webhooks/opshooked"
        #expect(try await API.send(.POST, "\(path)/rotateSigningSecret", json: ["gracePeriodInHours": 0]).status == 200)

        let requests = try await receiver.waitFor("/flaky-ops", count: 3, limit: .seconds(60))
        #expect(Set(requests.map { $0.headers["webhook-id"] ?? "" }).count == 1, "one event, sent until taken")
        let taken = try #require(requests.last)
        #expect(taken.headers["content-type"] == "application/cloudevents+json")
        let event = try jsonObject(Data(taken.body.utf8))
        #expect(event["type"] as? String == "RegistryEvents.Operations.SigningSecretRotated")
        #expect(event["source"] as? String == "/registries/myregistry/webhooks/opshooked")
        #expect(!taken.body.contains("whsec_"), "never the rotated secret")
        let id = try #require(taken.headers["webhook-id"])
        let timestamp = try #require(taken.headers["webhook-timestamp"])
        let expected = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(taken.body)".utf8), using: SymmetricKey(data: key))
        #expect(taken.headers["webhook-signature"] == "v1," + Data(expected).base64EncodedString())
    }

    @Test func anOperationsWebhookNeedsAGoodSecret() async throws {
        for (arguments, flag) in [
            (["--operations-webhook", "http://127.0.0.1:9/ops"], "--operations-webhook-secret"),
            (["--operations-webhook", "http://127.0.0.1:9/ops", "--operations-webhook-secret", "hunter2"], "--operations-webhook-secret"),
            (["--operations-webhook", "ops.example.com", "--operations-webhook-secret", WebhookSecrets.sample], "--operations-webhook"),
            (["--operations-webhook-secret", WebhookSecrets.sample], "--operations-webhook-secret"),
        ] {
            let run = try await RegeventsProcess.run(["serve"] + arguments)
            #expect(run.status == 64, "\(arguments)")
            #expect(run.errors.contains(flag), "\(run.errors)")
            #expect(!run.errors.contains("hunter2"), "a secret is never echoed")
        }
    }
}

enum WebhookSecrets {
    static let sample = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()
}
