import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import RegistryEvents
import Server
import TestSupport
import Testing

@Suite("Ingest: registry notifications and ACR-native events into Kafka", .machineHeavy)
struct IngestTests {
    static let envelopeHeaders: HTTPFields = [.contentType: "application/vnd.docker.distribution.events.v1+json"]

    @Test func aTaggedPushLandsOnBothTopicsOnce() async throws {
        try await withTestServer { dependencies, client in
            try await client.execute(
                uri: "/v1/registries/myregistry/notifications?location=westeurope", method: .post,
                headers: Self.envelopeHeaders, body: try fixture("push-oci-tag.json")
            ) { response in
                #expect(response.status == .ok)
                let result = try response.decoded(IngestService.NotificationResult.self)
                #expect(result == .init(received: 1, produced: 1, dropped: 0, rejected: 0))
            }
            // The registry re-sends the same envelope: not produced again.
            try await client.execute(
                uri: "/v1/registries/myregistry/notifications?location=westeurope", method: .post,
                headers: Self.envelopeHeaders, body: try fixture("push-oci-tag.json")
            ) { response in
                let decoded = try response.decoded(IngestService.NotificationResult.self)
                    #expect(decoded == .init(received: 1, produced: 0, dropped: 1, rejected: 0))
            }
            let acr = try await readTopic(dependencies, "registry-events.acr", expecting: 1)
            #expect(acr.count == 1)
            let record = try #require(acr.first)
            #expect(record.key.map { String(decoding: $0, as: UTF8.self) } == "myregistry/library/hello")
            #expect(record.headerValue("registry") == "myregistry")
            #expect(record.headerValue("action") == "push")
            #expect(record.headerValue("content-type") == "application/json")
            let body = try record.json()
            #expect(body["action"] as? String == "push")
            #expect((body["target"] as? [String: Any])?["tag"] as? String == "v1")

            let cloudEvents = try await readTopic(dependencies, "registry-events.cloudevents", expecting: 1)
            #expect(cloudEvents.count == 1)
            let event = try #require(cloudEvents.first).json()
            #expect(cloudEvents.first?.headerValue("content-type") == "application/cloudevents+json; charset=UTF-8")
            #expect(event["type"] as? String == "Microsoft.ContainerRegistry.ImagePushed")
            #expect(event["subject"] as? String == "library/hello:v1")
            #expect(event["source"] as? String == "/registries/myregistry")
            #expect((event["data"] as? [String: Any])?["location"] as? String == "westeurope")
            #expect(cloudEvents.first?.partition == record.partition)
        }
    }

    @Test func aChartPushThenItsDeleteAreChartEvents() async throws {
        try await withTestServer { dependencies, client in
            for file in ["push-helm-chart.json"] {
                try await client.execute(
                    uri: "/v1/registries/r1/notifications", method: .post, headers: Self.envelopeHeaders, body: try fixture(file)
                ) { #expect($0.status == .ok) }
            }
            let chartDigest = "sha256:c705c78a8f8eb175c2acf3ec2fe01f267966dc7ecfc03347a5f24b7c5ff58a05"
            let delete = #"{"events":[{"id":"del-1","timestamp":"2026-11-25T16:29:49.149810188Z","action":"delete","target":{"digest":"\#(chartDigest)","repository":"charts/mychart"},"request":{"id":"x","method":"DELETE"}}]}"#
            try await client.execute(
                uri: "/v1/registries/r1/notifications", method: .post, headers: Self.envelopeHeaders, body: ByteBuffer(string: delete)
            ) { response in
                let result = try response.decoded(IngestService.NotificationResult.self)
                #expect(result.produced == 1)
            }
            let records = try await readTopic(dependencies, "registry-events.acr", expecting: 2)
            let actions = try records.map { record -> String? in try record.json()["action"] as? String }
            #expect(actions == ["chart_push", "chart_delete"])
            let deleted = try #require(records.last).json()["target"] as? [String: Any]
            #expect(deleted?["name"] as? String == "mychart")
            #expect(deleted?["version"] as? String == "0.1.0")
        }
    }

    @Test func noiseIsCountedAsDroppedAndProducesNothing() async throws {
        try await withTestServer { dependencies, client in
            for file in ["pull.json", "pull-head.json", "window/push-oci-tag/01-push-blob.json", "window/push-v2s2/11-mount-blob.json"] {
                try await client.execute(
                    uri: "/v1/registries/r/notifications", method: .post, headers: Self.envelopeHeaders, body: try fixture(file)
                ) { response in
                    let decoded = try response.decoded(IngestService.NotificationResult.self)
                    #expect(decoded == .init(received: 1, produced: 0, dropped: 1, rejected: 0))
                }
            }
            let acr = try await readTopic(dependencies, "registry-events.acr", expecting: 0)
            #expect(acr.isEmpty)
        }
    }

    @Test func aPoisonEventIsDeadLetteredWhileItsNeighboursGoThrough() async throws {
        try await withTestServer { dependencies, client in
            let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"
            let envelope = #"{"events":[{"id":"bad","action":"push","target":{"repository":"NOT VALID","tag":"v1","digest":"\#(digest)"}},{"id":"good","action":"push","target":{"repository":"ok/repo","tag":"v1","digest":"\#(digest)","mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"length":1}}]}"#
            try await client.execute(
                uri: "/v1/registries/r/notifications", method: .post, headers: Self.envelopeHeaders, body: ByteBuffer(string: envelope)
            ) { response in
                #expect(response.status == .ok)
                let decoded = try response.decoded(IngestService.NotificationResult.self)
                    #expect(decoded == .init(received: 2, produced: 1, dropped: 0, rejected: 1))
            }
            let dead = try await readTopic(dependencies, "registry-events.deadletter", expecting: 1)
            #expect(dead.count == 1)
            let record = try #require(dead.first)
            #expect(record.value == Array(envelope.utf8), "the dead letter keeps the original bytes")
            #expect(record.headerValue("regevents-event-index") == "0")
            #expect(record.headerValue("regevents-reason")?.contains("repository") == true)
            let acr = try await readTopic(dependencies, "registry-events.acr", expecting: 1)
            let ids = try acr.map { record -> String? in try record.json()["id"] as? String }
            #expect(ids == ["good"])
        }
    }

    @Test(arguments: [
        ("not json", "InvalidEnvelope"), ("[]", "InvalidEnvelope"), (#"{"events":{}}"#, "InvalidEnvelope"),
        (#"{"nothing":1}"#, "InvalidEnvelope"),
    ])
    func aBodyThatIsNoEnvelopeIs400(_ body: String, _ code: String) async throws {
        try await withTestServer { _, client in
            try await client.execute(
                uri: "/v1/registries/r/notifications", method: .post, headers: Self.envelopeHeaders, body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .badRequest)
                let body = try response.decoded(ErrorBody.self)
                #expect(body.error.code == code)
            }
        }
    }

    @Test func badNamesHugeBodiesAndMissingTokensAreClear4xx() async throws {
        try await withTestServer(ingest: IngestSettings(token: "s3cret", maxBodyBytes: 4096)) { _, client in
            let auth: HTTPFields = [.authorization: "Bearer s3cret"]
            try await client.execute(uri: "/v1/registries/r/notifications", method: .post, body: try fixture("push-oci-tag.json")) {
                #expect($0.status == .unauthorized)
                let body = try $0.decoded(ErrorBody.self)
                #expect(body.error.code == "Unauthorized")
                #expect($0.headers[.wwwAuthenticate] != nil)
            }
            try await client.execute(
                uri: "/v1/registries/r/notifications", method: .post, headers: [.authorization: "Bearer wrong"],
                body: try fixture("push-oci-tag.json")
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/registries/bad%20name/events", method: .post, headers: auth, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .badRequest)
                let body = try $0.decoded(ErrorBody.self)
                #expect(body.error.code == "InvalidRegistryName")
            }
            let huge = ByteBuffer(string: #"{"events":[],"padding":""# + String(repeating: "x", count: 10_000) + #""}"#)
            try await client.execute(uri: "/v1/registries/r/notifications", method: .post, headers: auth, body: huge) {
                #expect($0.status == .contentTooLarge)
                let body = try $0.decoded(ErrorBody.self)
                #expect(body.error.code == "PayloadTooLarge")
            }
            try await client.execute(
                uri: "/v1/registries/r/notifications?location=bad%2Fplace", method: .post, headers: auth,
                body: try fixture("push-oci-tag.json")
            ) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/registries/r/notifications", method: .post, headers: auth, body: try fixture("push-oci-tag.json")) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func acrNativeEventsAreProducedAndAnswered202() async throws {
        try await withTestServer { dependencies, client in
            let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"
            let body = #"[{"id":"q-1","action":"quarantine","target":{"repository":"hello","tag":"v1","digest":"\#(digest)"}},{"id":"p-1","action":"push","target":{"repository":"hello","tag":"v2","digest":"\#(digest)"}}]"#
            try await client.execute(uri: "/v1/registries/r/events", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .accepted)
                let decoded = try response.decoded(IngestService.EventsResult.self)
                    #expect(decoded == .init(produced: 2, ids: ["q-1", "p-1"]))
            }
            let acr = try await readTopic(dependencies, "registry-events.acr", expecting: 2)
            let actions = try acr.map { record -> String? in try record.json()["action"] as? String }
            #expect(actions == ["quarantine", "push"])
            // Quarantine has no Event Grid type: only the push reaches .cloudevents.
            let cloudEvents = try await readTopic(dependencies, "registry-events.cloudevents", expecting: 1)
            #expect(cloudEvents.count == 1)
            try await client.execute(
                uri: "/v1/registries/r/events", method: .post,
                body: ByteBuffer(string: #"{"action":"push","target":{"repository":"hello","tag":"v1"}}"#)
            ) { response in
                #expect(response.status == .badRequest)
                let error = try response.decoded(ErrorBody.self).error
                #expect(error.code == "InvalidEvent")
                #expect(error.message.contains("target.digest"))
            }
        }
    }

    @Test func kafkaUnavailableIs503WithRetryAfterAndNothingAccepted() async throws {
        try await withTestServer(messageTimeout: .seconds(2)) { dependencies, client in
            let cluster = try #require(dependencies.connection.embeddedCluster)
            try cluster.setBrokerDown(1)
            try await client.execute(
                uri: "/v1/registries/r/notifications", method: .post, headers: Self.envelopeHeaders, body: try fixture("push-oci-tag.json")
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "5")
                let body = try response.decoded(ErrorBody.self)
                #expect(body.error.code == "KafkaUnavailable")
            }
            try cluster.setBrokerUp(1)
            // The registry retries until it gets a 2xx, as Distribution does: the failed
            // attempt did not claim the event id, so a retry after the outage produces it.
            var produced = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while produced == 0, ContinuousClock.now < deadline {
                try await client.execute(
                    uri: "/v1/registries/r/notifications", method: .post, headers: Self.envelopeHeaders,
                    body: try fixture("push-oci-tag.json")
                ) { response in
                    if response.status == .ok {
                        produced = try response.decoded(IngestService.NotificationResult.self).produced
                    }
                }
            }
            #expect(produced == 1)
        }
    }
}
