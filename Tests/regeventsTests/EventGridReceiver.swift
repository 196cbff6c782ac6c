import TestSupport
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import HTTPTypes
import NIOCore
import NIOHTTP1

/// A real HTTP endpoint standing in for Event Grid subscribers. It records
/// every request and answers by path:
/// - validation (`aeg-event-type: SubscriptionValidation`): `/manual…` 200
///   with no body (the test then GETs the validation URL), `/refuse…` 403,
///   anything else 200 with `{"validationResponse": code}`;
/// - OPTIONS (CloudEvents abuse protection): `/noorigin…` 200 without
///   consent, anything else `WebHook-Allowed-Origin: *`;
/// - deliveries: `/flaky…` 503 twice then 200, `/fail…` 500, `/bad…` 400,
///   `/later…` 429 with `Retry-After: 1` once then 200, `/slow…` waits 20 s,
///   anything else 200.
final class EventGridReceiver: Sendable {
    struct Received: Sendable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: String
        let at: ContinuousClock.Instant

        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
        /// The events of a delivery: an array, or one CloudEvent alone.
        var events: [[String: Any]] {
            if let array = json as? [[String: Any]] { return array }
            if let object = json as? [String: Any] { return [object] }
            return []
        }
    }

    private let task: Task<Void, any Error>
    private let received: Locked<[Received]>
    let port: Int

    private init(port: Int, task: Task<Void, any Error>, received: Locked<[Received]>) {
        self.port = port
        self.task = task
        self.received = received
    }

    static func start() async throws -> EventGridReceiver {
        let received = Locked<[Received]>([])
        let counts = Locked<[String: Int]>([:])
        let router = Router()
        router.on("**", method: .post) { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 4 << 20))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let path = request.uri.path
            received.withLock { $0.append(Received(method: "POST", path: path, headers: headers, body: body, at: .now)) }
            if headers["aeg-event-type"] == "SubscriptionValidation" {
                if path.hasPrefix("/manual") { return Response(status: .ok) }
                if path.hasPrefix("/refuse") { return Response(status: .forbidden) }
                let code = ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]])?.first
                    .flatMap { $0["data"] as? [String: Any] }?["validationCode"] as? String ?? ""
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"validationResponse":"\#(code)"}"#)))
            }
            let count = counts.withLock { counts -> Int in
                counts[path, default: 0] += 1
                return counts[path] ?? 0
            }
            if path.hasPrefix("/slow") { try await Task.sleep(for: .seconds(20)) }
            if path.hasPrefix("/fail") { return Response(status: .internalServerError) }
            if path.hasPrefix("/bad") { return Response(status: .badRequest) }
            if path.hasPrefix("/flaky") && count <= 2 { return Response(status: .serviceUnavailable) }
            if path.hasPrefix("/later") && count == 1 { return Response(status: .tooManyRequests, headers: [.retryAfter: "1"]) }
            return Response(status: .ok)
        }
        router.on("**", method: .options) { request, _ -> Response in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let path = request.uri.path
            received.withLock { $0.append(Received(method: "OPTIONS", path: path, headers: headers, body: "", at: .now)) }
            if path.hasPrefix("/noorigin") { return Response(status: .ok) }
            return Response(status: .ok, headers: [HTTPField.Name("WebHook-Allowed-Origin")!: "*", .allow: "POST"])
        }
        let (port, task) = try await startLoopbackServer(router)
        return EventGridReceiver(port: port, task: task, received: received)
    }

    /// Whether a request's path is `path`, or under it when `path` ends in
    /// `/`. Never a plain prefix: `/ce` must not count `/cebatch`'s events.
    static func path(_ received: String, matches path: String) -> Bool {
        path.hasSuffix("/") ? received.hasPrefix(path) : received == path
    }

    /// Deliveries (not handshakes) to `path` (see `path(_:matches:)`).
    func deliveries(_ path: String) -> [Received] {
        received.withLock { $0 }.filter {
            Self.path($0.path, matches: path) && $0.method == "POST" && $0.headers["aeg-event-type"] != "SubscriptionValidation"
        }
    }

    func handshakes(_ path: String) -> [Received] {
        received.withLock { $0 }.filter {
            Self.path($0.path, matches: path) && ($0.method == "OPTIONS" || $0.headers["aeg-event-type"] == "SubscriptionValidation")
        }
    }

    /// Waits until the deliveries to `prefix` carry `events` events in all.
    func waitForEvents(_ prefix: String, count events: Int, limit: Duration = .seconds(30)) async throws -> [Received] {
        let deadline = ContinuousClock.now + limit
        while deliveries(prefix).reduce(0, { $0 + $1.events.count }) < events, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        return deliveries(prefix)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() { task.cancel() }
}

/// JSON requests against the running server's API.
enum API {
    @discardableResult
    static func send(_ method: HTTPMethod, _ url: String, json: Any? = nil, headers: [String: String] = [:]) async throws
        -> (status: Int, body: [String: Any], text: String)
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let data = Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return (Int(response.status.code), object, String(decoding: data, as: UTF8.self))
    }

    /// PUTs an event subscription; `properties` is the ARM `properties` object.
    @discardableResult
    static func subscribe(
        _ server: String, _ scope: String, _ name: String, _ properties: [String: Any], expect: Int = 201
    ) async throws -> [String: Any] {
        let result = try await send(.PUT, "\(server)/v1/\(scope)/eventSubscriptions/\(name)", json: ["properties": properties])
        guard result.status == expect else {
            throw ProcessFailure("PUT subscription \(name): \(result.status) \(result.text)")
        }
        return result.body
    }

    static func webhook(_ url: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        ["endpointType": "WebHook", "properties": ["endpointUrl": url].merging(extra) { $1 }]
    }
}
