import TestSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP endpoint in the test process that records every request and
/// answers per path: `/ok…` 200, `/flaky…` 503 twice then 200, `/fail…` 500,
/// `/slow…` waits 20 s, `/stall…` sends `200` and the first bytes of a
/// body and then nothing, ever (a hostile endpoint), `/sleep5…` waits 5 s,
/// `/recover…` answers 500 ten times, then 200.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        let path: String
        let headers: [String: String]
        let body: String
        let at: Date
    }

    private let task: Task<Void, any Error>
    let port: Int

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    static func start() async throws -> WebhookReceiver {
        let receivedBox = Locked<[Received]>([])
        let countsBox = Locked<[String: Int]>([:])
        let router = Router()
        router.post("**") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            // HTTP field names are case-insensitive: kept lower-cased.
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let path = request.uri.path
            receivedBox.withLock { $0.append(Received(path: path, headers: headers, body: String(buffer: body), at: Date())) }
            let count = countsBox.withLock { counts -> Int in
                counts[path, default: 0] += 1
                return counts[path] ?? 0
            }
            if path.hasPrefix("/slow") { try await Task.sleep(for: .seconds(20)) }
            if path.hasPrefix("/sleep5") { try await Task.sleep(for: .seconds(5)) }
            if path.hasPrefix("/stall") {
                return Response(
                    status: .ok,
                    body: ResponseBody(contentLength: 1000) { writer in
                        try await writer.write(ByteBuffer(string: "partial"))
                        try await Task.sleep(for: .seconds(3600))
                    })
            }
            if path.hasPrefix("/fail") { return Response(status: .internalServerError) }
            if path.hasPrefix("/recover") && count <= 10 { return Response(status: .internalServerError) }
            if path.hasPrefix("/flaky") && count <= 2 { return Response(status: .serviceUnavailable) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "thanks")))
        }
        let (port, task) = try await startLoopbackServer(router)
        let receiver = WebhookReceiver(port: port, task: task)
        receiver.bind(receivedBox, countsBox)
        return receiver
    }

    private let shared = Locked<(Locked<[Received]>, Locked<[String: Int]>)?>(nil)
    private func bind(_ received: Locked<[Received]>, _ counts: Locked<[String: Int]>) { shared.withLock { $0 = (received, counts) } }

    func requests(_ prefix: String) -> [Received] {
        shared.withLock { $0?.0.withLock { $0 } ?? [] }.filter { $0.path.hasPrefix(prefix) }
    }

    /// Waits until `count` requests reached paths starting with `prefix`.
    func waitFor(_ prefix: String, count: Int, limit: Duration = .seconds(60)) async throws -> [Received] {
        let deadline = ContinuousClock.now + limit
        while requests(prefix).count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return requests(prefix)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() { task.cancel() }
}

/// Runs `router` on a free loopback port; returns the port and the task
/// serving it (cancel it to stop).
func startLoopbackServer(_ router: Router<BasicRequestContext>) async throws -> (port: Int, task: Task<Void, any Error>) {
    let portBox = Locked<Int?>(nil)
    var logger = Logger(label: "receiver")
    logger.logLevel = .critical
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portBox.withLock { $0 = channel.localAddress?.port } }, logger: logger)
    let task = Task { try await app.run() }
    let deadline = ContinuousClock.now + .seconds(60)
    while portBox.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    guard let port = portBox.withLock({ $0 }) else {
        task.cancel()
        if case .failure(let error) = await task.result { throw ProcessFailure("the receiver did not start: \(error)") }
        throw ProcessFailure("the receiver did not start within 60 s")
    }
    return (port, task)
}
