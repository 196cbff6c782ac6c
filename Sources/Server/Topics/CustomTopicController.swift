import Foundation
import Hummingbird
import Logging
import RegistryEvents
import Store

/// Custom topics with Event Grid's management API (create, show, list,
/// delete, list and regenerate keys), behind the admin token.
struct CustomTopicController<Context: RequestContext> {
    let store: any SubscriptionStore
    let layout: TopicLayout
    let publicBaseURL: String?
    let hooks: any SubscriptionValidating
    let topicCreator: KafkaTopicCreator
    /// Custom topics in all.
    let quota: Int
    let logger: Logger

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.put(":topic", use: create)
        group.get(":topic", use: show)
        group.delete(":topic", use: delete)
        group.post(":topic/listKeys", use: listKeys)
        group.post(":topic/regenerateKey", use: regenerateKey)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> TopicResource.List {
        TopicResource.List(value: try await store.topics().map { response($0, request) })
    }

    /// Creates the topic (and its Kafka topic) with fresh keys; on an
    /// existing topic only a given input schema changes, the keys stay.
    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<TopicResource.Response> {
        let name = try Self.topicName(context)
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let body = buffer.readableBytes == 0
            ? TopicResource.CreateParameters()
            : try RequestBodies.decode(
                TopicResource.CreateParameters.self, from: buffer, what: "topic", known: TopicResource.knownProperties)
        let existing = try await store.topic(name: name)
        var schema = existing?.inputSchema ?? .eventGrid
        if let text = body.properties?.inputSchema {
            guard let parsed = EventDeliverySchema(text: text) else {
                throw APIError.badRequest(
                    "properties.inputSchema: must be EventGridSchema or CloudEventSchemaV1_0, not \(text)", code: "InvalidTopic")
            }
            schema = parsed
        }
        var topic = existing ?? CustomTopic(name: name)
        topic.inputSchema = schema
        // Before the Kafka topic is made (the store checks again, in its transaction).
        if existing == nil, try await store.topics().count >= quota {
            throw APIError.quotaExceeded(.topicQuotaExceeded(quota: quota))
        }
        do {
            try await topicCreator.ensure([layout.customTopic(name)])
        } catch {
            throw APIError.unavailable("cannot create the Kafka topic \(layout.customTopic(name)): \(error)", code: "KafkaUnavailable")
        }
        let stored = try await withinQuota { try await store.putTopic(topic, quota: quota) }
        await hooks.changed()
        if existing == nil { logger.info("Custom topic created", metadata: ["topic": "\(name)"]) }
        return EditedResponse(status: existing == nil ? .created : .ok, response: response(stored, request))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> TopicResource.Response {
        response(try await existing(try Self.topicName(context)), request)
    }

    /// Deletes the topic and its subscriptions; its Kafka topic and records
    /// stay until retention removes them.
    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let name = try Self.topicName(context)
        let deleted = try await store.deleteTopic(name: name)
        if deleted {
            await hooks.changed()
            logger.info("Custom topic deleted", metadata: ["topic": "\(name)"])
        }
        return Response(status: deleted ? .ok : .noContent)
    }

    @Sendable func listKeys(_ request: Request, context: Context) async throws -> TopicResource.Keys {
        let topic = try await existing(try Self.topicName(context))
        return TopicResource.Keys(key1: topic.key1, key2: topic.key2)
    }

    @Sendable func regenerateKey(_ request: Request, context: Context) async throws -> TopicResource.Keys {
        var topic = try await existing(try Self.topicName(context))
        let body = try await RequestBodies.decode(
            TopicResource.RegenerateKey.self, request, what: "regenerateKey", known: TopicResource.knownKeyProperties)
        switch body.keyName.lowercased() {
        case "key1": topic.key1 = CustomTopic.newKey()
        case "key2": topic.key2 = CustomTopic.newKey()
        default: throw APIError.badRequest("keyName: must be key1 or key2, not \(body.keyName)", code: "InvalidKeyName")
        }
        let stored = try await store.putTopic(topic)
        await hooks.changed()
        logger.info("Custom topic key regenerated", metadata: ["topic": "\(topic.name)", "key": "\(body.keyName.lowercased())"])
        return TopicResource.Keys(key1: stored.key1, key2: stored.key2)
    }

    private func response(_ topic: CustomTopic, _ request: Request) -> TopicResource.Response {
        TopicResource.Response(
            topic, endpoint: "\(Self.baseURL(publicBaseURL, request))/v1/topics/\(topic.name)/api/events",
            kafkaTopic: layout.customTopic(topic.name))
    }

    private func existing(_ name: String) async throws -> CustomTopic {
        guard let topic = try await store.topic(name: name) else { throw APIError.notFound("there is no topic \(name)") }
        return topic
    }

    /// The configured public URL, else what the client called us by.
    static func baseURL(_ configured: String?, _ request: Request) -> String {
        if let configured { return configured.hasSuffix("/") ? String(configured.dropLast()) : configured }
        return "http://\(request.head.authority ?? "localhost")"
    }

    static func topicName(_ context: Context) throws -> String {
        try RouteNames.require(.topic, parameter: "topic", in: context)
    }
}
