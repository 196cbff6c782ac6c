import TestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing

/// Nothing acknowledged is lost when `serve` dies with `kill -9` or the
/// broker freezes: `regevents broker` runs the cluster in its own process, so
/// each can fail alone.
@Suite("Kafka faults: kill -9 and a frozen broker, end to end", .machineHeavy, .serialized)
struct KafkaFaultTests {
    /// A `regevents broker` process and its bootstrap address.
    static func startBroker() async throws -> (process: RegeventsProcess, bootstrap: String) {
        let broker = try RegeventsProcess(["broker"])
        let line = try await broker.waitForLine(containing: "embedded Kafka broker")
        return (broker, String(line.split(separator: " ").last ?? ""))
    }

    /// Posts `ids` as one ACR-native batch; returns the HTTP status, the
    /// Retry-After header and how long the answer took.
    /// - Parameter spread: each event of a batch in a repository of its own
    ///   (so their keys spread over the partitions), instead of all in one.
    static func post(_ base: String, ids: [String], spread: Bool = false) async -> (status: Int, retryAfter: String?, took: Duration) {
        let started = ContinuousClock.now
        var request = HTTPClientRequest(url: "\(base)/v1/registries/myregistry/events")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let events = ids.enumerated().map { index, id in
            spread ? DeliveryFaultTests.event(id, repository: "repo\(index)") : DeliveryFaultTests.event(id)
        }
        request.body = .bytes(ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: events)) ?? Data()))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), response.headers.first(name: "retry-after"), ContinuousClock.now - started)
        } catch {
            return (0, nil, ContinuousClock.now - started)
        }
    }

    static func receivedIDs(_ receiver: WebhookReceiver, _ path: String) -> [String] {
        receiver.requests(path).compactMap { (try? jsonObject(Data($0.body.utf8)))?["id"] as? String }
    }

    /// Waits until every id in `expected` reached `path`.
    static func waitForAll(_ expected: Set<String>, at path: String, _ receiver: WebhookReceiver, limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while !expected.isSubset(of: Set(receivedIDs(receiver, path))), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The records `groups` have not committed, summed over their topics, read
    /// from Kafka directly with `regevents topics --kafka-brokers`.
    static func uncommittedRecords(bootstrap: String, groups: [String]) async throws -> Int {
        let run = try await RegeventsProcess.run(["topics", "--kafka-brokers", bootstrap, "--output", "json"])
        #expect(run.status == 0, "regevents topics: \(run.errors)")
        let report = try jsonObject(Data(run.output.joined(separator: "\n").utf8))
        let reported = ((report["topics"] as? [[String: Any]]) ?? []).flatMap { ($0["consumerGroups"] as? [[String: Any]]) ?? [] }
        return reported.filter { groups.contains($0["group"] as? String ?? "") }.reduce(0) { $0 + ($1["lag"] as? Int ?? 0) }
    }

    @Test func killMinus9UnderLoadLosesNothingAcknowledged() async throws {
        let (broker, bootstrap) = try await Self.startBroker()
        defer { broker.terminateQuietly() }
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-kill9-\(UUID().uuidString)")
        let arguments = ["--kafka-brokers", bootstrap, "--allow-private-targets", "--data-dir", dataDirectory.path]
        let first = try await RunningServer.start(extraArguments: arguments)
        try await DeliveryFaultTests.createWebhook(first.baseURL, "killhook1", receiver.url("/ok-kill"))

        // About 1,000 events/s from 4 writers (batches of 10) until serve is killed.
        let acknowledged = Locked<Set<String>>([])
        let writers = (0..<4).map { writer in
            Task {
                var batch = 0
                while !Task.isCancelled {
                    let ids = (0..<10).map { "kill-\(writer)-\(batch)-\($0)" }
                    batch += 1
                    let answer = await Self.post(first.baseURL, ids: ids)
                    if (200..<300).contains(answer.status) { acknowledged.withLock { $0.formUnion(ids) } }
                    if answer.status == 0 { return }
                    try? await Task.sleep(for: .milliseconds(40))
                }
            }
        }
        // Kill once deliveries are flowing and plenty is acknowledged (on a
        // 2-core machine running the whole suite, that can take minutes).
        let deadline = ContinuousClock.now + .seconds(240)
        while (acknowledged.withLock { $0.count } < 2000 || receiver.requests("/ok-kill").count < 500), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await first.process.stop(SIGKILL) == SIGKILL)
        for writer in writers { writer.cancel() }
        for writer in writers { await writer.value }
        // What may be delivered twice: every record not committed at the kill,
        // read from Kafka while serve is dead, so the count is exact. Both
        // groups count: the webhook dispatcher's on .acr, and the retry
        // dispatcher's on the tiers (deliveries deferred by a full lane). One
        // event can have an uncommitted record in each, and then come twice.
        let uncommitted = try await Self.uncommittedRecords(
            bootstrap: bootstrap, groups: ["registry-events.webhooks", "registry-events.retry"])
        let expected = acknowledged.withLock { $0 }
        #expect(expected.count >= 2000)

        let second = try await RunningServer.start(extraArguments: arguments)
        defer { second.process.terminateQuietly() }
        try await Self.waitForAll(expected, at: "/ok-kill", receiver, limit: .seconds(180))
        let received = Self.receivedIDs(receiver, "/ok-kill")
        let missing = expected.subtracting(received)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events lost, e.g. \(missing.prefix(5))")
        let duplicates = received.count - Set(received).count
        print("kill -9: \(expected.count) acknowledged, \(received.count) deliveries, \(duplicates) duplicates, \(uncommitted) records uncommitted")
        #expect(duplicates <= uncommitted, "duplicates come only from records not committed at the kill")
    }

    @Test func aBrokerFrozenFor20SecondsGets503sInTimeAndLosesNothingAcknowledged() async throws {
        let (broker, bootstrap) = try await Self.startBroker()
        defer {
            kill(broker.processIdentifierForCleanup, SIGCONT)
            broker.terminateQuietly()
        }
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--kafka-brokers", bootstrap, "--allow-private-targets", "--kafka-message-timeout", "5",
        ])
        defer { server.process.terminateQuietly() }
        try await DeliveryFaultTests.createWebhook(server.baseURL, "freezehk1", receiver.url("/ok-freeze"))

        let acknowledged = Locked<Set<String>>([])
        let answers = Locked<[(status: Int, retryAfter: String?, took: Duration, frozen: Bool)]>([])
        let frozen = Atomic<Bool>(false)
        let writer = Task {
            var batch = 0
            while !Task.isCancelled {
                let ids = (0..<5).map { "freeze-\(batch)-\($0)" }
                batch += 1
                let wasFrozen = frozen.load(ordering: .relaxed)
                let answer = await Self.post(server.baseURL, ids: ids)
                answers.withLock { $0.append((answer.status, answer.retryAfter, answer.took, wasFrozen)) }
                if (200..<300).contains(answer.status) { acknowledged.withLock { $0.formUnion(ids) } }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let warmUp = ContinuousClock.now + .seconds(30)
        while receiver.requests("/ok-freeze").count < 20, ContinuousClock.now < warmUp { try await Task.sleep(for: .milliseconds(50)) }

        kill(broker.processIdentifierForCleanup, SIGSTOP)
        frozen.store(true, ordering: .relaxed)
        try await Task.sleep(for: .seconds(20))  // the fault itself lasts 20 s; nothing waits on it
        frozen.store(false, ordering: .relaxed)
        kill(broker.processIdentifierForCleanup, SIGCONT)
        let thawed = ContinuousClock.now + .seconds(60)
        while (answers.withLock { $0.suffix(3).allSatisfy { (200..<300).contains($0.status) } } == false), ContinuousClock.now < thawed {
            try await Task.sleep(for: .milliseconds(100))
        }
        writer.cancel()
        await writer.value

        let duringFreeze = answers.withLock { $0.filter(\.frozen) }
        #expect(!duringFreeze.isEmpty)
        for answer in duringFreeze where !(200..<300).contains(answer.status) {
            #expect(answer.status == 503, "while frozen: 503, got \(answer.status)")
            #expect(answer.retryAfter != nil, "503 carries Retry-After")
        }
        let slowest = duringFreeze.map(\.took).max() ?? .zero
        // The message timeout is 5 s: an answer never hangs past it (generous margin for a loaded machine).
        #expect(slowest < .seconds(20), "an ingest request hung \(slowest) while the broker was frozen")
        #expect(duringFreeze.contains { $0.status == 503 }, "a frozen broker acknowledges nothing")

        let expected = acknowledged.withLock { $0 }
        try await Self.waitForAll(expected, at: "/ok-freeze", receiver, limit: .seconds(120))
        let missing = expected.subtracting(Self.receivedIDs(receiver, "/ok-freeze"))
        #expect(missing.isEmpty, "\(missing.count) acknowledged events lost after the thaw, e.g. \(missing.prefix(5))")
    }
}
