import Delivery
import Foundation
import Hummingbird
import Kafka
import Logging
import RegistryEvents
import Store

/// Event Grid's publish API: `POST /v1/topics/{t}/api/events` (also
/// `/v1/topics/{t}/events`, and `/api/events` on a host named
/// `<topic>.<anything>`, as Event Grid's endpoints are). Authenticated with
/// the topic's keys; answered 200 only once Kafka has every event.
struct TopicPublishController<Context: RequestContext> {
    let store: any SubscriptionStore
    let producer: any EventProducer
    let layout: TopicLayout
    /// `serve --public-url`: publishers may sign tokens for the endpoint under it.
    let publicBaseURL: String?
    let logger: Logger

    func addRoutes(to v1: RouterGroup<Context>, root: Router<Context>) {
        v1.post("topics/:topic/api/events", use: publishToPath)
        v1.post("topics/:topic/events", use: publishToPath)
        root.post("api/events", use: publishToHost)
    }

    @Sendable func publishToPath(_ request: Request, context: Context) async throws -> Response {
        try await publish(request, topicName: try CustomTopicController<Context>.topicName(context))
    }

    /// The topic is the first label of the host name.
    @Sendable func publishToHost(_ request: Request, context: Context) async throws -> Response {
        let host = String((request.head.authority ?? "").prefix { $0 != ":" })
        let labels = host.split(separator: ".")
        let label = labels.first.map(String.init) ?? ""
        // An address or a bare name names no topic: Event Grid's endpoints are <topic>.<region>...
        let isAddress = host.allSatisfy { $0.isNumber || $0 == "." } || host.hasPrefix("[")
        guard labels.count >= 2, !isAddress, CustomTopic.isValidName(label) else {
            throw APIError.notFound("no topic: /api/events needs a host name <topic>.<domain>, or use /v1/topics/<topic>/api/events")
        }
        return try await publish(request, topicName: label)
    }

    /// The URL this request came to, as its client named it and under the
    /// public URL.
    private func endpoints(of request: Request) -> [String] {
        let path = request.uri.path
        var endpoints = ["http://\(request.head.authority ?? "localhost")\(path)"]
        if let publicBaseURL {
            endpoints.append((publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL) + path)
        }
        return endpoints
    }

    private func publish(_ request: Request, topicName: String) async throws -> Response {
        let key = Self.header("aeg-sas-key", request)
        let token = Self.header("aeg-sas-token", request)
        // Without a valid key nobody learns whether a topic exists: an unknown topic answers as a wrong key does.
        let topic = try await store.topic(name: topicName)
        do throws(PublishAuthentication.Failure) {
            guard let topic else { throw key == nil && token == nil ? .missing : (key != nil ? .wrongKey : .badSignature) }
            try PublishAuthentication.check(key: key, token: token, topic: topic, endpoints: endpoints(of: request))
        } catch {
            logger.notice("Publish refused", metadata: ["topic": "\(topicName)", "reason": "\(error.message)"])
            throw APIError(.unauthorized, code: "Unauthorized", message: "\(error.message) (topic \(topicName))")
        }
        guard let topic else { throw APIError(.unauthorized, code: "Unauthorized", message: "no such topic key") }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: EventGridPublishing.maxRequestBytes)
        } catch {
            throw APIError(
                .contentTooLarge, code: "RequestEntityTooLarge", message: "Event Grid accepts at most 1 MB (1048576 bytes) per request")
        }
        let events: [PublishedEvent]
        do throws(PublishError) {
            events = try EventGridPublishing.events(
                in: Array(body.readableBytesView), kind: .init(contentType: request.headers[.contentType]), topic: topic)
        } catch {
            throw error.kind == .tooLarge
                ? APIError(.contentTooLarge, code: "RequestEntityTooLarge", message: error.message)
                : APIError.badRequest(error.message, code: "BadRequest")
        }
        let records = events.map { event in
            KafkaProducerRecord(
                topic: layout.customTopic(topic.name), key: Array((event.subject ?? event.id).utf8), value: event.envelope.jsonBytes,
                headers: KafkaRecordFormat.customTopicHeaders(schema: event.schema, topic: topic.name).map(KafkaHeader.init))
        }
        do {
            try await producer.produce(records)
        } catch let error as KafkaError where !error.isRetriable && !error.isFatal {
            // Kafka will never take it (typically an event near 1 MB, past the cluster's record limit).
            logger.warning("Kafka refused published events", metadata: ["topic": "\(topic.name)", "error": "\(error.reason)"])
            throw APIError(
                .contentTooLarge, code: "RequestEntityTooLarge",
                message: "Kafka refused the events (\(error.reason)); events near 1 MB exceed the cluster's record size limit")
        } catch {
            logger.error("Kafka did not take published events", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
            throw APIError.unavailable("Kafka did not acknowledge the events; nothing was accepted, retry", code: "KafkaUnavailable")
        }
        logger.debug("Events published", metadata: ["topic": "\(topic.name)", "events": "\(events.count)"])
        return Response(status: .ok)
    }

    static func header(_ name: String, _ request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }
}
