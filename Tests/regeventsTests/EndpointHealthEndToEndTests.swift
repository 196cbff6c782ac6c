import Foundation
import Testing

/// The endpoint health rule with a shortened clock: a webhook failing past
/// it is disabled, said on `.operations`, re-enabled with one update, and
/// its recovery said too; a rotation is said as well.
@Suite("Endpoint health and operational events")
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
}
