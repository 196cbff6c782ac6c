import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import TestSupport
import Testing

/// Three `serve` nodes on one `regevents broker` and one PostgreSQL, as
/// deploy/ runs them: the control plane is shared, the work is spread by
/// Kafka's consumer groups (cooperative-sticky).
@Suite("Several nodes on one Kafka and one PostgreSQL", .machineHeavy, .serialized, .enabled(if: PostgresCluster.shouldRun))
struct MultiNodeTests {
    /// The broker, the database and the nodes of one test.
    final class Cluster: Sendable {
        let broker: RegeventsProcess
        let bootstrap: String
        let database: PostgresCluster
        let databaseURL: String
        let nodes: Mutex<[RunningServer?]>
        let extraArguments: [String]

        init(broker: RegeventsProcess, bootstrap: String, database: PostgresCluster, databaseURL: String, extraArguments: [String]) {
            self.broker = broker
            self.bootstrap = bootstrap
            self.database = database
            self.databaseURL = databaseURL
            self.extraArguments = extraArguments
            nodes = Mutex([])
        }

        var arguments: [String] {
            // A 6 s session (heartbeats every 1.5 s) halves the mock's rebalance waits.
            ["--kafka-brokers", bootstrap, "--database-url", databaseURL, "--allow-private-targets",
             "--kafka-property", "session.timeout.ms=6000"] + extraArguments
        }

        func node(_ index: Int) -> RunningServer { nodes.withLock { $0[index]! } }

        /// Takes node `index` out of the load balancer's list, to stop it.
        func remove(_ index: Int) -> RunningServer {
            nodes.withLock { nodes in
                defer { nodes[index] = nil }
                return nodes[index]!
            }
        }

        /// Starts node `index` (again) and waits until it is ready.
        @discardableResult
        func start(_ index: Int) async throws -> RunningServer {
            // Info level: the rebalance lines say when the group has settled.
            let node = try await RunningServer.start(extraArguments: arguments, environment: ["REGEVENTS_LOG_LEVEL": "info"])
            try await waitUntilReady(node)
            nodes.withLock { nodes in
                while nodes.count <= index { nodes.append(nil) }
                nodes[index] = node
            }
            return node
        }

        func stopAll() async {
            for node in nodes.withLock({ $0 }) { node?.process.terminateQuietly() }
            broker.terminateQuietly()
            await database.stop()
        }
    }

    static func withCluster(nodes count: Int = 3, extraArguments: [String] = [], _ body: (Cluster) async throws -> Void) async throws {
        let (broker, bootstrap) = try await KafkaFaultTests.startBroker()
        let database = try await PostgresCluster.start()
        let cluster = Cluster(
            broker: broker, bootstrap: bootstrap, database: database, databaseURL: try await database.createDatabase(),
            extraArguments: extraArguments)
        do {
            // One after another: three migrators at once would serialize anyway.
            for index in 0..<count { try await cluster.start(index) }
            try await waitUntilSettled(cluster, nodes: count)
            try await body(cluster)
        } catch {
            await cluster.stopAll()
            throw error
        }
        await cluster.stopAll()
    }

    /// Waits until every node holds partitions of `.acr` and `.cloudevents`
    /// and no rebalance line has appeared for 3 s: the groups have settled.
    static func waitUntilSettled(_ cluster: Cluster, nodes count: Int, limit: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + limit
        var lastChange = ContinuousClock.now
        var lastCount = -1
        while ContinuousClock.now < deadline {
            let logs = (0..<count).map { cluster.node($0).process.standardError }
            let rebalances = logs.map { $0.components(separatedBy: "Consumer group rebalance").count }.reduce(0, +)
            if rebalances != lastCount {
                lastCount = rebalances
                lastChange = ContinuousClock.now
            }
            let everyNodeHolds = logs.allSatisfy { log in
                ["registry-events.acr[", "registry-events.cloudevents["].allSatisfy { topic in
                    log.split(separator: "\n").contains { $0.contains("event=assigned") && $0.contains(topic) }
                }
            }
            if everyNodeHolds && ContinuousClock.now - lastChange > .seconds(3) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func waitUntilReady(_ node: RunningServer, limit: Duration = .seconds(90)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if (try? await API.send(.GET, "\(node.baseURL)/readyz"))?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ProcessFailure("\(node.baseURL) not ready within \(limit)")
    }

    /// Webhook deliveries a node made, from its /metrics.
    static func delivered(by node: RunningServer, kind: String = "webhook") async throws -> Int {
        let text = try await API.send(.GET, "\(node.baseURL)/metrics").text
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("regevents_delivery_attempts_total{") && $0.contains("kind=\"\(kind)\"") && $0.contains("result=\"delivered\"") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }

    /// Events for many repositories: their keys spread over every partition.
    static func events(_ prefix: String, count: Int) -> [[String: Any]] {
        (0..<count).map { DeliveryFaultTests.event("\(prefix)-\($0)", repository: "repo\($0)") }
    }

    static func post(_ node: RunningServer, _ events: [[String: Any]]) async throws {
        let result = try await API.send(.POST, "\(node.baseURL)/v1/registries/myregistry/events", json: events)
        guard (200..<300).contains(result.status) else { throw ProcessFailure("ingest: \(result.status) \(result.text)") }
    }

    @Test func aWebhookCreatedThroughOneNodeIsDeliveredByTheOthersAndItsLogIsShared() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster { cluster in
            let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2))
            try await DeliveryFaultTests.createWebhook(a.baseURL, "shared1", receiver.url("/shared"))
            // Every node uses it for every event ingested after its
            // creation: events ingested through B right away are delivered,
            // whichever node owns their partition (its directory catches up
            // with the store before matching).
            try await Self.post(b, Self.events("multi", count: 60))
            try await KafkaFaultTests.waitForAll(
                Set((0..<60).map { "multi-\($0)" }), at: "/shared", receiver, limit: .seconds(60))
            #expect(Set(KafkaFaultTests.receivedIDs(receiver, "/shared")).count == 60)
            // Each node delivers its partitions' share once the group has
            // spread them (a join settles some seconds after /readyz).
            var byNode = try await [a, b, c].asyncMap { try await Self.delivered(by: $0) }
            var round = 0
            while byNode.contains(0), round < 100 {
                try await Self.post(cluster.node(round % 3), Self.events("spread-\(round)", count: 12))
                round += 1
                try await Task.sleep(for: .milliseconds(500))
                byNode = try await [a, b, c].asyncMap { try await Self.delivered(by: $0) }
            }
            #expect(!byNode.contains(0), "every node delivers its partitions' share: \(byNode)")

            // A ping through B is in list-events read through C.
            let ping = try await API.send(.POST, "\(b.baseURL)/v1/registries/myregistry/webhooks/shared1/ping")
            #expect(ping.status == 200)
            let pingID = try #require(ping.body["id"] as? String)
            var seen = false
            let deadline = ContinuousClock.now + .seconds(30)
            while !seen, ContinuousClock.now < deadline {
                let events = try await API.send(.GET, "\(c.baseURL)/v1/registries/myregistry/webhooks/shared1/events")
                seen = ((events.body["value"] as? [[String: Any]]) ?? []).contains { ($0["id"] as? String) == pingID }
                if !seen { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(seen, "the ping made through B is in C's list-events")

            // Deleted through C: no node delivers to it any more, from the
            // first event ingested after the delete. The marker webhook
            // created after it says when those events were handled.
            #expect(try await API.send(.DELETE, "\(c.baseURL)/v1/registries/myregistry/webhooks/shared1").status == 200)
            try await DeliveryFaultTests.createWebhook(a.baseURL, "marker1", receiver.url("/marker"))
            let before = receiver.requests("/shared").count
            try await Self.post(a, Self.events("after-delete", count: 30))
            try await Self.post(b, Self.events("after-delete-b", count: 30))
            try await KafkaFaultTests.waitForAll(
                Set((0..<30).flatMap { ["after-delete-\($0)", "after-delete-b-\($0)"] }), at: "/marker", receiver, limit: .seconds(60))
            #expect(receiver.requests("/shared").count == before, "a webhook deleted through C is not used by A or B")
        }
    }

    @Test func aSubscriptionValidatedThroughOneNodeDeliversFromTheOthers() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster { cluster in
            let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2))
            let created = try await API.subscribe(
                a.baseURL, "registries/myregistry", "everywhere", ["destination": API.webhook(receiver.url("/eg"))])
            #expect((created["properties"] as? [String: Any])?["provisioningState"] as? String == "Succeeded")
            try await Self.post(b, Self.events("sub", count: 60))
            // Every event, each at least once (a rebalance under load can deliver one twice).
            let distinct = { Set(receiver.deliveries("/eg").flatMap(\.events).compactMap { ($0 as? [String: Any])?["id"] as? String }) }
            let deadline = ContinuousClock.now + .seconds(90)
            while distinct().count < 60, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(distinct().count == 60)
            var fromC = try await Self.delivered(by: c, kind: "subscription")
            var round = 0
            while fromC == 0, round < 100 {
                try await Self.post(cluster.node(round % 3), Self.events("sub-spread-\(round)", count: 12))
                round += 1
                try await Task.sleep(for: .milliseconds(500))
                fromC = try await Self.delivered(by: c, kind: "subscription")
            }
            #expect(fromC > 0, "C delivers its partitions' share")
        }
    }

    @Test func quotaRacesFromTwoNodesEndWithExactlyTheQuota() async throws {
        let receiver = try await EventGridReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster(nodes: 2, extraArguments: ["--webhook-quota", "5", "--subscription-quota", "4"]) { cluster in
            let nodes = [cluster.node(0), cluster.node(1)]
            let webhookAnswers = try await (0..<12).asyncMapConcurrently { index in
                try await API.send(
                    .PUT, "\(nodes[index % 2].baseURL)/v1/registries/myregistry/webhooks/race\(index)",
                    json: ["properties": ["serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]]]
                ).status
            }
            #expect(webhookAnswers.filter { $0 == 201 }.count == 5, "\(webhookAnswers)")
            #expect(webhookAnswers.filter { $0 == 409 }.count == 7, "\(webhookAnswers)")
            let listed = try await API.send(.GET, "\(nodes[1].baseURL)/v1/registries/myregistry/webhooks")
            #expect((listed.body["value"] as? [Any])?.count == 5)

            let subscriptionAnswers = try await (0..<10).asyncMapConcurrently { index in
                try await API.send(
                    .PUT, "\(nodes[index % 2].baseURL)/v1/registries/myregistry/eventSubscriptions/race\(index)",
                    json: ["properties": ["destination": API.webhook(receiver.url("/race"))]]
                ).status
            }
            #expect(subscriptionAnswers.filter { (200..<300).contains($0) }.count == 4, "\(subscriptionAnswers)")
            #expect(subscriptionAnswers.filter { $0 == 409 }.count == 6, "\(subscriptionAnswers)")
        }
    }

    /// A webhook deleted through one node stops the retries pending on every
    /// node: each is skipped with an audit record, none is attempted.
    @Test func aDeletionThroughOneNodeStopsThePendingRetriesOfAll() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster(nodes: 2, extraArguments: ["--webhook-retry-schedule", "10s"]) { cluster in
            let (a, b) = (cluster.node(0), cluster.node(1))
            try await DeliveryFaultTests.createWebhook(a.baseURL, "doomed01", receiver.url("/fail-doomed"))
            // Both nodes own partitions of .acr and of the retry tier.
            var round = 0
            while try await [a, b].asyncMap({ try await Self.attempted(by: $0) }).contains(0) {
                try await Self.post(cluster.node(round % 2), Self.events("doomed-\(round)", count: 10))
                round += 1
                try await Task.sleep(for: .milliseconds(500))
                guard round < 100 else { throw ProcessFailure("a node never attempted a delivery") }
            }
            let posted = round * 10
            try await KafkaFaultTests.waitForAll(
                Set((0..<round).flatMap { r in (0..<10).map { "doomed-\(r)-\($0)" } }), at: "/fail-doomed", receiver, limit: .seconds(30))
            // Every event failed once; its retry is due 10 s later. Deleted now, through B:
            #expect(try await API.send(.DELETE, "\(b.baseURL)/v1/registries/myregistry/webhooks/doomed01").status == 200)
            let attemptsAtDeletion = receiver.requests("/fail-doomed").count
            // Each event's retry is skipped with an audit record; a rebalance
            // under load can make a retry be read (and skipped) twice.
            var skipped: Set<String> = []
            let deadline = ContinuousClock.now + .seconds(90)
            while skipped.count < posted, ContinuousClock.now < deadline {
                let audit = try await RegeventsProcess.run([
                    "tail", "--server", a.baseURL, "--topic", "deliveries", "--from-beginning", "--exit-at-end",
                ])
                skipped = Set(audit.output.filter { $0.contains("the webhook was deleted") }.compactMap { line in
                    line.firstMatch(of: /doomed-[0-9]+-[0-9]+/).map { String($0.output) }
                })
                if skipped.count < posted { try await Task.sleep(for: .milliseconds(500)) }
            }
            #expect(skipped.count == posted, "every pending retry is skipped with an audit record")
            #expect(receiver.requests("/fail-doomed").count == attemptsAtDeletion, "no retry is attempted after the deletion")
        }
    }

    /// Webhook attempts (any result) a node made, from its /metrics.
    static func attempted(by node: RunningServer) async throws -> Int {
        let text = try await API.send(.GET, "\(node.baseURL)/metrics").text
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("regevents_delivery_attempts_total{") && $0.contains("kind=\"webhook\"") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }

    /// Waits for every acknowledged event at `path` and expects none missing; every delivery's id.
    static func expectNothingLost(_ acknowledged: Set<String>, at path: String, _ receiver: WebhookReceiver) async throws -> [String] {
        try await KafkaFaultTests.waitForAll(acknowledged, at: path, receiver, limit: .seconds(180))
        let received = KafkaFaultTests.receivedIDs(receiver, path)
        let missing = acknowledged.subtracting(received)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events lost, e.g. \(missing.prefix(5))")
        return received
    }

    /// Load from four writers through every node until `stop`, over ten
    /// repositories (so every partition, and every node, gets its share);
    /// what was acknowledged.
    static func load(_ cluster: Cluster, prefix: String, until stop: Locked<Bool>) -> Task<Set<String>, Never> {
        Task {
            let acknowledged = Locked<Set<String>>([])
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var batch = 0
                        while !stop.withLock({ $0 }) {
                            let ids = (0..<10).map { "\(prefix)-\(writer)-\(batch)-\($0)" }
                            batch += 1
                            // Round-robin over the nodes alive, as a load balancer would.
                            let nodes = cluster.nodes.withLock { $0.compactMap { $0 } }
                            let node = nodes[batch % nodes.count]
                            let answer = await KafkaFaultTests.post(node.baseURL, ids: ids, spread: true)
                            if (200..<300).contains(answer.status) { acknowledged.withLock { $0.formUnion(ids) } }
                            try? await Task.sleep(for: .milliseconds(80))  // ~500 events/s from four writers
                        }
                    }
                }
            }
            return acknowledged.withLock { $0 }
        }
    }

    @Test func killMinus9OfOneNodeUnderLoadLosesNothingAcknowledged() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster { cluster in
            try await DeliveryFaultTests.createWebhook(cluster.node(0).baseURL, "killhook1", receiver.url("/kill"))
            let stop = Locked(false)
            let writers = Self.load(cluster, prefix: "k9", until: stop)
            while receiver.requests("/kill").count < 1500 { try await Task.sleep(for: .milliseconds(100)) }
            // The node killed was delivering its share: its records in flight are what must not be lost.
            let victim = cluster.node(2)
            let deadline = ContinuousClock.now + .seconds(60)
            while try await Self.delivered(by: victim) == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await Self.delivered(by: victim) > 0, "node 2 delivered nothing before the kill:\n\(Self.diagnostics(of: victim))")
            #expect(try await cluster.remove(2).process.stop(SIGKILL) == SIGKILL)
            let killedAt = ContinuousClock.now
            let deliveredAtKill = receiver.requests("/kill").count
            // The load goes on until the two survivors delivered plenty more.
            let moreBy = ContinuousClock.now + .seconds(120)
            while receiver.requests("/kill").count < deliveredAtKill + 1500, ContinuousClock.now < moreBy {
                try await Task.sleep(for: .milliseconds(100))
            }
            stop.withLock { $0 = true }
            let acknowledged = await writers.value
            let received = try await Self.expectNothingLost(acknowledged, at: "/kill", receiver)
            let duplicates = received.count - Set(received).count
            for index in 0..<2 {
                let log = cluster.node(index).process.standardError
                let lines = log.split(separator: "\n")
                print(
                    "node \(index): \(lines.filter { $0.contains("partitions lost") }.count) assignments lost, \(lines.filter { $0.contains("Commit failed") }.count) failed commits"
                )
                for line in lines where line.contains("lost") || line.contains("Commit failed") { print("  \(line.prefix(300))") }
            }
            print(
                "multi-node kill -9: \(acknowledged.count) acknowledged, \(received.count) deliveries (\(deliveredAtKill) before the kill), \(duplicates) duplicates, all delivered \(ContinuousClock.now - killedAt) after the kill"
            )
        }
    }

    @Test func aNodeJoiningUnderLoadTakesItsShareOfTheDeliveries() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster(nodes: 2) { cluster in
            try await DeliveryFaultTests.createWebhook(cluster.node(0).baseURL, "joinhook1", receiver.url("/join"))
            let stop = Locked(false)
            let writers = Self.load(cluster, prefix: "join", until: stop)
            while receiver.requests("/join").count < 500 { try await Task.sleep(for: .milliseconds(100)) }
            let joining = try await cluster.start(2)
            // Scaling out under load: the new node gets partitions in the
            // group's next rounds and delivers from them.
            let deadline = ContinuousClock.now + .seconds(90)
            while try await Self.delivered(by: joining) == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            let delivered = try await Self.delivered(by: joining)
            stop.withLock { $0 = true }
            let acknowledged = await writers.value
            #expect(delivered > 0, "the node that joined delivered nothing; its log:\n\(Self.diagnostics(of: joining))")
            _ = try await Self.expectNothingLost(acknowledged, at: "/join", receiver)
        }
    }

    /// A node's rebalance, commit and trouble lines, for a failure message.
    static func diagnostics(of node: RunningServer) -> String {
        node.process.standardError.split(separator: "\n")
            .filter { line in ["rebalance", "Commit", "lost", "error", "warning"].contains { line.contains($0) } }
            .suffix(60).joined(separator: "\n")
    }

    @Test func aRollingRestartOfEveryNodeUnderLoadLosesNothingAcknowledged() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await Self.withCluster { cluster in
            try await DeliveryFaultTests.createWebhook(cluster.node(0).baseURL, "rollhook1", receiver.url("/roll"))
            let stop = Locked(false)
            let writers = Self.load(cluster, prefix: "roll", until: stop)
            while receiver.requests("/roll").count < 500 { try await Task.sleep(for: .milliseconds(100)) }
            for index in 0..<3 {
                #expect(try await cluster.remove(index).process.stop(SIGTERM, limit: .seconds(60)) == 0, "node \(index) exits cleanly")
                try await cluster.start(index)
            }
            stop.withLock { $0 = true }
            let acknowledged = await writers.value
            let received = try await Self.expectNothingLost(acknowledged, at: "/roll", receiver)
            print("rolling restart: \(acknowledged.count) acknowledged, \(received.count) deliveries, \(received.count - Set(received).count) duplicates")
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension Range where Bound == Int {
    /// `transform` of every index, all at once; results in index order.
    func asyncMapConcurrently<T: Sendable>(_ transform: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for index in self { group.addTask { (index, try await transform(index)) } }
            var results: [(Int, T)] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
