import Foundation
import TestSupport
import Testing

/// Dead letters as a resource, against the real server: a webhook that fails
/// until its deliveries dead-letter, then listed, filtered, opened and
/// redriven to the fixed endpoint with their original ids.
@Suite("Dead letters: list, show, redrive", .machineHeavy)
struct DeadLetterEndToEndTests {
    static func deadLetters(_ base: String, _ query: String = "") async throws -> [[String: Any]] {
        let answer = try await API.send(.GET, "\(base)/v1/deadletters\(query)")
        guard answer.status == 200 else { throw ProcessFailure("list dead letters: \(answer.status) \(answer.text)") }
        return answer.body["value"] as? [[String: Any]] ?? []
    }

    static func ids(_ requests: [WebhookReceiver.Received]) -> [String] {
        requests.compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String }
    }

    @Test func aDeadLetteredWebhookDeliveryIsListedOpenedAndRedrivenWithItsOriginalID() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-retry-schedule", "200ms", "--webhook-max-attempts", "2",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await DeliveryFaultTests.createWebhook(base, "dlhook1", receiver.url("/fail-dl"))
        let events = ["dl-1", "dl-2", "dl-3"]
        _ = try await DeliveryFaultTests.ingest(base, ids: events)

        var letters: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while letters.count < events.count, ContinuousClock.now < deadline {
            letters = try await Self.deadLetters(base, "?target=dlhook1")
            if letters.count < events.count { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(Set(letters.compactMap { $0["eventID"] as? String }) == Set(events))
        let first = try #require(letters.first { $0["eventID"] as? String == "dl-1" })
        let id = try #require(first["id"] as? String)
        #expect(first["kind"] as? String == "webhook")
        #expect(first["registry"] as? String == "myregistry")
        #expect(first["lastHttpStatusCode"] as? Int == 500)
        #expect(first["deliveryAttempts"] as? Int == 2)
        #expect((first["reason"] as? String)?.hasPrefix("MaxDeliveryAttemptsExceeded") == true, "\(first)")
        #expect(((first["event"] as? [String: Any])?["id"] as? String) == "dl-1", "the payload that was sent")

        // One, opened by its id.
        let shown = try await API.send(.GET, "\(base)/v1/deadletters/\(id)")
        #expect(shown.status == 200)
        #expect(shown.body["eventID"] as? String == "dl-1")

        // Filters.
        #expect(try await Self.deadLetters(base, "?kind=subscription").isEmpty)
        #expect(try await Self.deadLetters(base, "?scope=registry/myregistry&reason=maxdelivery").count == 3)
        #expect(try await Self.deadLetters(base, "?reason=no-such-reason").isEmpty)
        #expect(try await Self.deadLetters(base, "?since=2099-01-01T00:00:00Z").isEmpty)
        #expect(try await Self.deadLetters(base, "?until=2000-01-01T00:00:00Z").isEmpty)
        let paged = try await API.send(.GET, "\(base)/v1/deadletters?target=dlhook1&top=2")
        #expect((paged.body["value"] as? [Any])?.count == 2)
        let nextLink = try #require(paged.body["nextLink"] as? String)
        let rest = try await API.send(.GET, "\(base)\(nextLink)")
        #expect((rest.body["value"] as? [Any])?.count == 1)
        #expect(rest.body["nextLink"] == nil)

        // The endpoint is fixed; one dead letter goes back, then all of them by filter.
        let fixed = try await API.send(
            .PATCH, "\(base)/v1/registries/myregistry/webhooks/dlhook1", json: ["properties": ["serviceUri": receiver.url("/ok-dl")]])
        #expect(fixed.status == 200)
        let one = try await API.send(.POST, "\(base)/v1/deadletters/redrive", json: ["ids": [id]])
        #expect(one.status == 200)
        #expect(((one.body["value"] as? [[String: Any]])?.first?["status"] as? String) == "redriven", "\(one.text)")
        #expect(Self.ids(try await receiver.waitFor("/ok-dl", count: 1, limit: .seconds(30))) == ["dl-1"])

        let all = try await API.send(.POST, "\(base)/v1/deadletters/redrive", json: ["filter": ["target": "dlhook1"]])
        let outcomes = try #require(all.body["value"] as? [[String: Any]])
        #expect(outcomes.count == 3 && outcomes.allSatisfy { $0["status"] as? String == "redriven" }, "\(all.text)")
        let delivered = Self.ids(try await receiver.waitFor("/ok-dl", count: 4, limit: .seconds(30)))
        #expect(delivered.sorted() == ["dl-1", "dl-1", "dl-2", "dl-3"], "each redriven with its original id")
        // Dead letters stay where they are.
        #expect(try await Self.deadLetters(base, "?target=dlhook1").count == 3)

        // Who redrove what, on .deliveries.
        let audit = try await RegeventsProcess.run([
            "tail", "--server", base, "--topic", "deliveries", "--from-beginning", "--exit-at-end",
        ])
        let redrives = audit.output.filter { $0.contains("redriven") }
        #expect(redrives.count == 4)
        #expect(redrives.allSatisfy { $0.contains(id) || $0.contains("deadLetter") })
        #expect(redrives.allSatisfy { $0.contains("admin token") })
    }

    @Test func badRequestsAreClear4xxAndADeletedTargetIsNotRedriven() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-retry-schedule", "200ms", "--webhook-max-attempts", "1",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        for (path, status, code) in [
            ("/v1/deadletters?kind=bogus", 400, "InvalidFilter"),
            ("/v1/deadletters?since=yesterday", 400, "InvalidFilter"),
            ("/v1/deadletters?scope=myregistry", 400, "InvalidFilter"),
            ("/v1/deadletters?skipToken=x", 400, "InvalidSkipToken"),
            ("/v1/deadletters?topic=registry-events.acr", 400, "InvalidTopic"),
            ("/v1/deadletters/nonsense", 400, "InvalidDeadLetterId"),
            ("/v1/deadletters/0-999999", 404, "DeadLetterNotFound"),
        ] {
            let answer = try await API.send(.GET, "\(base)\(path)")
            #expect(answer.status == status, "\(path): \(answer.text)")
            #expect((answer.body["error"] as? [String: Any])?["code"] as? String == code, "\(path): \(answer.text)")
        }
        for body: [String: Any] in [[:], ["ids": []], ["ids": ["0-1"], "filter": [:]]] {
            let answer = try await API.send(.POST, "\(base)/v1/deadletters/redrive", json: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
        }

        try await DeliveryFaultTests.createWebhook(base, "gonehook1", receiver.url("/fail-gone"))
        _ = try await DeliveryFaultTests.ingest(base, ids: ["gone-1"])
        var letters: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while letters.isEmpty, ContinuousClock.now < deadline {
            letters = try await Self.deadLetters(base, "?target=gonehook1")
            if letters.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        let id = try #require(letters.first?["id"] as? String)

        // The CLI: list (a table), show, and a redrive that names nothing.
        let listed = try await RegeventsProcess.run(["deadletter", "list", "--server", base, "--target", "gonehook1"])
        #expect(listed.status == 0, "\(listed.errors)")
        #expect(listed.output.first?.hasPrefix("ID") == true && listed.output.contains { $0.contains(id) && $0.contains("gone-1") })
        let shownByCLI = try await RegeventsProcess.run(["deadletter", "show", "--server", base, "--id", id])
        #expect(shownByCLI.status == 0 && shownByCLI.output.joined().contains("\"eventID\" : \"gone-1\""), "\(shownByCLI.output)")
        let nothing = try await RegeventsProcess.run(["deadletter", "redrive", "--server", base])
        #expect(nothing.status == 64)

        #expect(try await API.send(.DELETE, "\(base)/v1/registries/myregistry/webhooks/gonehook1").status == 200)
        let byCLI = try await RegeventsProcess.run(["deadletter", "redrive", "--server", base, "--id", id])
        #expect(byCLI.status == 0 && byCLI.output.joined().contains("targetGone"), "\(byCLI.output) \(byCLI.errors)")
        let answer = try await API.send(.POST, "\(base)/v1/deadletters/redrive", json: ["ids": [id, "0-999999"]])
        let outcomes = try #require(answer.body["value"] as? [[String: Any]])
        #expect(outcomes.map { $0["status"] as? String } == ["targetGone", "notFound"], "\(answer.text)")
    }
}

/// Replay against the real server: a window of events delivered once more,
/// with their original ids, through the API and the CLI.
@Suite("Replay of a time window", .machineHeavy)
struct ReplayEndToEndTests {
    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    @Test func aWindowIsDeliveredOnceMoreWithItsOriginalIDsToAWebhookAndASubscription() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let grid = try await EventGridReceiver.start()
        defer { grid.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await DeliveryFaultTests.createWebhook(base, "rphook1", receiver.url("/ok-rp"))
        _ = try await API.subscribe(base, "registries/myregistry", "replayed", ["destination": API.webhook(grid.url("/eg"))])
        // Kafka's timestamps and ours come from the same clock; a second of slack either way.
        let before = Date().addingTimeInterval(-1)
        let events = (1...5).map { "rp-\($0)" }
        _ = try await DeliveryFaultTests.ingest(base, ids: events)
        _ = try await receiver.waitFor("/ok-rp", count: 5, limit: .seconds(30))
        _ = try await grid.waitForEvents("/eg", count: 5, limit: .seconds(30))
        let after = Date().addingTimeInterval(1)
        // An event after the window is not replayed.
        try await Task.sleep(for: .seconds(1.5))
        _ = try await DeliveryFaultTests.ingest(base, ids: ["rp-late"])
        _ = try await receiver.waitFor("/ok-rp", count: 6, limit: .seconds(30))

        let window: [String: Any] = ["since": Self.rfc3339(before), "until": Self.rfc3339(after), "ratePerSecond": 50]
        let answer = try await API.send(.POST, "\(base)/v1/registries/myregistry/webhooks/rphook1/replay", json: window)
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.body["replayed"] as? Int == 5)
        #expect(answer.body["complete"] as? Bool == true)
        let again = DeadLetterEndToEndTests.ids(try await receiver.waitFor("/ok-rp", count: 11, limit: .seconds(30)))
        #expect(again.sorted() == (events + events + ["rp-late"]).sorted(), "each once more, with its original id")

        let toSubscription = try await API.send(.POST, "\(base)/v1/registries/myregistry/eventSubscriptions/replayed/replay", json: window)
        #expect(toSubscription.body["replayed"] as? Int == 5, "\(toSubscription.text)")
        let gridEvents = try await grid.waitForEvents("/eg", count: 11, limit: .seconds(30)).flatMap(\.events)
        // Event Grid ids are derived from the event's; the five replayed come with the ids they had.
        let gridIDs = gridEvents.compactMap { $0["id"] as? String }
        #expect(gridIDs.count == 11 && Set(gridIDs).count == 6, "\(gridIDs)")

        // The CLI, with no --until (up to now): the late event too.
        let cli = try await RegeventsProcess.run([
            "replay", "--server", base, "--target", "webhook/rphook1", "--registry", "myregistry", "--since", Self.rfc3339(before),
            "--rate", "200",
        ])
        #expect(cli.status == 0, "\(cli.errors)")
        #expect(cli.output.first?.hasPrefix("replayed 6 events to webhook/rphook1") == true, "\(cli.output)")
        // It follows the replay until its last delivery is due.
        #expect(cli.output.last == "due: 6 of 6 (100 %)", "\(cli.output)")
        _ = try await receiver.waitFor("/ok-rp", count: 17, limit: .seconds(30))

        // Bad windows and targets.
        for (path, body, status) in [
            ("webhooks/rphook1/replay", ["since": "yesterday"], 400),
            ("webhooks/rphook1/replay", ["since": Self.rfc3339(after), "until": Self.rfc3339(before)], 400),
            ("webhooks/rphook1/replay", ["since": Self.rfc3339(before), "ratePerSecond": 0], 400),
            ("webhooks/nohook1/replay", ["since": Self.rfc3339(before)], 404),
            ("eventSubscriptions/nothere/replay", ["since": Self.rfc3339(before)], 404),
        ] as [(String, [String: Any], Int)] {
            let bad = try await API.send(.POST, "\(base)/v1/registries/myregistry/\(path)", json: body)
            #expect(bad.status == status, "\(path) \(body): \(bad.text)")
        }
        let badCLI = try await RegeventsProcess.run(["replay", "--server", base, "--target", "hook/x", "--registry", "r", "--since", "x"])
        #expect(badCLI.status == 64)
    }
}
