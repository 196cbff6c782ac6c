import Delivery
import Foundation
import Hummingbird
import HummingbirdCore
import Kafka
import Logging
import NIOCore
import RegistryEvents
import Store

/// The web console at `/console`: pages rendered here, forms posted back.
/// Every change goes through the same handlers as the JSON API (their
/// validation, their messages), called in process; the console adds the
/// sign-in, CSRF tokens and HTML.
struct ConsoleController: Sendable {
    typealias Context = AppRequestContext

    let sessions: ConsoleSessions
    let store: any ControlPlaneStore
    let webhooks: WebhookController<Context>
    let deadLetters: DeadLetterController<Context>
    let replays: ReplayController<Context>
    let operations: OperationsReader
    /// The API's subscription handlers, per scope kind.
    let subscriptions: [SubscriptionScope.Kind: EventSubscriptionController<Context>]
    let kafkaTopics: KafkaTopicsController<Context>
    let logger: Logger

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("") { _, _ in ConsoleHTML.redirect(to: "/console/registries") }
        group.get("login", use: signInPage)
        group.post("login", use: signIn)
        group.post("logout", use: signOut)
        group.get("registries", use: registries)
        group.get("registries/:registry", use: registry)
        group.post("registries/:registry/webhooks", use: createWebhook)
        group.get("registries/:registry/webhooks/:name", use: webhook)
        group.post("registries/:registry/webhooks/:name/ping", use: ping)
        group.post("registries/:registry/webhooks/:name/status", use: setStatus)
        group.post("registries/:registry/webhooks/:name/delete", use: deleteWebhook)
        group.post("registries/:registry/webhooks/:name/edit", use: editWebhook)
        group.post("registries/:registry/webhooks/:name/replay", use: replayWebhook)
        group.get("registries/:registry/subscriptions/:name", use: subscriptionPage)
        group.post("registries/:registry/subscriptions/:name/edit", use: editSubscription)
        group.post("registries/:registry/subscriptions/:name/replay", use: replaySubscription)
        group.get("topics", use: topics)
        group.post("topics/:topic/keys", use: topicKeys)
        group.get("topics/:topic/subscriptions/:name", use: subscriptionPage)
        group.post("topics/:topic/subscriptions/:name/edit", use: editSubscription)
        group.post("topics/:topic/subscriptions/:name/replay", use: replaySubscription)
        group.get("operations", use: operationsList)
        group.get("deadletters", use: deadLetterList)
        group.post("deadletters/redrive", use: redrive)
        group.get("kafka", use: kafka)
    }

    // MARK: Access

    /// Who may see a page: a signed-in session, or anyone on loopback when
    /// no admin token is set (given a session then, for the CSRF token).
    enum Access {
        case allowed(ConsoleSessions.Session, setCookie: String?)
        case signIn
        case refused(String)
    }

    func access(_ request: Request, _ context: Context) -> Access {
        if let session = sessions.session(of: request) {
            return sessions.adminToken == nil && !context.isLoopback ? .refused(Self.loopbackOnly) : .allowed(session, setCookie: nil)
        }
        guard sessions.adminToken == nil else { return .signIn }
        guard context.isLoopback else { return .refused(Self.loopbackOnly) }
        let (cookie, session) = sessions.issue()
        return .allowed(session, setCookie: cookie)
    }

    static let loopbackOnly = "Without --admin-token the console answers loopback only; start serve with --admin-token to sign in from elsewhere."

    /// Runs `page` for a permitted GET; otherwise the sign-in page or a refusal.
    func page(
        _ request: Request, _ context: Context, _ page: (ConsoleSessions.Session) async throws -> Response
    ) async throws -> Response {
        switch access(request, context) {
        case .allowed(let session, let cookie):
            var response = try await page(session)
            if let cookie, response.headers[.setCookie] == nil { response.headers[.setCookie] = cookie }
            return response
        case .signIn:
            return ConsoleHTML.redirect(to: "/console/login")
        case .refused(let why):
            return ConsoleHTML.response(ConsoleHTML.page(title: "Not here", csrf: nil, ConsoleHTML.notice(why, error: true)), status: .forbidden)
        }
    }

    /// Runs `action` for a permitted POST whose form carries the session's CSRF token.
    func action(
        _ request: Request, _ context: Context, _ action: (ConsoleForm) async throws -> Response
    ) async throws -> Response {
        guard case .allowed(let session, _) = access(request, context), sessions.session(of: request) != nil else {
            return refusedForm("Sign in first: this form came without a valid session.")
        }
        let form = try await ConsoleForm.read(request)
        guard let sent = form["csrf"], ConsoleSessions.constantTimeEqual(sent, session.csrf) else {
            logger.warning("Console form refused: missing or wrong CSRF token", metadata: ["path": "\(request.uri.path)"])
            return refusedForm("This form is not one the console gave you (missing or wrong CSRF token); nothing was changed.")
        }
        return try await action(form)
    }

    func refusedForm(_ why: String) -> Response {
        ConsoleHTML.response(
            ConsoleHTML.page(title: "Refused", csrf: nil, ConsoleHTML.notice(why, error: true) + "<p><a href=\"/console/registries\">Back to the console</a></p>"),
            status: .forbidden)
    }

    // MARK: Sign-in

    @Sendable func signInPage(_ request: Request, context: Context) async throws -> Response {
        guard sessions.adminToken != nil else { return ConsoleHTML.redirect(to: "/console/registries") }
        let failed = request.uri.queryParameters.get("failed") != nil
        return ConsoleHTML.response(
            ConsoleHTML.page(
                title: "Sign in", csrf: nil,
                (failed ? ConsoleHTML.notice("That is not the admin token.", error: true) : "") + """
                    <form method="post" action="/console/login" class="stack">
                    <div><label for="token">Admin token</label>
                    <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
                    <p class="muted">The value given to serve as --admin-token (or REGEVENTS_ADMIN_TOKEN).</p></div>
                    <div><button type="submit">Sign in</button></div></form>
                    """))
    }

    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let form = try await ConsoleForm.read(request)
        guard sessions.isAdminToken(form["token"] ?? "") else {
            logger.notice("Console sign-in refused")
            return ConsoleHTML.redirect(to: "/console/login?failed=1")
        }
        return ConsoleHTML.redirect(to: "/console/registries", setCookie: sessions.issue().setCookie)
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        try await action(request, context) { _ in
            ConsoleHTML.redirect(to: sessions.adminToken == nil ? "/console/registries" : "/console/login", setCookie: sessions.signOutCookie)
        }
    }

    // MARK: Registries and webhooks

    @Sendable func registries(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            if let open = request.uri.queryParameters.get("open"), !open.isEmpty {
                return ConsoleHTML.redirect(to: "/console/registries/\(Self.path(open))")
            }
            let webhooks = try await store.allWebhooks()
            let subscriptions = try await store.allSubscriptions()
            var names = Set(webhooks.map(\.registry))
            for subscription in subscriptions where subscription.scope.kind == .registry { names.insert(subscription.scope.name) }
            let rows = names.sorted().map { name in
                [
                    "<a href=\"/console/registries/\(Self.path(name))\">\(ConsoleHTML.escape(name))</a>",
                    String(webhooks.filter { $0.registry == name }.count),
                    String(subscriptions.filter { $0.scope == .registry(name) }.count),
                ]
            }
            let body = ConsoleHTML.table(caption: "Registries with webhooks or subscriptions", headers: ["Registry", "Webhooks", "Subscriptions"], rows: rows)
                + """
                <h2>Open a registry</h2>
                <form method="get" action="/console/registries" class="stack">
                <div><label for="open">Registry name</label><input type="text" id="open" name="open" required
                 aria-describedby="open-help"><p id="open-help" class="muted">A registry is listed once it has a webhook or a
                 subscription; open any other to create its first webhook.</p></div>
                <div><button type="submit">Open</button></div></form>
                """
            return ConsoleHTML.response(ConsoleHTML.page(title: "Registries", csrf: session.csrf, body))
        }
    }

    @Sendable func registry(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            let registry = try context.parameters.require("registry")
            return try await registryPage(registry, session: session, notice: nil, form: nil)
        }
    }

    private func registryPage(_ registry: String, session: ConsoleSessions.Session, notice: String?, form: ConsoleForm?) async throws -> Response {
        let webhooks = try await store.webhooks(registry: registry)
        let subscriptions = try await store.subscriptions(scope: .registry(registry))
        let rows = webhooks.map { webhook in
            [
                "<a href=\"/console/registries/\(Self.path(registry))/webhooks/\(Self.path(webhook.name))\">\(ConsoleHTML.escape(webhook.name))</a>",
                ConsoleHTML.escape(webhook.status.rawValue), ConsoleHTML.escape(webhook.actions.map(\.rawValue).joined(separator: ", ")),
                ConsoleHTML.escape(webhook.scope.text.isEmpty ? "(all)" : webhook.scope.text), ConsoleHTML.escape(webhook.location),
            ]
        }
        let subscriptionRows = subscriptions.map { subscription in
            [
                "<a href=\"/console/registries/\(Self.path(registry))/subscriptions/\(Self.path(subscription.name))\">\(ConsoleHTML.escape(subscription.name))</a>",
                ConsoleHTML.escape(subscription.provisioningState.rawValue),
                ConsoleHTML.escape(subscription.eventDeliverySchema.rawValue),
                ConsoleHTML.escape(subscription.filter.includedEventTypes?.joined(separator: ", ") ?? "(all)"),
            ]
        }
        let body = (notice.map { ConsoleHTML.notice($0, error: form != nil) } ?? "")
            + ConsoleHTML.table(caption: "Webhooks", headers: ["Name", "Status", "Actions", "Scope", "Location"], rows: rows)
            + ConsoleHTML.table(
                caption: "Event subscriptions", headers: ["Name", "Provisioning", "Schema", "Event types"], rows: subscriptionRows)
            + createForm(registry, session: session, form: form)
        return ConsoleHTML.response(
            ConsoleHTML.page(title: "Registry \(registry)", csrf: session.csrf, body), status: form == nil ? .ok : .badRequest)
    }

    /// ACR's "Create webhook" form; `form` refills it after a refusal.
    private func createForm(_ registry: String, session: ConsoleSessions.Session, form: ConsoleForm?) -> String {
        func value(_ name: String) -> String { ConsoleHTML.escape(form?[name] ?? "") }
        let chosen = Set(form?.all("actions") ?? ["push"])
        let actions = RegistryAction.webhookActions.map { action in
            "<label class=\"check\"><input type=\"checkbox\" name=\"actions\" value=\"\(action.rawValue)\"\(chosen.contains(action.rawValue) ? " checked" : "")>\(action.rawValue)</label>"
        }.joined()
        let disabled = form?["status"] == "disabled"
        return """
            <h2 id="create">Create webhook</h2>
            <form method="post" action="/console/registries/\(Self.path(registry))/webhooks" class="stack">
            \(ConsoleHTML.csrfField(session.csrf))
            <div><label for="name">Webhook name</label><input type="text" id="name" name="name" value="\(value("name"))" required
             aria-describedby="name-help"><p id="name-help" class="muted">5–50 letters and digits.</p></div>
            <div><label for="serviceUri">Service URI</label><input type="url" id="serviceUri" name="serviceUri" value="\(value("serviceUri"))" required></div>
            <div><label for="customHeaders">Custom headers</label><textarea id="customHeaders" name="customHeaders" rows="3"
             aria-describedby="headers-help">\(value("customHeaders"))</textarea><p id="headers-help" class="muted">One "Name: value" a line; values are never shown again.</p></div>
            <fieldset><legend>Actions</legend>\(actions)</fieldset>
            <div><label for="status">Status</label><select id="status" name="status"><option value="enabled">enabled</option>
             <option value="disabled"\(disabled ? " selected" : "")>disabled</option></select></div>
            <div><label for="scope">Scope</label><input type="text" id="scope" name="scope" value="\(value("scope"))" aria-describedby="scope-help">
             <p id="scope-help" class="muted">repository:tag, wildcards allowed (e.g. foo:*); empty for every event.</p></div>
            <div><label for="location">Location</label><input type="text" id="location" name="location" value="\(value("location"))"></div>
            <div><button type="submit">Create</button></div>
            </form>
            """
    }

    @Sendable func createWebhook(_ request: Request, context: Context) async throws -> Response {
        try await action(request, context) { form in
            let registry = try context.parameters.require("registry")
            guard case .allowed(let session, _) = access(request, context) else { return refusedForm("Sign in first.") }
            var headers: [String: String] = [:]
            for line in (form["customHeaders"] ?? "").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let colon = line.firstIndex(of: ":") else {
                    return try await registryPage(registry, session: session, notice: "Custom headers: \"\(line)\" is not Name: value.", form: form)
                }
                headers[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var properties: [String: Any] = [
                "serviceUri": form["serviceUri"] ?? "", "actions": form.all("actions"), "status": form["status"] ?? "enabled",
                "scope": form["scope"] ?? "",
            ]
            if !headers.isEmpty { properties["customHeaders"] = headers }
            var body: [String: Any] = ["properties": properties]
            if let location = form["location"], !location.isEmpty { body["location"] = location }
            let name = form["name"] ?? ""
            do {
                _ = try await webhooks.create(
                    try Self.apiRequest(.put, "/v1/registries/\(Self.path(registry))/webhooks/\(Self.path(name))", json: body),
                    context: Self.context(context, ["registry": registry, "name": name]))
            } catch {
                return try await registryPage(registry, session: session, notice: Self.message(of: error), form: form)
            }
            return ConsoleHTML.redirect(to: "/console/registries/\(Self.path(registry))/webhooks/\(Self.path(name))?done=created")
        }
    }

    @Sendable func webhook(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            let registry = try context.parameters.require("registry")
            let name = try context.parameters.require("name")
            let shown: WebhookResource.Response
            do {
                shown = try await webhooks.show(
                    try Self.apiRequest(.get, "/v1/registries/\(Self.path(registry))/webhooks/\(Self.path(name))"),
                    context: Self.context(context, ["registry": registry, "name": name]))
            } catch {
                return ConsoleHTML.response(
                    ConsoleHTML.page(title: "Webhook \(name)", csrf: session.csrf, ConsoleHTML.notice(Self.message(of: error), error: true)),
                    status: .notFound)
            }
            let done = request.uri.queryParameters.get("done").map { Self.doneMessages[$0] ?? "" } ?? ""
            let entries = try await store.deliveryLog(registry: registry, webhook: name, limit: 50, before: nil)
            let base = "/console/registries/\(Self.path(registry))/webhooks/\(Self.path(name))"
            let enabled = shown.properties.status == "enabled"
            let lane = shown.properties.delivery
            var body = done.isEmpty ? "" : ConsoleHTML.notice(done, error: false)
            body += """
                <dl>
                <dt>Registry</dt><dd>\(ConsoleHTML.escape(registry))</dd>
                <dt>Status</dt><dd>\(ConsoleHTML.escape(shown.properties.status))</dd>
                <dt>Actions</dt><dd>\(ConsoleHTML.escape(shown.properties.actions.joined(separator: ", ")))</dd>
                <dt>Scope</dt><dd>\(ConsoleHTML.escape(shown.properties.scope.isEmpty ? "(all)" : shown.properties.scope))</dd>
                <dt>Location</dt><dd>\(ConsoleHTML.escape(shown.location))</dd>
                <dt>In flight</dt><dd>\(lane.map { "\($0.inFlight) of \($0.limit)" } ?? "-")</dd>
                <dt>Breaker</dt><dd>\(ConsoleHTML.escape(lane.map { "\($0.breaker.rawValue), \($0.consecutiveFailures) failures in a row" } ?? "-"))</dd>
                <dt>Health</dt><dd>\(ConsoleHTML.escape(lane?.failingForSeconds.map { "failing for \($0) s without a success (disabled by the health rule past its limit)" } ?? "answering"))</dd>
                </dl>
                <p>
                <form method="post" action="\(base)/ping" class="inline">\(ConsoleHTML.csrfField(session.csrf))<button type="submit">Ping</button></form>
                <form method="post" action="\(base)/status" class="inline">\(ConsoleHTML.csrfField(session.csrf))<input type="hidden" name="status" value="\(enabled ? "disabled" : "enabled")"><button type="submit">\(enabled ? "Disable" : "Enable")</button></form>
                <form method="post" action="\(base)/delete" class="inline">\(ConsoleHTML.csrfField(session.csrf))<button type="submit" class="danger">Delete</button></form>
                </p>
                """
            let rows = entries.map { entry -> [String] in
                let action = (JSONValue(parsing: Array(entry.request.content.utf8))?["action"]?.stringValue) ?? "-"
                let status = entry.response.map { $0.statusCode.isEmpty ? "no response" : $0.statusCode } ?? "-"
                return [
                    ConsoleHTML.escape(entry.eventID), ConsoleHTML.escape(action), ConsoleHTML.escape(Self.time(entry.createdAt)),
                    "<strong>\(ConsoleHTML.escape(status))</strong>",
                    entry.response?.durationMilliseconds.map { "\($0) ms" } ?? "-", String(entry.attempt),
                    "<details><summary>Request and response</summary><pre>\(ConsoleHTML.escape(Self.describe(entry)))</pre></details>",
                ]
            }
            body += ConsoleHTML.table(caption: "Events", headers: ["Event", "Action", "Time", "HTTP STATUS", "Latency", "Attempt", "Detail"], rows: rows)
            body += editForm(base, shown: shown, session: session)
            body += await operationsSection(source: OperationsLog.webhookSource(registry: registry, name: name))
            body += Self.replayForm(action: "\(base)/replay", csrf: session.csrf)
            return ConsoleHTML.response(ConsoleHTML.page(title: "Webhook \(name)", csrf: session.csrf, body))
        }
    }

    /// Edit: what is left empty stays as it is (the service URI and header
    /// values are never shown, as in the API).
    private func editForm(_ base: String, shown: WebhookResource.Response, session: ConsoleSessions.Session) -> String {
        let actions = RegistryAction.webhookActions.map { action in
            "<label class=\"check\"><input type=\"checkbox\" name=\"actions\" value=\"\(action.rawValue)\"\(shown.properties.actions.contains(action.rawValue) ? " checked" : "")>\(action.rawValue)</label>"
        }.joined()
        return """
            <h2 id="edit">Edit</h2>
            <form method="post" action="\(base)/edit" class="stack">\(ConsoleHTML.csrfField(session.csrf))
            <div><label for="edit-serviceUri">New service URI</label><input type="url" id="edit-serviceUri" name="serviceUri"
             aria-describedby="edit-uri-help"><p id="edit-uri-help" class="muted">Empty: unchanged (the current one is not shown).</p></div>
            <div><label for="edit-customHeaders">New custom headers</label><textarea id="edit-customHeaders" name="customHeaders" rows="2"
             aria-describedby="edit-headers-help"></textarea><p id="edit-headers-help" class="muted">One "Name: value" a line; empty: unchanged.</p></div>
            <fieldset><legend>Actions</legend>\(actions)</fieldset>
            <div><label for="edit-scope">Scope</label><input type="text" id="edit-scope" name="scope" value="\(ConsoleHTML.escape(shown.properties.scope))"></div>
            <div><button type="submit">Save</button></div></form>
            """
    }

    @Sendable func editWebhook(_ request: Request, context: Context) async throws -> Response {
        try await action(request, context) { form in
            let (registry, name) = (try context.parameters.require("registry"), try context.parameters.require("name"))
            var properties: [String: Any] = ["actions": form.all("actions"), "scope": form["scope"] ?? ""]
            if let uri = form["serviceUri"], !uri.isEmpty { properties["serviceUri"] = uri }
            let headers = (form["customHeaders"] ?? "").split(whereSeparator: \.isNewline).compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (line[..<colon].trimmingCharacters(in: .whitespaces), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            if !headers.isEmpty { properties["customHeaders"] = Dictionary(headers) { $1 } }
            let page = "/console/registries/\(Self.path(registry))/webhooks/\(Self.path(name))"
            do {
                _ = try await webhooks.update(
                    try Self.apiRequest(.patch, "/v1/registries/\(Self.path(registry))/webhooks/\(Self.path(name))", json: ["properties": properties]),
                    context: Self.context(context, ["registry": registry, "name": name]))
            } catch {
                return ConsoleHTML.response(
                    ConsoleHTML.page(
                        title: "Webhook \(name)", csrf: nil,
                        ConsoleHTML.notice(Self.message(of: error), error: true) + "<p><a href=\"\(page)#edit\">Back to the webhook</a></p>"),
                    status: .badRequest)
            }
            return ConsoleHTML.redirect(to: "\(page)?done=updated")
        }
    }

    static let doneMessages = [
        "updated": "Webhook updated.",
        "created": "Webhook created.", "ping": "Ping sent; its answer is in the events below.", "enabled": "Webhook enabled.",
        "disabled": "Webhook disabled.",
    ]

    @Sendable func ping(_ request: Request, context: Context) async throws -> Response {
        try await webhookAction(request, context) { api, parameters, _ in
            _ = try await webhooks.ping(try api(.post, "/ping", nil), context: parameters)
            return "?done=ping"
        }
    }

    @Sendable func setStatus(_ request: Request, context: Context) async throws -> Response {
        try await webhookAction(request, context) { api, parameters, form in
            let status = form["status"] == "disabled" ? "disabled" : "enabled"
            _ = try await webhooks.update(try api(.patch, "", ["properties": ["status": status]]), context: parameters)
            return "?done=\(status)"
        }
    }

    @Sendable func deleteWebhook(_ request: Request, context: Context) async throws -> Response {
        try await webhookAction(request, context) { api, parameters, _ in
            _ = try await webhooks.delete(try api(.delete, "", nil), context: parameters)
            return nil
        }
    }

    /// A button on a webhook's page: `body` gets a maker of API requests for
    /// that webhook's path (plus a suffix), the context naming it, and the
    /// form; it answers what to add to the webhook page's URL to go back to
    /// it, or nil to go back to the registry (the webhook is gone).
    private func webhookAction(
        _ request: Request, _ context: Context,
        _ body: (_ api: (HTTPRequest.Method, String, Any?) throws -> Request, _ parameters: Context, _ form: ConsoleForm) async throws -> String?
    ) async throws -> Response {
        try await action(request, context) { form in
            let (registry, name) = (try context.parameters.require("registry"), try context.parameters.require("name"))
            let path = "/v1/registries/\(Self.path(registry))/webhooks/\(Self.path(name))"
            let back = try await body(
                { method, suffix, json in try Self.apiRequest(method, path + suffix, json: json) },
                Self.context(context, ["registry": registry, "name": name]), form)
            let page = "/console/registries/\(Self.path(registry))"
            return ConsoleHTML.redirect(to: back.map { "\(page)/webhooks/\(Self.path(name))\($0)" } ?? page)
        }
    }

    // MARK: Subscriptions and custom topics

    /// A subscription: its state and why, how it delivers, its edit and
    /// replay forms. The endpoint shows without its query string (getFullUrl reveals it).
    @Sendable func subscriptionPage(_ request: Request, context: Context) async throws -> Response {
        let scope = try Self.subscriptionScope(context)
        return try await page(request, context) { session in
            let name = try context.parameters.require("name")
            guard let subscription = try await store.subscription(scope: scope, name: name) else {
                return ConsoleHTML.response(
                    ConsoleHTML.page(title: "Subscription \(name)", csrf: session.csrf, ConsoleHTML.notice("\(scope) has no subscription \(name)", error: true)),
                    status: .notFound)
            }
            let endpoint = URLComponents(string: subscription.endpointURL).map { "\($0.scheme ?? "")://\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")\($0.path)" } ?? "-"
            let deadLetter = subscription.deadLetterDestination.map { destination in
                destination.properties.topic.map { "Kafka topic \($0)" }
                    ?? destination.properties.endpointUrl.flatMap { URLComponents(string: $0)?.host }.map { "webhook at \($0)" } ?? "-"
            } ?? "the server's dead-letter topic"
            let filter = String(decoding: (try? JSONCoding.encoder.encode(subscription.filter)) ?? Data(), as: UTF8.self)
            var body = """
                <dl>
                <dt>Scope</dt><dd>\(ConsoleHTML.escape(scope.description))</dd>
                <dt>Provisioning</dt><dd>\(ConsoleHTML.escape(subscription.provisioningState.rawValue))</dd>
                <dt>Why</dt><dd>\(ConsoleHTML.escape(subscription.provisioningMessage ?? "-"))</dd>
                <dt>Endpoint</dt><dd>\(ConsoleHTML.escape(endpoint))</dd>
                <dt>Schema</dt><dd>\(ConsoleHTML.escape(subscription.eventDeliverySchema.rawValue))</dd>
                <dt>Batching</dt><dd>\(subscription.maxEventsPerBatch) events, \(subscription.preferredBatchSizeInKilobytes) KB</dd>
                <dt>Retry policy</dt><dd>\(subscription.maxDeliveryAttempts) attempts within \(subscription.eventTimeToLiveInMinutes) minutes</dd>
                <dt>Dead letters</dt><dd>\(ConsoleHTML.escape(deadLetter))</dd>
                </dl>
                <h2>Filter</h2><pre>\(ConsoleHTML.escape(filter))</pre>
                <p><a href="/console/deadletters?target=\(Self.path(name))">Its dead letters</a></p>
                """
            let page = Self.subscriptionPaths(scope, name).page
            if request.uri.queryParameters.get("done") == "updated" { body = ConsoleHTML.notice("Subscription updated.", error: false) + body }
            body += Self.subscriptionEditForm(action: "\(page)/edit", subscription, csrf: session.csrf)
            body += await operationsSection(source: OperationsLog.subscriptionSource(scope, name: name))
            if subscription.isActive { body += Self.replayForm(action: "\(page)/replay", csrf: session.csrf) }
            return ConsoleHTML.response(ConsoleHTML.page(title: "Subscription \(name)", csrf: session.csrf, body))
        }
    }

    @Sendable func topics(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            try await topicsPage(session: session, keys: nil)
        }
    }

    private func topicsPage(session: ConsoleSessions.Session, keys: CustomTopic?) async throws -> Response {
        let topics = try await store.topics()
        var body = ""
        if let keys {
            body += ConsoleHTML.notice("Keys of \(keys.name): key1 \(keys.key1), key2 \(keys.key2)", error: false)
        }
        var rows: [[String]] = []
        for topic in topics {
            let subscriptions = try await store.subscriptions(scope: .topic(topic.name)).map { subscription in
                "<a href=\"/console/topics/\(Self.path(topic.name))/subscriptions/\(Self.path(subscription.name))\">\(ConsoleHTML.escape(subscription.name))</a>"
            }
            rows.append([
                ConsoleHTML.escape(topic.name), ConsoleHTML.escape(topic.inputSchema.rawValue),
                "<code>/v1/topics/\(ConsoleHTML.escape(topic.name))/api/events</code>",
                subscriptions.isEmpty ? "-" : subscriptions.joined(separator: ", "),
                "<form method=\"post\" action=\"/console/topics/\(Self.path(topic.name))/keys\">\(ConsoleHTML.csrfField(session.csrf))<button type=\"submit\">Show keys</button></form>",
            ])
        }
        body += ConsoleHTML.table(caption: "Custom topics", headers: ["Topic", "Input schema", "Publish at", "Subscriptions", "Keys"], rows: rows)
        return ConsoleHTML.response(ConsoleHTML.page(title: "Custom topics", csrf: session.csrf, body))
    }

    /// The keys, shown only when asked (a POST, so a CSRF token), as listKeys.
    @Sendable func topicKeys(_ request: Request, context: Context) async throws -> Response {
        try await action(request, context) { _ in
            guard case .allowed(let session, _) = access(request, context) else { return refusedForm("Sign in first.") }
            let name = try context.parameters.require("topic")
            guard let topic = try await store.topic(name: name) else { return refusedForm("No custom topic \(name).") }
            logger.notice("Custom topic keys shown in the console", metadata: ["topic": "\(name)"])
            return try await topicsPage(session: session, keys: topic)
        }
    }

    // MARK: Dead letters and Kafka

    @Sendable func deadLetterList(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            try await deadLetterPage(request, context, session: session, notice: nil)
        }
    }

    private func deadLetterPage(_ request: Request, _ context: Context, session: ConsoleSessions.Session, notice: (String, Bool)?) async throws -> Response {
        let query = request.uri.query.map { "?\($0)" } ?? ""
        var body = notice.map { ConsoleHTML.notice($0.0, error: $0.1) } ?? ""
        let list: DeadLetterList
        do {
            list = try await deadLetters.list(try Self.apiRequest(.get, "/v1/deadletters\(query)"), context: context)
        } catch {
            body += ConsoleHTML.notice(Self.message(of: error), error: true)
            return ConsoleHTML.response(ConsoleHTML.page(title: "Dead letters", csrf: session.csrf, body), status: .badRequest)
        }
        let parameters = request.uri.queryParameters
        func field(_ name: String, _ label: String) -> String {
            "<div><label for=\"f-\(name)\">\(label)</label><input type=\"text\" id=\"f-\(name)\" name=\"\(name)\" value=\"\(ConsoleHTML.escape(parameters.get(name) ?? ""))\"></div>"
        }
        body += """
            <form method="get" action="/console/deadletters" class="stack" aria-label="Filter">
            \(field("target", "Target (webhook or subscription name)"))\(field("scope", "Scope (registry/&lt;name&gt; or topic/&lt;name&gt;)"))
            \(field("reason", "Reason contains"))\(field("since", "Since (RFC 3339)"))
            <div><button type="submit">Filter</button></div></form>
            """
        let rows = list.value.map { letter -> [String] in
            let id = ConsoleHTML.escape(letter.id)
            return [
                letter.canRedrive ? "<input type=\"checkbox\" name=\"ids\" value=\"\(id)\" id=\"dl-\(id)\" aria-label=\"Select \(id)\">" : "",
                id, ConsoleHTML.escape(Self.time(letter.deadLetteredAt)), ConsoleHTML.escape(letter.kind.rawValue),
                ConsoleHTML.escape(letter.target ?? "-"), ConsoleHTML.escape(letter.eventID ?? "-"),
                ConsoleHTML.escape(letter.lastHttpStatusCode.map(String.init) ?? "-"), ConsoleHTML.escape(letter.reason),
                letter.event.map { "<details><summary>Event</summary><pre>\(ConsoleHTML.escape(String(decoding: $0.jsonBytes, as: UTF8.self)))</pre></details>" } ?? "",
            ]
        }
        body += """
            <form method="post" action="/console/deadletters/redrive">\(ConsoleHTML.csrfField(session.csrf))
            \(ConsoleHTML.table(caption: "Dead letters, oldest first", headers: ["Select", "Id", "Dead-lettered", "Kind", "Target", "Event", "Last status", "Reason", "Event"], rows: rows))
            <p><button type="submit">Redrive selected</button></p></form>
            \(list.nextLink != nil ? "<p class=\"muted\">More dead letters match: narrow the filter.</p>" : "")
            """
        return ConsoleHTML.response(ConsoleHTML.page(title: "Dead letters", csrf: session.csrf, body))
    }

    @Sendable func redrive(_ request: Request, context: Context) async throws -> Response {
        try await action(request, context) { form in
            guard case .allowed(let session, _) = access(request, context) else { return refusedForm("Sign in first.") }
            let ids = form.all("ids")
            guard !ids.isEmpty else {
                return try await deadLetterPage(request, context, session: session, notice: ("Select at least one dead letter.", true))
            }
            let results = try await deadLetters.redrive(RedriveRequest(ids: ids, filter: nil, topic: nil), by: "admin (console)")
            let summary = results.value.map { "\($0.id): \($0.status.rawValue)" + ($0.message.map { " (\($0))" } ?? "") }.joined(separator: "; ")
            return try await deadLetterPage(request, context, session: session, notice: ("Redrive: \(summary)", false))
        }
    }

    @Sendable func kafka(_ request: Request, context: Context) async throws -> Response {
        try await page(request, context) { session in
            let report: TopicReport
            do {
                report = try await kafkaTopics.topics(try Self.apiRequest(.get, "/v1/kafka/topics"), context: context)
            } catch {
                return ConsoleHTML.response(
                    ConsoleHTML.page(title: "Kafka", csrf: session.csrf, refreshSeconds: 5, ConsoleHTML.notice(Self.message(of: error), error: true)),
                    status: .serviceUnavailable)
            }
            var rows: [[String]] = []
            for topic in report.topics {
                let base = [ConsoleHTML.escape(topic.name), String(topic.partitions.count), String(topic.records), String(topic.endOffsets)]
                if topic.consumerGroups.isEmpty { rows.append(base + ["-", "-", "-"]) }
                for group in topic.consumerGroups {
                    rows.append(base + [ConsoleHTML.escape(group.group), String(group.lag), String(group.lostRecords)])
                }
            }
            let body = "<p class=\"muted\">Refreshes every 5 seconds. Lag: records not yet committed by the group.</p>"
                + ConsoleHTML.table(caption: "Topics and consumer groups", headers: ["Topic", "Partitions", "Records", "End offsets", "Group", "Lag", "Lost"], rows: rows)
            return ConsoleHTML.response(ConsoleHTML.page(title: "Kafka", csrf: session.csrf, refreshSeconds: 5, body))
        }
    }

    // MARK: Helpers

    /// A request for an API handler, in process.
    static func apiRequest(_ method: HTTPRequest.Method, _ path: String, json: Any? = nil) throws -> Request {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        let bytes = try json.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        return Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "console", path: path, headerFields: fields),
            body: .init(buffer: ByteBuffer(bytes: bytes)))
    }

    static func context(_ context: Context, _ parameters: [String: String]) -> Context {
        var copy = context
        var values = Parameters()
        for (name, value) in parameters { values[Substring(name)] = Substring(value) }
        copy.coreContext.parameters = values
        return copy
    }

    static func message(of error: any Error) -> String {
        if let error = error as? APIError { return error.message }
        return "\(error)"
    }

    static func path(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? segment
    }

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: date)
    }

    static func describe(_ entry: DeliveryLogEntry) -> String {
        var text = "\(entry.request.method) \(entry.request.requestUri)\n"
        for (name, value) in entry.request.headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\n" }
        text += "\n\(entry.request.content)\n"
        if let response = entry.response {
            text += "\n→ \(response.statusCode) \(response.reasonPhrase)\n"
            for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\n" }
            if !response.content.isEmpty { text += "\n\(response.content)\n" }
        }
        return text
    }
}
