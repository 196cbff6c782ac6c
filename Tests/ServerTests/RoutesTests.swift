import Delivery
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import RegistryEvents
import Server
import TestSupport
import Testing

@Suite("HTTP routes against a real embedded cluster", .machineHeavy)
struct RoutesTests {
    @Test func healthAndReadinessAnswerWhileKafkaIsUp() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ready"}"#)
            }
        }
    }

    @Test func readinessNamesWhatKeepsDeliveryFromBeingReady() async throws {
        try await withTestServer { dependencies, client in
            let health = try #require(dependencies.deliveryHealth)
            health.report(.kafkaRefuses(topic: "registry-events.retry.10s"), reason: "TOPIC_AUTHORIZATION_FAILED")
            // The running directories clear what they reported once they load;
            // a cause nothing else clears stays.
            health.report(.kafkaRefuses(topic: "registry-events.deadletter"), reason: "TOPIC_AUTHORIZATION_FAILED")
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                let body = try response.decoded(ErrorBody.self)
                #expect(body.error.code == "DeliveryNotReady")
                #expect(body.error.message.contains("Kafka refuses records for registry-events.retry.10s"))
                #expect(body.error.message.contains("Kafka refuses records for registry-events.deadletter"))
            }
            health.clear(.kafkaRefuses(topic: "registry-events.retry.10s"))
            health.clear(.kafkaRefuses(topic: "registry-events.deadletter"))
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func readinessFailsWith503WhenTheBrokerIsDown() async throws {
        try await withTestServer { dependencies, client in
            let cluster = try #require(dependencies.connection.embeddedCluster)
            try cluster.setBrokerDown(1)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                let body = try response.decoded(ErrorBody.self)
                #expect(body.error.code == "KafkaUnavailable")
                #expect(body.error.message.contains("Kafka is not reachable"))
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try cluster.setBrokerUp(1)
        }
    }

    @Test func infoTellsWhereKafkaIsAndNamesTheTopics() async throws {
        try await withTestServer { dependencies, client in
            try await client.execute(uri: "/v1/info", method: .get) { response in
                #expect(response.status == .ok)
                let info = try response.decoded(ServerInfo.self)
                #expect(info.version == RegistryEventsVersion.current)
                #expect(info.kafka.embedded)
                #expect(info.kafka.bootstrapServers == dependencies.connection.bootstrapServers)
                #expect(info.topics.acr == "registry-events.acr")
                #expect(info.topics.cloudevents == "registry-events.cloudevents")
                #expect(info.topics.deliveries == "registry-events.deliveries")
                #expect(info.topics.deadletter == "registry-events.deadletter")
                #expect(info.topics.retry.count == TopicLayout.retryTierDelays.count)
            }
        }
    }

    @Test func unknownRoutesAndMethodsGetAJSONError() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/no/such/route", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let body = try response.decoded(ErrorBody.self)
                #expect(body.error.code == "NotFound")
                #expect(body.error.message.contains("/no/such/route"))
            }
            try await client.execute(uri: "/v1/info", method: .delete) { response in
                #expect(response.status.code >= 400 && response.status.code < 500)
                let body = try response.decoded(ErrorBody.self)
                #expect(!body.error.message.isEmpty)
            }
        }
    }

    @Test func topicsReportEveryTopicWithOurGroupsAndLag() async throws {
        try await withTestServer(partitions: 3) { dependencies, client in
            let producer = dependencies.producer
            _ = try await producer.send(
                contentsOf: (0..<5).map {
                    KafkaProducerRecord(topic: "registry-events.acr", key: Array("reg/repo\($0)".utf8), value: Array("{}".utf8))
                })
            try await client.execute(uri: "/v1/kafka/topics?group=extra-group", method: .get) { response in
                #expect(response.status == .ok)
                let report = try response.decoded(TopicReport.self)
                #expect(report.topics.map(\.name) == TopicLayout().allTopics)
                let acr = try #require(report.topics.first { $0.name == "registry-events.acr" })
                #expect(acr.exists)
                #expect(acr.partitions.count == 3)
                #expect(acr.records == 5)
                #expect(acr.endOffsets == 5)
                // The server's own dispatcher is running: its lag is whatever it has not committed yet.
                let webhooks = try #require(acr.consumerGroups.first { $0.group == "registry-events.webhooks" })
                #expect((0...5).contains(webhooks.lag))
                #expect(webhooks.lostRecords == 0)
                let extra = try #require(acr.consumerGroups.first { $0.group == "extra-group" })
                #expect(extra.lag == 5, "a group that never committed is behind by every record")
            }
        }
    }

    @Test func metricsAreInPrometheusTextFormat() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            }
        }
    }
}
