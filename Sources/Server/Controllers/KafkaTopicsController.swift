import Hummingbird
import Kafka
import RegistryEvents

/// `GET /v1/kafka/topics`: every RegistryEvents topic with partitions, end
/// offsets, and each of our consumer groups' committed offsets, lag and
/// retention losses. Extra groups: `?group=NAME` (repeatable) for every topic.
struct KafkaTopicsController<Context: RequestContext> {
    let connection: KafkaConnection
    let layout: TopicLayout

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("kafka/topics", use: topics)
    }

    @Sendable func topics(_ request: Request, context: Context) async throws -> TopicReport {
        var groupsByTopic = layout.consumerGroupsByTopic
        let extraGroups = request.uri.queryParameters.getAll("group")
        if !extraGroups.isEmpty {
            for topic in layout.allTopics { groupsByTopic[topic, default: []] += extraGroups.map { String($0) } }
        }
        do {
            return try await connection.admin.report(
                topics: layout.allTopics, groupsByTopic: groupsByTopic, lossMonitor: connection.lossMonitor)
        } catch {
            throw APIError.unavailable("Kafka did not answer: \(error)", code: "KafkaUnavailable")
        }
    }
}

extension TopicReport: ResponseEncodable {}
