import Foundation
import Hummingbird
import Store

/// An error answered as `{"error":{"code","message"}}` with a fitting status.
/// Handlers throw it; domain errors are mapped to it at the edge.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "NotFound", message: message)
    }

    public static func badRequest(_ message: String, code: String = "BadRequest") -> APIError {
        APIError(.badRequest, code: code, message: message)
    }

    public static func unavailable(_ message: String, code: String = "ServiceUnavailable", retryAfter: Int = 5) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfter)
        return APIError(.serviceUnavailable, code: code, message: message, headers: headers)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        response.headers[.contentType] = "application/json; charset=utf-8"
        return response
    }

    var body: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = ["error": ["code": code, "message": message]]
        return Array((try? encoder.encode(payload)) ?? Data(#"{"error":{"code":"InternalError","message":""}}"#.utf8))
    }
}

/// A store write whose quota refusal is answered as ARM answers it: `409 QuotaExceeded`.
func withinQuota<T>(_ write: () async throws -> T) async throws -> T {
    do {
        return try await write()
    } catch let error as StoreError {
        throw APIError.quotaExceeded(error)
    }
}

extension APIError {
    static func quotaExceeded(_ error: StoreError) -> APIError {
        APIError(.conflict, code: "QuotaExceeded", message: error.description)
    }
}
