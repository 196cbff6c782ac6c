import Foundation
import TestSupport
import Testing

/// The real binary, on loopback, with real HTTP and real Kafka tools.
@Suite("regevents serve, end to end", .machineHeavy, .serialized)
struct ServeEndToEndTests {
    @Test func serveStartsOnTheEmbeddedClusterAndSaysSo() async throws {
        let server = try await RunningServer.start()
        let embeddedLine = try await server.process.waitForLine(containing: "embedded Kafka")
        #expect(embeddedLine.contains("volatile"))
        #expect(embeddedLine.contains("--kafka-brokers"))
        #expect(server.process.output.filter { $0.contains("embedded Kafka") }.count == 1)

        let info = try await httpGet(server.baseURL + "/v1/info")
        #expect(info.status == 200)
        let body = try jsonObject(info.body)
        let kafka = try #require(body["kafka"] as? [String: Any])
        #expect(kafka["bootstrapServers"] as? String == server.bootstrapServers)
        #expect(kafka["embedded"] as? Bool == true)
        #expect((body["topics"] as? [String: Any])?["acr"] as? String == "registry-events.acr")
        #expect(body["version"] is String)

        #expect(try await httpGet(server.baseURL + "/healthz").status == 200)
        #expect(try await httpGet(server.baseURL + "/readyz").status == 200)
        let missing = try await httpGet(server.baseURL + "/v1/nothing-here")
        #expect(missing.status == 404)
        #expect((try jsonObject(missing.body)["error"] as? [String: Any])?["code"] as? String == "NotFound")

        let status = try await server.process.stop(SIGTERM)
        #expect(status == 0)
        #expect(server.process.standardError.contains("Fatal error") == false)
    }

    @Test func kcatTailAndTopicsSeeTheSameRecords() async throws {
        let server = try await RunningServer.start()
        defer { server.process.terminateQuietly() }

        // kcat sees every topic the server created.
        let listing = try await runTool("kcat", ["-L", "-b", server.bootstrapServers])
        #expect(listing.status == 0)
        for topic in ["registry-events.acr", "registry-events.cloudevents", "registry-events.deliveries",
                      "registry-events.deadletter", "registry-events.retry.10s", "registry-events.retry.12h"] {
            #expect(listing.output.contains("topic \"\(topic)\" with 6 partitions"), "kcat -L lacks \(topic)")
        }

        // A record produced by kcat shows up in regevents tail, parsed.
        let produced = try await runTool(
            "kcat", ["-P", "-b", server.bootstrapServers, "-t", "registry-events.acr", "-k", "myregistry/hello-world", "-H", "action=push"],
            input: #"{"id":"kcat-1","action":"push"}"# + "\n")
        #expect(produced.status == 0, "kcat -P failed: \(produced.output)")
        let tail = try await RegeventsProcess.run(["tail", "--server", server.baseURL, "--from-beginning", "--max", "1"])
        #expect(tail.status == 0, "tail failed: \(tail.errors)")
        let line = try #require(tail.output.first)
        let record = try jsonObject(Data(line.utf8))
        #expect(record["key"] as? String == "myregistry/hello-world")
        #expect(record["topic"] as? String == "registry-events.acr")
        #expect((record["headers"] as? [String: Any])?["action"] as? String == "push")
        #expect((record["value"] as? [String: Any])?["id"] as? String == "kcat-1")

        // --key-prefix filters, --exit-at-end stops at the end.
        let filtered = try await RegeventsProcess.run([
            "tail", "--server", server.baseURL, "--from-beginning", "--exit-at-end", "--key-prefix", "other/",
        ])
        #expect(filtered.status == 0)
        #expect(filtered.output.isEmpty)

        // topics counts it and reports our groups' lag.
        let topics = try await RegeventsProcess.run(["topics", "--server", server.baseURL, "--output", "json"])
        #expect(topics.status == 0, "topics failed: \(topics.errors)")
        let report = try jsonObject(Data(topics.output.joined(separator: "\n").utf8))
        let entries = try #require(report["topics"] as? [[String: Any]])
        #expect(entries.count == 15)
        let acr = try #require(entries.first { $0["name"] as? String == "registry-events.acr" })
        #expect(acr["records"] as? Int == 1)
        let groups = try #require(acr["consumerGroups"] as? [[String: Any]])
        #expect(groups.first?["group"] as? String == "registry-events.webhooks")
        // 1 until the webhook dispatcher has read (and skipped) it, then 0.
        #expect([0, 1].contains(groups.first?["lag"] as? Int ?? -1))
        var lag = groups.first?["lag"] as? Int
        let deadline = ContinuousClock.now + .seconds(30)
        while lag != 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            let again = try await RegeventsProcess.run(["topics", "--server", server.baseURL, "--output", "json"])
            let entries = (try jsonObject(Data(again.output.joined(separator: "\n").utf8)))["topics"] as? [[String: Any]] ?? []
            let acrGroups = entries.first { $0["name"] as? String == "registry-events.acr" }?["consumerGroups"] as? [[String: Any]]
            lag = acrGroups?.first?["lag"] as? Int
        }
        #expect(lag == 0, "the dispatcher commits past a record no webhook wants")

        let table = try await RegeventsProcess.run(["topics", "--server", server.baseURL, "--output", "table"])
        #expect(table.output.first?.hasPrefix("TOPIC") == true)
        #expect(table.output.contains { $0.hasPrefix("registry-events.acr ") && $0.contains("registry-events.webhooks") })

        // A record regevents tail reads from kcat's consumer side too.
        let consumed = try await runTool("kcat", ["-C", "-b", server.bootstrapServers, "-t", "registry-events.acr", "-c", "1", "-e", "-f", "%k %s\n"])
        #expect(consumed.output.contains(#"myregistry/hello-world {"id":"kcat-1","action":"push"}"#))
    }

    @Test func directKafkaModeOfTopicsAndTailNeedsNoServer() async throws {
        let broker = try RegeventsProcess(["broker"])
        defer { broker.terminateQuietly() }
        let line = try await broker.waitForLine(containing: "embedded Kafka broker")
        let bootstrap = String(line.split(separator: " ").last ?? "")
        let produced = try await runTool(
            "kcat", ["-P", "-b", bootstrap, "-t", "registry-events.deadletter", "-k", "r/x"], input: "plain text\n")
        #expect(produced.status == 0)
        let tail = try await RegeventsProcess.run([
            "tail", "--kafka-brokers", bootstrap, "--topic", "deadletter", "--from-beginning", "--exit-at-end",
        ])
        #expect(tail.status == 0, "\(tail.errors)")
        #expect(tail.output.count == 1)
        #expect(tail.output.first?.contains(#""value":"plain text""#) == true)
        let topics = try await RegeventsProcess.run(["topics", "--kafka-brokers", bootstrap, "--output", "json"])
        #expect(topics.status == 0, "\(topics.errors)")
        #expect(topics.output.joined().contains("registry-events.retry.6h"))
        #expect(try await broker.stop(SIGINT) == 0)
    }

    @Test func serveRestartsAgainstABrokerThatStaysUp() async throws {
        let broker = try RegeventsProcess(["broker", "--partitions", "3"])
        defer { broker.terminateQuietly() }
        let line = try await broker.waitForLine(containing: "embedded Kafka broker")
        let bootstrap = String(line.split(separator: " ").last ?? "")

        let first = try await RunningServer.start(extraArguments: ["--kafka-brokers", bootstrap])
        #expect(first.bootstrapServers == bootstrap)
        let info = try jsonObject(try await httpGet(first.baseURL + "/v1/info").body)
        #expect((info["kafka"] as? [String: Any])?["embedded"] as? Bool == false)
        #expect(try await first.process.stop(SIGINT) == 0)

        // While serve is down, records keep arriving in Kafka.
        for index in 0..<3 {
            let produced = try await runTool(
                "kcat", ["-P", "-b", bootstrap, "-t", "registry-events.acr", "-k", "reg/repo"], input: "{\"n\":\(index)}\n")
            #expect(produced.status == 0)
        }

        let second = try await RunningServer.start(extraArguments: ["--kafka-brokers", bootstrap])
        defer { second.process.terminateQuietly() }
        let tail = try await RegeventsProcess.run(["tail", "--server", second.baseURL, "--from-beginning", "--exit-at-end"])
        #expect(tail.output.count == 3)
        let topics = try await RegeventsProcess.run(["topics", "--server", second.baseURL, "--output", "json"])
        #expect(topics.output.joined().contains("\"partitions\""))
    }

    @Test func environmentVariablesStandInForFlags() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-env-\(UUID().uuidString)")
        let process = try RegeventsProcess(
            ["serve"],
            environment: [
                "REGEVENTS_LISTEN": "127.0.0.1:0", "REGEVENTS_DATA_DIR": dataDirectory.path,
                "REGEVENTS_TOPIC_PREFIX": "envprefix", "REGEVENTS_PARTITIONS": "2",
            ])
        defer { process.terminateQuietly() }
        let listening = try await process.waitForLine(containing: "listening on http://")
        let baseURL = String(listening[listening.range(of: "http://")!.lowerBound...])
        let info = try jsonObject(try await httpGet(baseURL + "/v1/info").body)
        #expect((info["topics"] as? [String: Any])?["acr"] as? String == "envprefix.acr")
        #expect(FileManager.default.fileExists(atPath: dataDirectory.path))
    }
}

extension RegeventsProcess {
    func terminateQuietly() {
        if isRunning { kill(processIdentifierForCleanup, SIGKILL) }
    }
}
