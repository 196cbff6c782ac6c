import Foundation
import Hummingbird

/// Reads a JSON request body into a type, answering 400 with the property
/// that is wrong.
enum RequestBodies {
    static func decode<T: Decodable>(
        _ type: T.Type, _ request: Request, what: String, code: String = "InvalidRequestBody", limit: Int = 256 * 1024
    ) async throws -> T {
        try decode(type, from: try await request.body.collect(upTo: limit), what: what, code: code)
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, what: String, code: String = "InvalidRequestBody") throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid \(what) body: \(describe(error))", code: code)
        }
    }

    static func describe(_ error: DecodingError) -> String {
        // `a.b[3].c`, as validation errors name properties (an index key's
        // `stringValue` is "Index 3").
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return "\(path)[\(index)]" }
                return path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\((path(context.codingPath) + "." + key.stringValue).trimmingCharacters(in: CharacterSet(charactersIn: "."))) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "cannot be read"
        }
    }
}
