import Delivery
import Foundation
import Hummingbird
import Logging
import RegistryEvents
import Store

/// Event subscriptions with Event Grid's semantics, on a registry
/// (`/v1/registries/{r}/eventSubscriptions/…`) or a custom topic
/// (`/v1/topics/{t}/eventSubscriptions/…`).
struct EventSubscriptionController<Context: RequestContext> {
    let store: any SubscriptionStore
    let kind: SubscriptionScope.Kind
    let registryTopics: RegistryTopics
    let layout: TopicLayout
    /// `nil` in router-only tests: no validation, no deliveries.
    let hooks: any SubscriptionValidating
    let topicCreator: KafkaTopicCreator
    /// Subscriptions per scope.
    let quota: Int
    let logger: Logger
    /// Where a failed validation is said (`<prefix>.operations`).
    var operations: OperationsLog? = nil

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("eventSubscriptions", use: list)
        group.put("eventSubscriptions/:name", use: create)
        group.patch("eventSubscriptions/:name", use: update)
        group.get("eventSubscriptions/:name", use: show)
        group.delete("eventSubscriptions/:name", use: delete)
        group.post("eventSubscriptions/:name/getFullUrl", use: fullURL)
        group.get("eventSubscriptions/:name/getFullUrl", use: fullURL)
        group.post("eventSubscriptions/:name/getDeliveryAttributes", use: deliveryAttributes)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> SubscriptionResource.List {
        let scope = try await scope(context)
        let subscriptions = try await store.subscriptions(scope: scope)
        return SubscriptionResource.List(value: subscriptions.map(response))
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<SubscriptionResource.Response> {
        let scope = try await scope(context)
        let name = try Self.name(context)
        let body = try await Self.body(request)
        let previous = try await store.subscription(scope: scope, name: name)
        var subscription = EventSubscription(scope: scope, name: name, endpointURL: "")
        subscription.createdAt = previous?.createdAt ?? Date()
        try SubscriptionEditing.apply(body.properties, to: &subscription)
        let stored = try await provisionAndStore(subscription, previous: previous)
        return EditedResponse(status: previous == nil ? .created : .ok, response: response(stored))
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> SubscriptionResource.Response {
        let scope = try await scope(context)
        let previous = try await existing(scope, try Self.name(context))
        let body = try await Self.body(request)
        var subscription = previous
        try SubscriptionEditing.apply(body.properties, to: &subscription)
        return response(try await provisionAndStore(subscription, previous: previous))
    }

    /// The body, with properties this server does not implement refused
    /// (rather than silently ignored).
    static func body(_ request: Request) async throws -> SubscriptionResource.Body {
        let buffer = try await request.body.collect(upTo: 256 * 1024)
        if let json = JSONValue(parsing: buffer.readableBytesView) { try SubscriptionEditing.rejectUnsupported(json) }
        return try RequestBodies.decode(
            SubscriptionResource.Body.self, from: buffer, what: "event subscription", code: SubscriptionEditing.errorCode)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> SubscriptionResource.Response {
        response(try await existing(try await scope(context), try Self.name(context)))
    }

    /// 200 when it existed, 204 when there was nothing to delete (as ARM).
    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let scope = try await scope(context)
        let name = try Self.name(context)
        let deleted = try await store.deleteSubscription(scope: scope, name: name)
        if deleted {
            await hooks.changed()
            logger.info("Event subscription deleted", metadata: ["scope": "\(scope)", "subscription": "\(name)"])
        }
        return Response(status: deleted ? .ok : .noContent)
    }

    /// The endpoint URL with its query: the one place it is shown whole.
    @Sendable func fullURL(_ request: Request, context: Context) async throws -> SubscriptionResource.FullURL {
        let subscription = try await existing(try await scope(context), try Self.name(context))
        return SubscriptionResource.FullURL(endpointUrl: subscription.endpointURL)
    }

    /// The delivery attributes with secret values: the one place they are shown.
    @Sendable func deliveryAttributes(_ request: Request, context: Context) async throws -> SubscriptionResource.DeliveryAttributes {
        let subscription = try await existing(try await scope(context), try Self.name(context))
        return SubscriptionResource.DeliveryAttributes(value: subscription.deliveryAttributeMappings)
    }

    /// Validates the endpoint when it is new or changed (or never passed),
    /// creates a dead-letter topic that does not exist, and stores. A failed
    /// handshake is stored as `Failed` and answered 400.
    private func provisionAndStore(_ candidate: EventSubscription, previous: EventSubscription?) async throws -> EventSubscription {
        var subscription = candidate
        subscription.updatedAt = Date()
        do {
            try await hooks.checkTarget(subscription.endpointURL)
            if let url = subscription.deadLetterDestination?.properties.endpointUrl { try await hooks.checkTarget(url) }
        } catch {
            throw APIError.badRequest("properties.destination.properties.endpointUrl: \(error)", code: "TargetNotAllowed")
        }
        if let topic = subscription.deadLetterDestination?.properties.topic {
            // Our own topics (events, retries, audit) would read dead letters back as events, or worse.
            guard topic == layout.deadLetter || (!topic.hasPrefix("\(layout.prefix).") && !topic.hasPrefix("__")) else {
                throw SubscriptionEditing.invalid(
                    "properties.deadLetterDestination.properties.topic",
                    "\(topic) is one of RegistryEvents' or Kafka's own topics; name another (or \(layout.deadLetter))")
            }
            do {
                try await topicCreator.ensure([topic])
            } catch {
                throw APIError.unavailable("cannot create the dead-letter topic \(topic): \(error)", code: "KafkaUnavailable")
            }
        }
        let mustValidate = previous.map {
            $0.endpointURL != subscription.endpointURL || $0.eventDeliverySchema != subscription.eventDeliverySchema
                || $0.provisioningState != .succeeded
        } ?? true
        if mustValidate { await validate(&subscription) }
        // A new or changed HTTP dead-letter endpoint must consent first.
        if let url = subscription.deadLetterDestination?.properties.endpointUrl,
            url != previous?.deadLetterDestination?.properties.endpointUrl,
            let refusal = await hooks.validateDeadLetterEndpoint(url)
        {
            throw APIError.badRequest("properties.deadLetterDestination: \(refusal)", code: "WebhookValidationFailed")
        }
        let stored = try await withinQuota { try await store.putSubscription(subscription, quota: quota) }
        await hooks.changed()
        logger.info(
            previous == nil ? "Event subscription created" : "Event subscription updated",
            metadata: [
                "scope": "\(stored.scope)", "subscription": "\(stored.name)", "schema": "\(stored.eventDeliverySchema.rawValue)",
                "provisioningState": "\(stored.provisioningState.rawValue)",
            ])
        if stored.provisioningState == .failed {
            throw APIError.badRequest(stored.provisioningMessage ?? "Webhook validation handshake failed", code: "WebhookValidationFailed")
        }
        return stored
    }

    private func validate(_ subscription: inout EventSubscription) async {
        subscription.validationCode = nil
        subscription.validationStartedAt = nil
        switch await hooks.validate(subscription) {
        case .validated:
            subscription.provisioningState = .succeeded
            subscription.provisioningMessage = nil
        case .awaitingManualAction(let code, let message):
            subscription.provisioningState = .awaitingManualAction
            subscription.provisioningMessage = message
            subscription.validationCode = code
            subscription.validationStartedAt = Date()
        case .failed(let message):
            subscription.provisioningState = .failed
            subscription.provisioningMessage = message
            let data: [String: JSONValue] = [
                "scope": .string(subscription.scope.description), "subscription": .string(subscription.name), "message": .string(message),
            ]
            await operations?.record(
                OperationsLog.Kind.subscriptionValidationFailed,
                source: OperationsLog.subscriptionSource(subscription.scope, name: subscription.name), subject: subscription.name,
                data: data)
        }
    }

    private func response(_ subscription: EventSubscription) -> SubscriptionResource.Response {
        let topic = subscription.scope.kind == .registry
            ? registryTopics.topic(for: subscription.scope.name) : CustomTopic.eventSource(subscription.scope.name)
        return SubscriptionResource.Response(subscription, topic: topic, lane: hooks.lane(of: subscription))
    }

    private func existing(_ scope: SubscriptionScope, _ name: String) async throws -> EventSubscription {
        guard let subscription = try await store.subscription(scope: scope, name: name) else {
            throw APIError.notFound("\(scope.kind.rawValue) \(scope.name) has no event subscription \(name)")
        }
        return subscription
    }

    /// The scope from the path; a custom topic must exist.
    private func scope(_ context: Context) async throws -> SubscriptionScope {
        switch kind {
        case .registry:
            return .registry(try WebhookController<Context>.registry(context))
        case .topic:
            let name = try CustomTopicController<Context>.topicName(context)
            guard try await store.topic(name: name) != nil else { throw APIError.notFound("there is no topic \(name)") }
            return .topic(name)
        }
    }

    static func name(_ context: Context) throws -> String {
        try RouteNames.require(.subscription, parameter: "name", in: context)
    }
}
