import Foundation
import Hummingbird
import RegistryEvents

/// Reads a JSON request body into a type, answering 400 with the property
/// that is wrong.
enum RequestBodies {
    /// - Parameter known: when given, a property that looks like a misspelt
    ///   known one is refused with the name it was meant to be (other unknown
    ///   properties are ignored, as the decoder ignores them).
    static func decode<T: Decodable>(
        _ type: T.Type, _ request: Request, what: String, code: String = "InvalidRequestBody", known: KnownProperties? = nil,
        limit: Int = 256 * 1024
    ) async throws -> T {
        try decode(type, from: try await request.body.collect(upTo: limit), what: what, code: code, known: known)
    }

    static func decode<T: Decodable>(
        _ type: T.Type, from buffer: ByteBuffer, what: String, code: String = "InvalidRequestBody", known: KnownProperties? = nil
    ) throws -> T {
        if let known, let json = JSONValue(parsing: buffer.readableBytesView), let misspelt = known.firstMisspelling(in: json),
            let didYouMean = misspelt.didYouMean
        {
            throw APIError.badRequest("invalid \(what) body: \(misspelt.path): \(didYouMean)", code: code)
        }
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
