import Foundation
import TestSupport
import Testing

/// A real CNCF Distribution registry (Debian's `docker-registry`) notifying a
/// real `regevents serve`, images pushed with skopeo, read back with kcat and
/// the CloudEvents Python SDK.
@Suite("A real registry into both topics", .machineHeavy, .serialized)
struct RegistryEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func pushesARetagAChartAndADeleteLandExactlyOnceInBothSchemas() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--ingest-token", "e2e-token", "--location", "westeurope", "--allow-private-targets",
        ])
        defer { server.process.terminateQuietly() }
        // An ACR webhook hears the registry's pushes, chart pushes and deletes, with its custom header;
        // an opt-in one hears the tag events, which the first never sees.
        let webhook = try await RegeventsProcess.run([
            "webhook", "create", "--server", server.baseURL, "--registry", "myregistry", "--name", "registry1",
            "--uri", receiver.url("/registry"), "--actions", "push", "delete", "chart_push", "--headers", "X-Token=reg-e2e",
        ])
        #expect(webhook.status == 0, "\(webhook.errors)")
        let tagWatch = try await RegeventsProcess.run([
            "webhook", "create", "--server", server.baseURL, "--registry", "myregistry", "--name", "tagwatch1",
            "--uri", receiver.url("/tags"), "--actions", "tag_added", "tag_removed",
        ])
        #expect(tagWatch.status == 0, "\(tagWatch.errors)")
        let work = URL(fileURLWithPath: "/tmp").appendingPathComponent("regevents-registry-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let port = try freePort()
        _ = try await scenario(["start", work.path, port, "\(server.baseURL)/v1/registries/myregistry/notifications", "e2e-token"])
        do {
            try await pushRetagChartAndDelete(server: server, receiver: receiver, work: work, port: port)
        } catch {
            _ = try? await scenario(["stop", work.path])
            try? FileManager.default.removeItem(at: work)
            throw error
        }
        _ = try? await scenario(["stop", work.path])
        try? FileManager.default.removeItem(at: work)
    }

    /// The body of the test above, against the registry it started.
    func pushRetagChartAndDelete(server: RunningServer, receiver: WebhookReceiver, work: URL, port: String) async throws {
        let first = try await scenario(["push-image", work.path, port, "library/hello", "v1"])
        _ = try await scenario(["push-image", work.path, port, "library/hello", "v2"])
        let docker = try await scenario(["push-image", work.path, port, "team/world", "1.0", "v2s2"])
        // The chart's own name (in its config blob) differs from the repository's.
        let chart = try await scenario(["push-chart", work.path, port, "charts/mychart", "0.1.0", "wordpress"])
        let helloDigest = try #require(first["digest"])
        // A promotion: the digest of v1 copied under prod, nothing pushed.
        let retag = try await scenario(["retag", work.path, port, "library/hello", "v1", "prod"])
        #expect(retag["digest"] == helloDigest)
        // Distribution 2.8 has no tag-only delete: deleting prod deletes the manifest, and every tag it had.
        _ = try await scenario(["delete-tag", work.path, port, "library/hello", "prod"])

        // Eleven events: four image pushes (one per tag), two of them also a
        // tag_added (v2 and prod name a digest the repository had), one chart,
        // one delete naming its three tags, and the three tags removed with it.
        let acr = try await readAll(server.bootstrapServers, "registry-events.acr", count: 11)
        #expect(acr.count == 11, "\(acr.map(\.payload))")
        let bodies = try acr.map { try jsonObject(Data($0.payload.utf8)) }
        func body(_ action: String, _ repository: String, _ tag: String?) -> [String: Any]? {
            bodies.first {
                let target = $0["target"] as? [String: Any]
                return $0["action"] as? String == action && target?["repository"] as? String == repository
                    && target?["tag"] as? String == tag
            }
        }
        let v1 = try #require(body("push", "library/hello", "v1"))
        let v1Target = try #require(v1["target"] as? [String: Any])
        #expect(v1Target["digest"] as? String == helloDigest)
        #expect(v1Target["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect((v1["request"] as? [String: Any])?["method"] as? String == "PUT")
        #expect(Set(v1.keys) == ["id", "timestamp", "action", "target", "request"])
        let v2Target = try #require(body("push", "library/hello", "v2")?["target"] as? [String: Any])
        #expect(v2Target["digest"] as? String == helloDigest)
        #expect(body("push", "library/hello", "prod") != nil, "a retag is still ACR's push")
        for tag in ["v2", "prod"] {
            let added = try #require(body("tag_added", "library/hello", tag)?["target"] as? [String: Any], "tag_added \(tag)")
            #expect(added["digest"] as? String == helloDigest)
        }
        #expect(body("tag_added", "library/hello", "v1") == nil, "the digest's first tag is a push only")
        let world = try #require(body("push", "team/world", "1.0")?["target"] as? [String: Any])
        #expect(world["digest"] as? String == docker["digest"])
        #expect(world["mediaType"] as? String == "application/vnd.docker.distribution.manifest.v2+json")
        let chartTarget = try #require(body("chart_push", "charts/mychart", "0.1.0")?["target"] as? [String: Any])
        #expect(chartTarget["digest"] as? String == chart["digest"])
        #expect(chartTarget["name"] as? String == "wordpress", "the name comes from the chart's config blob")
        #expect(chartTarget["version"] as? String == "0.1.0")
        let deleted = try #require(body("delete", "library/hello", nil)?["target"] as? [String: Any])
        #expect(deleted["digest"] as? String == helloDigest)
        #expect(deleted["tags"] as? [String] == ["prod", "v1", "v2"], "the tags the manifest had, from the tag index")
        for tag in ["v1", "v2", "prod"] {
            let removed = try #require(body("tag_removed", "library/hello", tag)?["target"] as? [String: Any], "tag_removed \(tag)")
            #expect(removed["digest"] as? String == helloDigest)
        }
        for record in acr {
            #expect(record.headers["registry"] == "myregistry")
            #expect(record.headers["content-type"] == "application/json")
            #expect(record.key?.hasPrefix("myregistry/") == true)
        }

        // The same eleven facts as CloudEvents, decoded by the CloudEvents SDK.
        let cloudEvents = try await readAll(server.bootstrapServers, "registry-events.cloudevents", count: 11)
        #expect(cloudEvents.count == 11)
        let decoded = try await decodeCloudEvents(server.bootstrapServers, "registry-events.cloudevents")
        #expect(decoded.count == 11)
        let subjects = Set(decoded.compactMap { ($0["attributes"] as? [String: Any])?["subject"] as? String })
        #expect(subjects == [
            "library/hello:v1", "library/hello:v2", "library/hello:prod", "team/world:1.0", "charts/mychart:0.1.0", "library/hello",
        ])
        let types = decoded.compactMap { ($0["attributes"] as? [String: Any])?["type"] as? String }
        #expect(Dictionary(grouping: types, by: { $0 }).mapValues(\.count) == [
            "Microsoft.ContainerRegistry.ChartPushed": 1, "Microsoft.ContainerRegistry.ImageDeleted": 1,
            "Microsoft.ContainerRegistry.ImagePushed": 4, "RegistryEvents.ContainerRegistry.TagAdded": 2,
            "RegistryEvents.ContainerRegistry.TagRemoved": 3,
        ])
        for event in decoded {
            let attributes = try #require(event["attributes"] as? [String: Any])
            #expect(attributes["source"] as? String == "/registries/myregistry")
            #expect(attributes["specversion"] as? String == "1.0")
            #expect((event["data"] as? [String: Any])?["location"] as? String == "westeurope")
            #expect(event["mode"] as? String == "structured")
        }

        // The ACR webhook received exactly the ACR actions' bodies, with its
        // header; the opt-in webhook exactly the tag events.
        let acrActions: Set<String> = ["push", "delete", "chart_push"]
        let delivered = try await receiver.waitFor("/registry", count: 6)
        #expect(delivered.count == 6)
        #expect(Set(delivered.map(\.body)) == Set(zip(acr, bodies).filter { acrActions.contains($0.1["action"] as? String ?? "") }.map(\.0.payload)))
        #expect(delivered.allSatisfy { $0.headers["x-token"] == "reg-e2e" && $0.headers["content-type"] == "application/json" })
        let tagEvents = try await receiver.waitFor("/tags", count: 5)
        let tagActions = tagEvents.compactMap { (try? jsonObject(Data($0.body.utf8)))?["action"] as? String }
        #expect(tagActions.sorted() == ["tag_added", "tag_added", "tag_removed", "tag_removed", "tag_removed"])

        // Quay says only "team/world:1.0 was pushed": a server looking tags up
        // in this registry (started now that it listens) gets the digest
        // Distribution announced, from the real registry's HEAD.
        let quayNode = try await RunningServer.start(extraArguments: ["--quay-registry-url", "http://127.0.0.1:\(port)"])
        defer { quayNode.process.terminateQuietly() }
        let quay = try await API.send(
            .POST, "\(quayNode.baseURL)/v1/registries/myregistry/quay",
            json: ["repository": "team/world", "namespace": "team", "name": "world", "docker_url": "127.0.0.1:\(port)/team/world", "updated_tags": ["1.0"]])
        #expect(quay.status == 200 && quay.body["produced"] as? Int == 1, "\(quay.text)")
        let quayRecords = try await readAll(quayNode.bootstrapServers, "registry-events.acr", count: 1)
        let looked = try #require(try quayRecords.first.map { try jsonObject(Data($0.payload.utf8)) }?["target"] as? [String: Any])
        #expect(looked["repository"] as? String == "team/world" && looked["digest"] as? String == docker["digest"], "\(looked)")
        #expect(looked["mediaType"] as? String == "application/vnd.docker.distribution.manifest.v2+json")
        #expect(looked["size"] as? Int == world["size"] as? Int)

        // Nothing arrives twice: the registry's notifications are all in, and the counts hold.
        _ = try await scenario(["stop", work.path])
        let again = try await readAll(server.bootstrapServers, "registry-events.acr", count: 12, limit: .seconds(3))
        #expect(again.count == 11)
        let ids = Set(bodies.compactMap { $0["id"] as? String })
        #expect(ids.count == 11)
        #expect(receiver.requests("/registry").count == 6, "each event delivered once")
        #expect(receiver.requests("/tags").count == 5)
    }

    @Test func binaryModeRecordsAreReadBackByTheCloudEventsSDK() async throws {
        let server = try await RunningServer.start(extraArguments: ["--cloudevents-mode", "binary"])
        defer { server.process.terminateQuietly() }
        let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"
        let published = try await RegeventsProcess.run([
            "publish", "--server", server.baseURL, "--registry", "myregistry", "--action", "push",
            "--repository", "library/hello", "--tag", "v9", "--digest", digest, "--id", "bin-1",
        ])
        #expect(published.status == 0, "\(published.errors)")
        #expect(published.output.first?.contains("bin-1") == true)
        _ = try await readAll(server.bootstrapServers, "registry-events.cloudevents", count: 1)
        let decoded = try await decodeCloudEvents(server.bootstrapServers, "registry-events.cloudevents")
        #expect(decoded.count == 1)
        let event = try #require(decoded.first)
        #expect(event["mode"] as? String == "binary")
        let attributes = try #require(event["attributes"] as? [String: Any])
        #expect(attributes["type"] as? String == "Microsoft.ContainerRegistry.ImagePushed")
        #expect(attributes["subject"] as? String == "library/hello:v9")
        #expect(attributes["datacontenttype"] as? String == "application/json")
        #expect((event["data"] as? [String: Any])?["id"] as? String == "bin-1")
    }

    @Test func publishFailuresPrintTheServersMessage() async throws {
        let server = try await RunningServer.start()
        defer { server.process.terminateQuietly() }
        let result = try await RegeventsProcess.run([
            "publish", "--server", server.baseURL, "--registry", "myregistry", "--action", "pushed", "--repository", "hello",
        ])
        #expect(result.status != 0)
        #expect(result.errors.contains("$.action"), "\(result.errors)")
    }

    // MARK: Helpers

    struct KafkaRecord {
        let key: String?
        let headers: [String: String]
        let payload: String
    }

    /// Every record of `topic`, read by kcat (not by our code); waits up to
    /// `limit` for `count` of them.
    func readAll(_ bootstrap: String, _ topic: String, count: Int, limit: Duration = .seconds(30)) async throws -> [KafkaRecord] {
        let deadline = ContinuousClock.now + limit
        var records: [KafkaRecord] = []
        repeat {
            let result = try await runTool("kcat", ["-C", "-b", bootstrap, "-t", topic, "-e", "-J", "-q"])
            records = try result.output.split(separator: "\n").filter { $0.hasPrefix("{") }.map { line in
                let object = try jsonObject(Data(line.utf8))
                let raw = object["headers"] as? [String] ?? []
                var headers: [String: String] = [:]
                for index in stride(from: 0, to: raw.count - 1, by: 2) { headers[raw[index]] = raw[index + 1] }
                return KafkaRecord(key: object["key"] as? String, headers: headers, payload: object["payload"] as? String ?? "")
            }
            if records.count >= count { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        return records
    }

    func decodeCloudEvents(_ bootstrap: String, _ topic: String) async throws -> [[String: Any]] {
        let dump = try await runTool("kcat", ["-C", "-b", bootstrap, "-t", topic, "-e", "-J", "-q"])
        let result = try await runPythonScript("check-cloudevents.py", [], input: dump.output)
        guard result.status == 0 else { throw ProcessFailure("CloudEvents SDK check failed: \(result.output)") }
        return try result.output.split(separator: "\n").map { try jsonObject(Data($0.utf8)) }
    }

    /// Runs scripts/registry-scenario.sh and returns its key=value lines.
    /// Output goes through files, not pipes: the registry it starts outlives
    /// the script and could hold a pipe's write end open forever.
    func scenario(_ arguments: [String]) async throws -> [String: String] {
        let run = try await runToCompletion(
            "/bin/bash", [Self.root.appendingPathComponent("scripts/registry-scenario.sh").path] + arguments, separateErrors: true)
        let output = run.output
        guard run.status == 0 else {
            throw ProcessFailure("registry-scenario.sh \(arguments.first ?? "") failed: \(run.errors)")
        }
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// A loopback port nobody listens on right now.
    func freePort() throws -> String {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw ProcessFailure("cannot find a free port") }
        return String(UInt16(bigEndian: address.sin_port))
    }
}
