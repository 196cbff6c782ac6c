import Hummingbird
import Kafka
import RegistryEvents

/// `GET /v1/kafka/topics`: every RegistryEvents topic (custom topics too) with partitions, end
/// offsets, and each of our consumer groups' committed offsets, lag and
/// retention losses. Extra groups: `?group=NAME` (repeatable) for every topic.
struct KafkaTopicsController<Context: RequestContext> {
    let connection: KafkaConnection
    let layout: TopicLayout

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("kafka/topics", use: topics)
    }

    @Sendable func topics(_ request: Request, context: Context) async throws -> TopicReport {
        let extraGroups = request.uri.queryParameters.getAll("group").map { String($0) }
        guard extraGroups.count <= 20 else {
            throw APIError.badRequest("at most 20 group parameters, got \(extraGroups.count)", code: "TooManyGroups")
        }
        if let long = extraGroups.first(where: { $0.utf8.count > 249 || $0.isEmpty }) {
            throw APIError.badRequest(
                "group names are 1 to 249 bytes (Kafka's limit), got one of \(long.utf8.count)", code: "InvalidGroup")
        }
        // NUL would end the name librdkafka sees; no group name has control characters.
        guard !extraGroups.contains(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) else {
            throw APIError.badRequest("group names have no control characters", code: "InvalidGroup")
        }
        do {
            return try await TopicReportBuilder.report(
                admin: connection.admin, layout: layout, extraGroups: extraGroups, lossMonitor: connection.lossMonitor)
        } catch {
            throw APIError.unavailable("Kafka did not answer: \(error)", code: "KafkaUnavailable")
        }
    }
}

extension TopicReport: ResponseEncodable {}
