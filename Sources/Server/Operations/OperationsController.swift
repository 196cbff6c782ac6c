import Delivery
import Foundation
import Hummingbird
import RegistryEvents

/// `GET /v1/operations`: recent operational events (endpoint disabled,
/// recovered, dead-lettered, …), newest first, filtered by source (a
/// target's path, or a prefix of paths), type and time.
struct OperationsController<Context: RequestContext> {
    let reader: OperationsReader

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("operations", use: list)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> OperationsList {
        let parameters = request.uri.queryParameters
        let top = min(max(parameters.get("top", as: Int.self) ?? 50, 1), 500)
        let query = try Self.query(
            source: parameters.get("source"), type: parameters.get("type"), since: parameters.get("since"), until: parameters.get("until"))
        return OperationsList(value: try await answeringKafkaErrors { try await reader.recent(matching: query, limit: top) })
    }

    static func query(source: String?, type: String?, since: String?, until: String?) throws -> OperationsReader.Query {
        var query = OperationsReader.Query(source: source)
        if let source, !source.hasPrefix("/") {
            throw APIError.badRequest("source: a path such as /registries/<r>/webhooks/<name>, got \(source)", code: "InvalidFilter")
        }
        if let type {
            let name = type.hasPrefix("RegistryEvents.Operations.") ? String(type.dropFirst("RegistryEvents.Operations.".count)) : type
            guard let kind = OperationsLog.Kind(rawValue: name) else {
                throw APIError.badRequest(
                    "type: \(type) is not one of \(OperationsLog.Kind.allCases.map(\.rawValue).joined(separator: ", "))", code: "InvalidFilter")
            }
            query.kind = kind
        }
        query.since = try since.map { try DeadLetterFilter.time($0, "since") }
        query.until = try until.map { try DeadLetterFilter.time($0, "until") }
        return query
    }
}

struct OperationsList: ResponseCodable, Sendable {
    var value: [JSONValue]
}
