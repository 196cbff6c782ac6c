import Foundation
import Hummingbird
import NIOCore
import RegistryEvents

/// `POST /v1/registries/{registry}/notifications` (Distribution envelopes) and
/// `POST /v1/registries/{registry}/events` (ACR-native events).
struct IngestController<Context: RequestContext> {
    let service: IngestService

    func addRoutes(to group: RouterGroup<Context>) {
        // GitHub cannot send a bearer token: its route is signed instead (see `github`).
        group.post("registries/:registry/\(GitHubPackagesAdapter.route)", use: github)
        let registries = group.group("registries")
            .add(middleware: BearerTokenMiddleware.ingest(service.settings.token))
        registries.post(":registry/notifications", use: notifications)
        registries.post(":registry/events", use: events)
        registries.post(":registry/\(HarborAdapter.route)") { request, context in
            try await adapted(HarborAdapter(ingestUntagged: service.settings.ingestUntagged), request, context)
        }
        registries.post(":registry/\(ZotAdapter.route)") { request, context in
            try await adapted(ZotAdapter(ingestUntagged: service.settings.ingestUntagged), request, context)
        }
        // Quay and Docker Hub cannot send a header: their URL may carry the token.
        let headerless = group.group("registries")
            .add(middleware: BearerTokenMiddleware.ingest(service.settings.token, acceptsQueryParameter: true))
        headerless.post(":registry/\(QuayAdapter.route)") { request, context in try await adapted(QuayAdapter(), request, context) }
        headerless.post(":registry/\(DockerHubAdapter.route)") { request, context in
            try await adapted(DockerHubAdapter(), request, context)
        }
    }

    /// GitHub Packages: with `--github-webhook-secret`, only deliveries whose
    /// `X-Hub-Signature-256` is that secret's HMAC-SHA256 of the body; without
    /// it, only when no ingest token is set either.
    @Sendable func github(_ request: Request, context: Context) async throws -> Response {
        let settings = service.settings
        guard let secret = settings.githubWebhookSecret else {
            guard settings.token == nil else {
                throw APIError(
                    .unauthorized, code: "Unauthorized",
                    message: "GitHub cannot send the ingest token: start serve with --github-webhook-secret, and give GitHub the same secret")
            }
            return try await adapted(GitHubPackagesAdapter(ingestUntagged: settings.ingestUntagged), request, context)
        }
        let body = try await Self.body(request, limit: settings.maxBodyBytes)
        guard let signature = request.headers[values: .init("X-Hub-Signature-256")!].first, GitHubSignature.isValid(signature, body: body, secret: secret)
        else {
            throw APIError(.unauthorized, code: "InvalidSignature", message: "X-Hub-Signature-256 is missing or is not this server's secret's signature of the body")
        }
        return try await adapted(GitHubPackagesAdapter(ingestUntagged: settings.ingestUntagged), request, context, body: body)
    }

    /// A registry's own webhook format, answered as the Distribution route answers.
    func adapted(_ adapter: some RegistryAdapter, _ request: Request, _ context: Context, body read: [UInt8]? = nil) async throws -> Response {
        let registry = try Self.registry(context)
        var body = read ?? []
        if read == nil { body = try await Self.body(request, limit: service.settings.maxBodyBytes) }
        let location = try Self.location(request, default: service.settings.defaultLocation)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        return try await Self.answering(status: .ok) {
            try await service.ingest(adapter, body: body, headers: headers, registry: registry, location: location)
        }
    }

    /// The ingest's answer, or its failure as our JSON error: a body that is
    /// not the format 400, Kafka not answering 503, too many events 413.
    static func answering(status: HTTPResponse.Status, _ ingest: () async throws -> some Encodable) async throws -> Response {
        do {
            return try JSONResponse.make(try await ingest(), status: status)
        } catch let error as AdapterError {
            throw APIError.badRequest(error.description, code: "InvalidEnvelope")
        } catch let error as DistributionEnvelope.DecodingError {
            throw APIError.badRequest(error.description, code: "InvalidEnvelope")
        } catch let error as IngestService.KafkaUnavailable {
            throw APIError.unavailable(error.description, code: "KafkaUnavailable", retryAfter: 5)
        } catch let error as IngestService.RegistryUnavailable {
            throw APIError.unavailable(error.description, code: "RegistryUnavailable", retryAfter: 30)
        } catch let error as IngestService.TooManyEvents {
            throw APIError(.contentTooLarge, code: "TooManyEvents", message: error.description)
        }
    }

    @Sendable func notifications(_ request: Request, context: Context) async throws -> Response {
        let registry = try Self.registry(context)
        let body = try await Self.body(request, limit: service.settings.maxBodyBytes)
        let location = try Self.location(request, default: service.settings.defaultLocation)
        return try await Self.answering(status: .ok) {
            try await service.ingestNotification(body: body, registry: registry, location: location)
        }
    }

    @Sendable func events(_ request: Request, context: Context) async throws -> Response {
        let registry = try Self.registry(context)
        let body = try await Self.body(request, limit: service.settings.maxBodyBytes)
        let location = try Self.location(request, default: service.settings.defaultLocation)
        let parsed: ACRNativeEvents
        do {
            parsed = try ACRNativeEvents(parsing: body, registry: registry, defaultLocation: location)
        } catch {
            throw APIError.badRequest(error.description, code: "InvalidEvent")
        }
        return try await Self.answering(status: .accepted) { try await service.ingestEvents(parsed.events) }
    }

    static func registry(_ context: Context) throws -> String {
        try RouteNames.require(.registry, parameter: "registry", in: context)
    }

    static func location(_ request: Request, default location: String) throws -> String {
        guard let value = request.uri.queryParameters.get("location") else { return location }
        guard OCINames.isValidLocation(value) else {
            throw APIError.badRequest("location \"\(value)\" is invalid: letters, digits, '.', '_' and '-'", code: "InvalidLocation")
        }
        return value
    }

    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "PayloadTooLarge", message: "the body exceeds the limit of \(limit) bytes")
        }
    }
}

enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let bytes = JSONRendering.encode(value)
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        response.headers[.contentType] = "application/json; charset=utf-8"
        return response
    }
}
