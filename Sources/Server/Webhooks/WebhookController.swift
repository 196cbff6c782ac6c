import Delivery
import Foundation
import Hummingbird
import Logging
import RegistryEvents
import Store

/// Webhook management with `az acr webhook` semantics, on our short paths
/// (`/v1/registries/{r}/webhooks/…`) and on the ARM paths the Azure SDK uses
/// (`/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerRegistry/registries/{r}/webhooks/…`,
/// any `api-version`).
struct WebhookController<Context: RequestContext> {
    let store: any WebhookStore
    let quota: Int
    let defaultLocation: String
    /// Delivers pings and tells the dispatchers about changes; `nil` in
    /// router-only tests.
    let delivery: any WebhookPinger
    let logger: Logger
    /// Where a rotation is said (`<prefix>.operations`).
    var operations: OperationsLog? = nil

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("webhooks", use: list)
        group.put("webhooks/:name", use: create)
        group.patch("webhooks/:name", use: update)
        group.get("webhooks/:name", use: show)
        group.delete("webhooks/:name", use: delete)
        group.post("webhooks/:name/getCallbackConfig", use: callbackConfig)
        group.get("webhooks/:name/config", use: callbackConfig)
        group.post("webhooks/:name/ping", use: ping)
        group.get("webhooks/:name/events", use: events)
        group.post("webhooks/:name/listEvents", use: events)
        group.post("webhooks/:name/rotateSigningSecret", use: rotateSigningSecret)
    }

    struct Rotation: Decodable {
        /// `generate` (the default) or a `whsec_` secret.
        var signingSecret: String?
        /// How long the replaced secret still signs (default 24, at most 168).
        var gracePeriodInHours: Double?
    }

    struct Rotated: ResponseEncodable {
        var signingSecret: String
        var previousSigningSecretValidUntil: String?
    }

    /// A new signing secret, the old one still signing for the grace
    /// period: deliveries carry both signatures until it ends (Standard
    /// Webhooks), so a receiver can switch without rejecting anything. The
    /// answer reveals the new secret (this route exists to).
    @Sendable func rotateSigningSecret(_ request: Request, context: Context) async throws -> Rotated {
        let registry = try Self.registry(context)
        var webhook = try await existing(registry: registry, name: try Self.name(context))
        let buffer = try await request.body.collect(upTo: 4096)
        var rotation = Rotation()
        if buffer.readableBytes > 0 {
            do {
                rotation = try JSONDecoder().decode(Rotation.self, from: Data(buffer.readableBytesView))
            } catch {
                throw APIError.badRequest(
                    "expected {\"signingSecret\": \"generate\" or \"whsec_…\", \"gracePeriodInHours\": 0 to 168}", code: "InvalidRequestBody")
            }
        }
        let hours = rotation.gracePeriodInHours ?? 24
        guard (0...168).contains(hours) else {
            throw APIError.badRequest("gracePeriodInHours must be between 0 and 168, got \(hours)", code: "InvalidGracePeriod")
        }
        guard let secret = try WebhookResource.signingSecret(rotation.signingSecret ?? "generate") else {
            throw APIError.badRequest("signingSecret must be \"generate\" or a whsec_ secret", code: "InvalidSigningSecret")
        }
        let now = Date()
        // A second rotation within the first's grace period would end it
        // early for receivers still on the oldest secret.
        if let until = webhook.previousSigningSecretValidUntil, until > now, webhook.previousSigningSecret != nil, hours > 0 {
            throw APIError(
                .conflict, code: "RotationInProgress",
                message: "the previous signing secret still signs until \(ISO8601DateFormatter().string(from: until)); rotate again after that, or with gracePeriodInHours 0 to drop both old secrets now")
        }
        if let current = webhook.signingSecret, hours > 0 {
            webhook.previousSigningSecret = current
            webhook.previousSigningSecretValidUntil = now.addingTimeInterval(hours * 3600)
        } else {
            webhook.previousSigningSecret = nil
            webhook.previousSigningSecretValidUntil = nil
        }
        webhook.signingSecret = secret
        webhook.updatedAt = now
        let stored = try await put(webhook)
        await delivery.webhooksChanged()
        logger.info(
            "Webhook signing secret rotated",
            metadata: ["registry": "\(registry)", "webhook": "\(webhook.name)", "gracePeriodInHours": "\(hours)"])
        var data: [String: JSONValue] = [
            "registry": .string(registry), "webhook": .string(webhook.name), "gracePeriodInHours": .number(Double(hours)),
        ]
        if let until = stored.previousSigningSecretValidUntil {
            data["previousSigningSecretValidUntil"] = .string(ISO8601DateFormatter().string(from: until))
        }
        await operations?.record(
            .signingSecretRotated, source: OperationsLog.webhookSource(registry: registry, name: webhook.name), subject: webhook.name,
            data: data)
        return Rotated(
            signingSecret: secret,
            previousSigningSecretValidUntil: stored.previousSigningSecretValidUntil.map { ISO8601DateFormatter().string(from: $0) })
    }

    struct EventInfo: ResponseCodable {
        var id: String
    }

    /// Sends the ping payload now, even to a disabled webhook (ping tests
    /// the endpoint); the answer shows in list-events.
    @Sendable func ping(_ request: Request, context: Context) async throws -> EventInfo {
        let webhook = try await existing(registry: try Self.registry(context), name: try Self.name(context))
        let (id, outcome) = await delivery.ping(webhook)
        logger.info(
            "Webhook pinged",
            metadata: ["registry": "\(webhook.registry)", "webhook": "\(webhook.name)", "status": "\(outcome.statusCode.map(String.init) ?? outcome.error ?? "none")"])
        return EventInfo(id: id)
    }

    /// list-events: newest first, paged with `nextLink` (`?skipToken=`).
    @Sendable func events(_ request: Request, context: Context) async throws -> Response {
        let webhook = try await existing(registry: try Self.registry(context), name: try Self.name(context))
        let top = min(max(request.uri.queryParameters.get("top", as: Int.self) ?? 50, 1), 500)
        let before = request.uri.queryParameters.get("skipToken", as: Int64.self)
        // One more than a page, so a nextLink appears only when there is a next page.
        let fetched = try await store.deliveryLog(registry: webhook.registry, webhook: webhook.name, limit: top + 1, before: before)
        let entries = fetched.prefix(top)
        var value: [[String: Any]] = []
        for entry in entries {
            let content: Any = (try? JSONSerialization.jsonObject(with: Data(entry.request.content.utf8))) ?? entry.request.content
            var item: [String: Any] = [
                "id": entry.eventID,
                "eventRequestMessage": [
                    "content": content, "headers": entry.request.headers, "method": entry.request.method,
                    "requestUri": entry.request.requestUri, "version": entry.request.version,
                ],
            ]
            if let response = entry.response {
                item["eventResponseMessage"] = [
                    "content": response.content, "headers": response.headers, "reasonPhrase": response.reasonPhrase,
                    "statusCode": response.statusCode, "version": response.version,
                ]
            }
            value.append(item)
        }
        var body: [String: Any] = ["value": value]
        if fetched.count > top, let last = entries.last?.sequence {
            var path = request.uri.path
            if path.hasSuffix("/listEvents") { path = String(path.dropLast("/listEvents".count)) + "/listEvents" }
            body["nextLink"] = "\(path)?top=\(top)&skipToken=\(last)"
        }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "application/json; charset=utf-8"
        return response
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> WebhookResource.List {
        let registry = try Self.registry(context)
        let webhooks = try await store.webhooks(registry: registry)
        return WebhookResource.List(value: webhooks.map { WebhookResource.Response($0, id: Self.id(request, name: $0.name), lane: delivery.lane(of: $0)) })
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<WebhookResource.Response> {
        let registry = try Self.registry(context)
        let name = try Self.name(context)
        let body = try await Self.decode(WebhookResource.CreateParameters.self, request, context)
        let location = body.location ?? defaultLocation
        guard OCINames.isValidLocation(location) else {
            throw APIError.badRequest("location \"\(location)\" is not a location name", code: "InvalidLocation")
        }
        let existing = try await store.webhook(registry: registry, name: name)
        // What is not a URL is answered as such before the target guard looks at it.
        let serviceURI = try WebhookResource.validate(serviceURI: body.properties.serviceUri)
        try await checkTarget(serviceURI)
        let webhook = Webhook(
            registry: registry, name: name, serviceURI: serviceURI,
            customHeaders: try WebhookResource.validateHeaders(body.properties.customHeaders ?? [:]),
            actions: try WebhookResource.validateActions(body.properties.actions),
            scope: try WebhookResource.validateScope(body.properties.scope ?? ""),
            status: try WebhookResource.validateStatus(body.properties.status ?? "enabled"), location: location,
            tags: body.tags ?? [:], signingSecret: try WebhookResource.signingSecret(body.properties.signingSecret),
            maxConcurrentDeliveries: try WebhookResource.validateConcurrency(body.properties.maxConcurrentDeliveries),
            ordering: try WebhookResource.validateOrdering(body.properties.ordering) ?? .unordered)
        let stored = try await put(webhook)
        await delivery.webhooksChanged()
        logger.info(
            existing == nil ? "Webhook created" : "Webhook replaced",
            metadata: ["registry": "\(registry)", "webhook": "\(name)", "actions": "\(stored.actions.map(\.rawValue))"])
        return EditedResponse(
            status: existing == nil ? .created : .ok, response: WebhookResource.Response(stored, id: Self.id(request, name: name), lane: delivery.lane(of: stored)))
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> WebhookResource.Response {
        let registry = try Self.registry(context)
        var webhook = try await existing(registry: registry, name: try Self.name(context))
        let body = try await Self.decode(WebhookResource.UpdateParameters.self, request, context)
        if let tags = body.tags { webhook.tags = tags }
        if let properties = body.properties {
            if let uri = properties.serviceUri {
                webhook.serviceURI = try WebhookResource.validate(serviceURI: uri)
                try await checkTarget(uri)
            }
            if let headers = properties.customHeaders { webhook.customHeaders = try WebhookResource.validateHeaders(headers) }
            if let status = properties.status { webhook.status = try WebhookResource.validateStatus(status) }
            if let scope = properties.scope { webhook.scope = try WebhookResource.validateScope(scope) }
            if let actions = properties.actions { webhook.actions = try WebhookResource.validateActions(actions) }
            if let limit = properties.maxConcurrentDeliveries {
                webhook.maxConcurrentDeliveries = try WebhookResource.validateConcurrency(limit, allowZero: true)
            }
            if let ordering = try WebhookResource.validateOrdering(properties.ordering) { webhook.ordering = ordering }
            if let secret = properties.signingSecret {
                // Replaced at once: rotateSigningSecret is the way with a grace period.
                webhook.signingSecret = try WebhookResource.signingSecret(secret)
                webhook.previousSigningSecret = nil
                webhook.previousSigningSecretValidUntil = nil
            }
        }
        webhook.updatedAt = Date()
        let stored = try await put(webhook)
        await delivery.webhooksChanged()
        logger.info("Webhook updated", metadata: ["registry": "\(registry)", "webhook": "\(webhook.name)"])
        return WebhookResource.Response(stored, id: Self.id(request, name: webhook.name), lane: delivery.lane(of: stored))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> WebhookResource.Response {
        let webhook = try await existing(registry: try Self.registry(context), name: try Self.name(context))
        return WebhookResource.Response(webhook, id: Self.id(request, name: webhook.name), lane: delivery.lane(of: webhook))
    }

    /// 200 when it existed, 204 when there was nothing to delete (as ARM).
    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let registry = try Self.registry(context)
        let name = try Self.name(context)
        let deleted = try await store.delete(registry: registry, name: name)
        if deleted {
            await delivery.webhooksChanged()
            logger.info("Webhook deleted", metadata: ["registry": "\(registry)", "webhook": "\(name)"])
        }
        return Response(status: deleted ? .ok : .noContent)
    }

    @Sendable func callbackConfig(_ request: Request, context: Context) async throws -> WebhookResource.CallbackConfig {
        let webhook = try await existing(registry: try Self.registry(context), name: try Self.name(context))
        return WebhookResource.CallbackConfig(
            serviceUri: webhook.serviceURI, customHeaders: webhook.customHeaders, signingSecret: webhook.signingSecret)
    }

    /// The SSRF guard, at create time (deliveries check again).
    private func checkTarget(_ url: String) async throws {
        do {
            try await delivery.checkTarget(url)
        } catch {
            logger.warning("Webhook target refused", metadata: ["reason": "\(error)"])
            throw APIError.badRequest("properties.serviceUri: \(error)", code: "TargetNotAllowed")
        }
    }

    private func put(_ webhook: Webhook) async throws -> Webhook {
        try await withinQuota { try await store.put(webhook, quota: quota) }
    }

    private func existing(registry: String, name: String) async throws -> Webhook {
        guard let webhook = try await store.webhook(registry: registry, name: name) else {
            throw APIError.notFound("registry \(registry) has no webhook \(name)")
        }
        return webhook
    }

    static func registry(_ context: Context) throws -> String {
        try RouteNames.require(.registry, parameter: "registry", in: context)
    }

    static func name(_ context: Context) throws -> String {
        try RouteNames.require(.webhook, parameter: "name", in: context)
    }

    /// The resource id: the path it lives at, without the query.
    static func id(_ request: Request, name: String) -> String {
        var path = request.uri.path
        if let range = path.range(of: "/webhooks", options: .backwards) { path = String(path[..<range.lowerBound]) }
        return "\(path)/webhooks/\(name)"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: Context) async throws -> T {
        try await RequestBodies.decode(type, request, what: "webhook", known: WebhookResource.knownProperties)
    }
}
