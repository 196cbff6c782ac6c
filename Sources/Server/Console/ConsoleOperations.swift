import Delivery
import Foundation
import Hummingbird
import RegistryEvents

/// The console's operator tools beyond dead letters: the Operations page,
/// a target's operational events, replay forms, and the subscription edit
/// form. Every change goes through the API's own handlers.
extension ConsoleController {
    // MARK: Operational events

    @Sendable func operationsList(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            let parameters = request.uri.queryParameters
            var body = """
                <form method="get" action="/console/operations" class="stack" aria-label="Filter">
                <div><label for="f-source">Source (a target's path or a prefix, e.g. /registries/myregistry)</label>
                <input type="text" id="f-source" name="source" value="\(ConsoleHTML.escape(parameters.get("source") ?? ""))"></div>
                <div><label for="f-type">Type</label><select id="f-type" name="type"><option value="">(any)</option>
                \(OperationsLog.Kind.allCases.map { "<option\(parameters.get("type") == $0.rawValue ? " selected" : "")>\($0.rawValue)</option>" }.joined())
                </select></div>
                <div><button type="submit">Filter</button></div></form>
                """
            do {
                let query = try OperationsController<Context>.query(
                    source: parameters.get("source").flatMap { $0.isEmpty ? nil : $0 },
                    type: parameters.get("type").flatMap { $0.isEmpty ? nil : $0 }, since: nil, until: nil)
                body += Self.operationsTable(try await answeringKafkaErrors { try await operations.recent(matching: query, limit: 200) })
            } catch {
                body += ConsoleHTML.notice(Self.message(of: error), error: true)
                return ConsoleHTML.response(ConsoleHTML.page(title: "Operations", csrf: session.csrf, body), status: .badRequest)
            }
            return ConsoleHTML.response(ConsoleHTML.page(title: "Operations", csrf: session.csrf, body))
        }
    }

    /// A target's last operational events, for its page; a note when Kafka cannot say.
    func operationsSection(source: String) async -> String {
        do {
            let events = try await operations.recent(matching: .init(source: source), limit: 10)
            return "<h2 id=\"operations\">Operational events</h2>" + Self.operationsTable(events)
        } catch {
            return "<h2 id=\"operations\">Operational events</h2>" + ConsoleHTML.notice("Kafka did not answer: \(error)", error: true)
        }
    }

    static func operationsTable(_ events: [JSONValue]) -> String {
        let rows = events.map { event -> [String] in
            let type = (event["type"]?.stringValue ?? "").replacingOccurrences(of: "RegistryEvents.Operations.", with: "")
            let detail = String(decoding: (event["data"] ?? .null).jsonBytes, as: UTF8.self)
            return [
                ConsoleHTML.escape(event["time"]?.stringValue ?? ""), "<strong>\(ConsoleHTML.escape(type))</strong>",
                ConsoleHTML.escape(event["source"]?.stringValue ?? ""), "<code>\(ConsoleHTML.escape(detail))</code>",
            ]
        }
        return ConsoleHTML.table(caption: "Operational events, newest first", headers: ["Time", "Type", "Source", "Detail"], rows: rows)
    }

    // MARK: Replay

    /// The replay form of a target page; `action` is the console path it posts to.
    static func replayForm(action: String, csrf: String) -> String {
        let since = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        return """
            <h2 id="replay">Replay</h2>
            <p class="muted">The events of a time window, delivered once more with their original ids, at a bounded rate.</p>
            <form method="post" action="\(action)" class="stack">\(ConsoleHTML.csrfField(csrf))
            <div><label for="replay-since">Since (RFC 3339)</label><input type="text" id="replay-since" name="since" value="\(since)" required></div>
            <div><label for="replay-until">Until (RFC 3339; empty: now)</label><input type="text" id="replay-until" name="until"></div>
            <div><label for="replay-rate">Events per second</label><input type="number" id="replay-rate" name="ratePerSecond" value="100" min="1" max="10000"></div>
            <div><button type="submit">Replay</button></div></form>
            """
    }

    /// The replay body a form gives.
    static func replayBody(_ form: ConsoleForm) -> [String: Any] {
        var body: [String: Any] = ["since": form["since"] ?? ""]
        if let until = form["until"], !until.isEmpty { body["until"] = until }
        if let rate = form["ratePerSecond"].flatMap(Int.init) { body["ratePerSecond"] = rate }
        return body
    }

    static func replayed(_ outcome: Replayer.Outcome) -> String {
        "Replay: \(outcome.replayed) events scheduled (\(outcome.scanned) read)"
            + (outcome.complete ? "." : "; the window held more, only the first were scheduled.")
    }

    @Sendable func replayWebhook(_ request: Request, context: Context) async throws -> Response {
        try await action(request, context) { form in
            let (registry, name) = (try context.parameters.require("registry"), try context.parameters.require("name"))
            let page = "/console/registries/\(Self.path(registry))/webhooks/\(Self.path(name))"
            return try await replaying(back: page, title: "Webhook \(name)") {
                try await replays.replayWebhook(
                    try Self.apiRequest(.post, "/v1/registries/\(Self.path(registry))/webhooks/\(Self.path(name))/replay", json: Self.replayBody(form)),
                    context: Self.context(context, ["registry": registry, "name": name]))
            }
        }
    }

    @Sendable func replaySubscription(_ request: Request, context: Context) async throws -> Response {
        let scope = try Self.subscriptionScope(context)
        return try await action(request, context) { form in
            let name = try context.parameters.require("name")
            let (page, api, parameters) = Self.subscriptionPaths(scope, name)
            return try await replaying(back: page, title: "Subscription \(name)") {
                let call = try Self.apiRequest(.post, api + "/replay", json: Self.replayBody(form))
                let named = Self.context(context, parameters)
                return scope.kind == .registry
                    ? try await replays.replaySubscriptionOfRegistry(call, context: named)
                    : try await replays.replaySubscriptionOfTopic(call, context: named)
            }
        }
    }

    /// Runs a replay and answers its outcome (or the API's message) with a way back.
    private func replaying(back page: String, title: String, _ replay: () async throws -> Replayer.Outcome) async throws -> Response {
        let notice: String
        let status: HTTPResponse.Status
        do {
            notice = ConsoleHTML.notice(Self.replayed(try await replay()), error: false)
            status = .ok
        } catch {
            notice = ConsoleHTML.notice(Self.message(of: error), error: true)
            status = .badRequest
        }
        return ConsoleHTML.response(
            ConsoleHTML.page(title: title, csrf: nil, notice + "<p><a href=\"\(page)\">Back</a></p>"), status: status)
    }

    // MARK: Editing a subscription

    /// The subscription's scope, from the route: `registries/:registry/…` or `topics/:topic/…`.
    static func subscriptionScope(_ context: Context) throws -> SubscriptionScope {
        if let registry = context.parameters.get("registry") { return .registry(registry) }
        return .topic(try context.parameters.require("topic"))
    }

    /// The console page, the API path and the route parameters of a subscription.
    static func subscriptionPaths(_ scope: SubscriptionScope, _ name: String) -> (page: String, api: String, parameters: [String: String]) {
        let (segment, parameter) = scope.kind == .registry ? ("registries", "registry") : ("topics", "topic")
        let parent = "\(segment)/\(path(scope.name))"
        return (
            "/console/\(scope.kind == .registry ? parent : "topics/\(path(scope.name))")/subscriptions/\(path(name))",
            "/v1/\(parent)/eventSubscriptions/\(path(name))", [parameter: scope.name, "name": name]
        )
    }

    /// Edit: what is left empty stays as it is; the filter keeps its
    /// advanced filters.
    static func subscriptionEditForm(action: String, _ subscription: EventSubscription, csrf: String) -> String {
        let types = subscription.scope.kind == .registry
            ? RegistryAction.subscribable.compactMap(\.eventGridType).map { type in
                "<label class=\"check\"><input type=\"checkbox\" name=\"includedEventTypes\" value=\"\(type)\"\((subscription.filter.includedEventTypes ?? []).contains(type) ? " checked" : "")>\(type.replacingOccurrences(of: "Microsoft.ContainerRegistry.", with: ""))</label>"
            }.joined()
            : ""
        return """
            <h2 id="edit">Edit</h2>
            <form method="post" action="\(action)" class="stack">\(ConsoleHTML.csrfField(csrf))
            <div><label for="edit-endpoint">New endpoint URL</label><input type="url" id="edit-endpoint" name="endpointUrl" aria-describedby="edit-endpoint-help">
            <p id="edit-endpoint-help" class="muted">Empty: unchanged. A new endpoint is validated before it is used; saving also validates a Failed one again.</p></div>
            \(types.isEmpty ? "" : "<fieldset><legend>Event types (none: all)</legend>\(types)</fieldset>")
            <div><label for="edit-begins">Subject begins with</label><input type="text" id="edit-begins" name="subjectBeginsWith" value="\(ConsoleHTML.escape(subscription.filter.subjectBeginsWith ?? ""))"></div>
            <div><label for="edit-ends">Subject ends with</label><input type="text" id="edit-ends" name="subjectEndsWith" value="\(ConsoleHTML.escape(subscription.filter.subjectEndsWith ?? ""))"></div>
            <div><label for="edit-attempts">Max delivery attempts (1-30)</label><input type="number" id="edit-attempts" name="maxDeliveryAttempts" min="1" max="30" value="\(subscription.maxDeliveryAttempts)"></div>
            <div><label for="edit-ttl">Event time to live, minutes (1-1440)</label><input type="number" id="edit-ttl" name="eventTimeToLiveInMinutes" min="1" max="1440" value="\(subscription.eventTimeToLiveInMinutes)"></div>
            <div><button type="submit">Save</button></div></form>
            """
    }

    @Sendable func editSubscription(_ request: Request, context: Context) async throws -> Response {
        let scope = try Self.subscriptionScope(context)
        return try await action(request, context) { form in
            let name = try context.parameters.require("name")
            let (page, api, parameters) = Self.subscriptionPaths(scope, name)
            do {
                guard let current = try await store.subscription(scope: scope, name: name) else {
                    throw APIError.notFound("\(scope) has no event subscription \(name)")
                }
                var filter = current.filter
                if scope.kind == .registry {
                    let types = form.all("includedEventTypes")
                    filter.includedEventTypes = types.isEmpty ? nil : types
                }
                filter.subjectBeginsWith = form["subjectBeginsWith"].flatMap { $0.isEmpty ? nil : $0 }
                filter.subjectEndsWith = form["subjectEndsWith"].flatMap { $0.isEmpty ? nil : $0 }
                var properties: [String: Any] = [
                    "filter": try JSONSerialization.jsonObject(with: try JSONCoding.encoder.encode(filter)),
                    "retryPolicy": [
                        "maxDeliveryAttempts": form["maxDeliveryAttempts"].flatMap(Int.init) ?? current.maxDeliveryAttempts,
                        "eventTimeToLiveInMinutes": form["eventTimeToLiveInMinutes"].flatMap(Int.init) ?? current.eventTimeToLiveInMinutes,
                    ],
                ]
                if let url = form["endpointUrl"], !url.isEmpty {
                    properties["destination"] = ["endpointType": "WebHook", "properties": ["endpointUrl": url]]
                }
                guard let controller = subscriptions[scope.kind] else { throw APIError.notFound("no subscriptions here") }
                _ = try await controller.update(
                    try Self.apiRequest(.patch, api, json: ["properties": properties]), context: Self.context(context, parameters))
            } catch {
                return ConsoleHTML.response(
                    ConsoleHTML.page(
                        title: "Subscription \(name)", csrf: nil,
                        ConsoleHTML.notice(Self.message(of: error), error: true) + "<p><a href=\"\(page)#edit\">Back to the subscription</a></p>"),
                    status: .badRequest)
            }
            return ConsoleHTML.redirect(to: "\(page)?done=updated")
        }
    }
}
