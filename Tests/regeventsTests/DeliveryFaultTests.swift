import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport
import Testing

/// The delivery promises under faults, through the real server and real
/// receivers: hostile endpoints cost the others nothing, shutdown is
/// bounded, and a crash or a frozen broker loses nothing acknowledged.
@Suite("Delivery under faults, end to end", .machineHeavy, .serialized)
struct DeliveryFaultTests {
    static let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"

    /// An ACR-native push event with its own id, as `POST …/events` takes it.
    static func event(_ id: String, repository: String = "hello") -> [String: Any] {
        ["id": id, "action": "push", "target": ["repository": repository, "tag": "v1", "digest": digest]]
    }

    static func createWebhook(_ base: String, _ name: String, _ uri: String, extra: [String: Any] = [:]) async throws {
        let properties: [String: Any] = ["serviceUri": uri, "actions": ["push"]].merging(extra) { $1 }
        let result = try await API.send(.PUT, "\(base)/v1/registries/myregistry/webhooks/\(name)", json: ["properties": properties])
        guard result.status == 200 || result.status == 201 else { throw ProcessFailure("create \(name): \(result.status) \(result.text)") }
    }

    /// Posts events and returns how long each request took; every answer must be 2xx.
    static func ingest(_ base: String, ids: [String]) async throws -> [Duration] {
        var latencies: [Duration] = []
        for id in ids {
            let started = ContinuousClock.now
            let result = try await API.send(.POST, "\(base)/v1/registries/myregistry/events", json: event(id))
            latencies.append(ContinuousClock.now - started)
            #expect((200..<300).contains(result.status), "ingest \(id): \(result.status) \(result.text)")
        }
        return latencies
    }

    static func percentile(_ values: [Duration], _ fraction: Double) -> Duration {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .zero }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    @Test func fortyStallingEndpointsCostAHealthyOneNothingAndShutdownStaysBounded() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-timeout", "10", "--webhook-retry-schedule", "1h", "--shutdown-timeout", "5",
            "--delivery-concurrency", "4",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await Self.createWebhook(base, "healthy01", receiver.url("/ok-healthy"))
        for index in 0..<40 { try await Self.createWebhook(base, "stall\(index)x", receiver.url("/stall\(index)")) }

        // A steady flow: 60 events while every stalling endpoint holds its lane full.
        let ids = (0..<60).map { "stall-flow-\($0)" }
        var sentAt: [String: ContinuousClock.Instant] = [:]
        var ingestLatencies: [Duration] = []
        for chunk in stride(from: 0, to: ids.count, by: 5) {
            let batch = Array(ids[chunk..<min(chunk + 5, ids.count)])
            for id in batch { sentAt[id] = .now }
            ingestLatencies += try await Self.ingest(base, ids: batch)
            try await Task.sleep(for: .milliseconds(100))
        }
        let received = try await receiver.waitFor("/ok-healthy", count: ids.count, limit: .seconds(120))
        let got = Set(received.compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String })
        #expect(got == Set(ids), "the healthy endpoint receives every event")
        #expect(receiver.requests("/stall").count >= 40, "the stalling endpoints were tried")

        // Structural bounds, not benchmarks: waiting behind a stall would
        // cost at least one attempt deadline (10 s); the ingest path never
        // waits on deliveries at all.
        let healthyLatencies = received.compactMap { request -> Duration? in
            guard let id = (try? jsonObject(Data(request.body.utf8)))?["id"] as? String, let sent = sentAt[id] else { return nil }
            let at = ContinuousClock.now - .milliseconds(Int64(Date().timeIntervalSince(request.at) * 1000))
            return at - sent
        }
        let healthyP99 = Self.percentile(healthyLatencies, 0.99)
        let ingestP99 = Self.percentile(ingestLatencies, 0.99)
        print("stalling endpoints: healthy p99 \(healthyP99), ingest p99 \(ingestP99)")
        #expect(healthyP99 < .seconds(10), "the healthy endpoint never waits an attempt deadline behind a stall: p99 \(healthyP99)")
        #expect(ingestP99 < .seconds(5), "ingest does not slow down behind stalls: p99 \(ingestP99)")

        // SIGTERM while 40 lanes hold stalled attempts: exits 0 within --shutdown-timeout + 5 s.
        let stopping = ContinuousClock.now
        let status = try await server.process.stop(SIGTERM, limit: .seconds(30))
        let took = ContinuousClock.now - stopping
        #expect(status == 0)
        #expect(took < .seconds(10), "shutdown took \(took)")
    }

    @Test func aSlowSinkBesideAFastOneSeesNoDuplicatesBeyondItsOwnRetriesAndTheFastOneIsNotHeldUp() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets", "--webhook-retry-schedule", "1s"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await Self.createWebhook(base, "fastsink1", receiver.url("/ok-fast"))
        try await Self.createWebhook(base, "slowsink1", receiver.url("/sleep5-slow"), extra: ["maxConcurrentDeliveries": 2])
        let ids = (0..<12).map { "sink-\($0)" }
        let started = ContinuousClock.now
        _ = try await Self.ingest(base, ids: ids)
        let fast = try await receiver.waitFor("/ok-fast", count: ids.count, limit: .seconds(60))
        let fastTook = ContinuousClock.now - started
        #expect(Set(fast.compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String }) == Set(ids))
        #expect(fastTook < .seconds(5), "the fast sink does not wait for the 5 s one: \(fastTook)")
        // The slow sink (2 in flight) gets everything; the rest waited in the retry tier, not in a queue.
        let slow = try await receiver.waitFor("/sleep5-slow", count: ids.count, limit: .seconds(240))
        let slowIDs = slow.compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String }
        #expect(Set(slowIDs) == Set(ids))
        #expect(slowIDs.count == ids.count, "each event once: a deferred delivery is not an extra attempt")

        let shown = try await API.send(.GET, "\(base)/v1/registries/myregistry/webhooks/slowsink1")
        let delivery = try #require((shown.body["properties"] as? [String: Any])?["delivery"] as? [String: Any])
        #expect(delivery["limit"] as? Int == 2)
        #expect(delivery["breaker"] as? String == "closed")
    }

    @Test func theBreakerOpensAfterTenFailuresProbesAndClosesOnRecovery() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets", "--webhook-retry-schedule", "35s"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await Self.createWebhook(base, "breaker01", receiver.url("/recover-breaker"))
        let ids = (0..<14).map { "breaker-\($0)" }
        // Ten failures in a row open it (one at a time, so none is in flight when it opens) ...
        for (index, id) in ids.prefix(10).enumerated() {
            _ = try await Self.ingest(base, ids: [id])
            _ = try await receiver.waitFor("/recover-breaker", count: index + 1, limit: .seconds(60))
        }
        // ... and the next four are deferred to the retry tier without an attempt.
        _ = try await Self.ingest(base, ids: Array(ids.suffix(4)))
        func lane() async throws -> [String: Any] {
            let shown = try await API.send(.GET, "\(base)/v1/registries/myregistry/webhooks/breaker01")
            return (shown.body["properties"] as? [String: Any])?["delivery"] as? [String: Any] ?? [:]
        }
        var state = try await lane()
        let deadline = ContinuousClock.now + .seconds(60)
        while state["breaker"] as? String != "open", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            state = try await lane()
        }
        #expect(state["breaker"] as? String == "open")
        #expect(receiver.requests("/recover-breaker").count == 10, "open: nothing more is sent during the cool-down")
        // After 30 s one probe goes out, succeeds, and closes it; every event then arrives.
        let all = try await receiver.waitFor("/recover-breaker", count: 10 + ids.count, limit: .seconds(150))
        let delivered = Set(all.dropFirst(10).compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String })
        #expect(delivered == Set(ids))
        #expect(try await lane()["breaker"] as? String == "closed")
        let metrics = try await httpGet("\(base)/metrics")
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("regevents_delivery_deferrals_total"))
    }

    @Test func perKeyOrderingDelivers200EventsOfOneRepositoryInOrderAcrossFailuresAndRetries() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-retry-schedule", "200ms", "--webhook-max-attempts", "20",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        try await Self.createWebhook(base, "ordered01", receiver.url("/recover-ordered"), extra: ["ordering": "perKey"])
        try await Self.createWebhook(base, "unorder01", receiver.url("/ok-unordered"))
        let shown = try await API.send(.GET, "\(base)/v1/registries/myregistry/webhooks/ordered01")
        #expect((shown.body["properties"] as? [String: Any])?["ordering"] as? String == "perKey")

        // 200 events of one repository, in batches (Kafka keeps their order: one key, one partition).
        let ids = (0..<200).map { String(format: "order-%03d", $0) }
        for chunk in stride(from: 0, to: ids.count, by: 20) {
            let events = ids[chunk..<chunk + 20].map { Self.event($0) }
            let result = try await API.send(.POST, "\(base)/v1/registries/myregistry/events", json: events)
            #expect(result.status == 202, "ingest: \(result.status) \(result.text)")
        }
        // The endpoint fails its first 10 requests: the head event is retried in place, and nothing overtakes it.
        let all = try await receiver.waitFor("/recover-ordered", count: 10 + ids.count, limit: .seconds(120))
        let attempts = all.compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String }
        #expect(Set(attempts.prefix(10)) == ["order-000"], "the failing head is retried, alone")
        #expect(Array(attempts.dropFirst(10)) == ids, "every event once, in order, after the head recovered")
        let unordered = try await receiver.waitFor("/ok-unordered", count: ids.count, limit: .seconds(60))
        #expect(unordered.count == ids.count, "an unordered webhook on the same events is not held by the ordered one")
    }

    @Test func retriesForDeletedDisabledOrRecreatedWebhooksAreSkippedAndSaidSo() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets", "--webhook-retry-schedule", "3s"])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        for name in ["gonehook1", "offhook01", "againhk01"] { try await Self.createWebhook(base, name, receiver.url("/fail-\(name)")) }
        _ = try await Self.ingest(base, ids: ["skip-me"])
        for name in ["gonehook1", "offhook01", "againhk01"] { _ = try await receiver.waitFor("/fail-\(name)", count: 1) }
        // While the retries wait (3 s): delete one, disable one, delete and re-create one.
        _ = try await API.send(.DELETE, "\(base)/v1/registries/myregistry/webhooks/gonehook1")
        _ = try await API.send(.PATCH, "\(base)/v1/registries/myregistry/webhooks/offhook01", json: ["properties": ["status": "disabled"]])
        _ = try await API.send(.DELETE, "\(base)/v1/registries/myregistry/webhooks/againhk01")
        try await Self.createWebhook(base, "againhk01", receiver.url("/ok-againhk01"))

        let audit = try await tailUntil(server, topic: "deliveries", containing: "the webhook was deleted and created again")
        let skipped = audit.split(separator: "\n").filter { $0.contains("\"result\":\"skipped\"") }
        #expect(skipped.contains { $0.contains("gonehook1") && $0.contains("the webhook was deleted") })
        #expect(skipped.contains { $0.contains("offhook01") && $0.contains("the webhook is disabled") })
        #expect(skipped.contains { $0.contains("againhk01") && $0.contains("deleted and created again") })
        #expect(receiver.requests("/ok-againhk01").isEmpty, "the new webhook does not get the old one's retry")
        #expect(receiver.requests("/fail-offhook01").count == 1)
    }
}
