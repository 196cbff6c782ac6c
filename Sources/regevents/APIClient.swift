import AsyncHTTPClient
import Delivery
import Foundation
import NIOCore
import NIOHTTP1

/// The CLI's client of the RegistryEvents HTTP API. A failing call becomes a
/// `CommandFailure` carrying the server's own error message.
struct APIClient {
    let baseURL: String
    /// The token sent with every call, if the routes need one.
    var credential: BearerCredential? = nil
    var timeout: TimeAmount = .seconds(30)

    /// One client for the process's few calls. A refused connection fails at
    /// once instead of being retried until the deadline: the server is down.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let data = try await send(method: .GET, path: path)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw CommandFailure(message: "unexpected answer from \(baseURL)\(path): \(error)")
        }
    }

    func send(method: HTTPMethod, path: String, body: Data? = nil) async throws -> Data {
        guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
            throw CommandFailure(
                message: "--server (or REGEVENTS_SERVER): \"\(baseURL)\" is not a URL like http://127.0.0.1:8080", exitCode: 64)
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token = credential?.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await Self.client.execute(request, timeout: timeout)
        } catch {
            throw CommandFailure(
                message: "cannot reach the server at \(baseURL) (\(ConnectionFailure.reason(error))); "
                    + "is regevents serve running? Set --server or REGEVENTS_SERVER")
        }
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(buffer: bytes)
        guard (200..<300).contains(response.status.code) else {
            if response.status == .unauthorized, let credential {
                // The server's message is about the header; ours names the flag.
                throw CommandFailure(message: "\(credential.refusal) (HTTP 401 Unauthorized)")
            }
            throw CommandFailure(message: Self.errorMessage(status: Int(response.status.code), data: data))
        }
        return data
    }

    /// The `message` of a `{"error":{"code","message"}}` body, or the status.
    static func errorMessage(status: Int, data: Data) -> String {
        struct ErrorBody: Decodable {
            struct Inner: Decodable {
                let code: String
                let message: String
            }
            let error: Inner
        }
        if let body = try? JSONDecoder().decode(ErrorBody.self, from: data) {
            return "\(body.error.message) (HTTP \(status) \(body.error.code))"
        }
        return "HTTP \(status): \(String(decoding: data.prefix(500), as: UTF8.self))"
    }
}
