import Foundation
import GRDB
import RegistryEvents

/// One row of `eventSubscription`: the scope and name as columns, the rest
/// as the subscription's JSON (its shape is versioned by `EventSubscription`'s
/// Codable conformance, which only ever gains optional fields).
struct EventSubscriptionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "eventSubscription"

    var scopeKind: String
    var scopeName: String
    var name: String
    var definition: Data
    var createdAt: Date
    var updatedAt: Date

    enum Columns {
        static let scopeKind = Column(CodingKeys.scopeKind)
        static let scopeName = Column(CodingKeys.scopeName)
        static let name = Column(CodingKeys.name)
    }

    init(_ subscription: EventSubscription) throws {
        scopeKind = subscription.scope.kind.rawValue
        scopeName = subscription.scope.name
        name = subscription.name
        definition = try JSONEncoder().encode(subscription)
        createdAt = subscription.createdAt
        updatedAt = subscription.updatedAt
    }

    func subscription() throws -> EventSubscription {
        try JSONDecoder().decode(EventSubscription.self, from: definition)
    }

    static func key(_ scope: SubscriptionScope, _ name: String) -> [String: any DatabaseValueConvertible] {
        ["scopeKind": scope.kind.rawValue, "scopeName": scope.name, "name": name]
    }
}

/// One row of `customTopic`.
struct CustomTopicRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "customTopic"

    var name: String
    var inputSchema: String
    var key1: String
    var key2: String
    var createdAt: Date

    init(_ topic: CustomTopic) {
        name = topic.name
        inputSchema = topic.inputSchema.rawValue
        key1 = topic.key1
        key2 = topic.key2
        createdAt = topic.createdAt
    }

    var topic: CustomTopic {
        CustomTopic(
            name: name, inputSchema: EventDeliverySchema(rawValue: inputSchema) ?? .eventGrid, key1: key1, key2: key2,
            createdAt: createdAt)
    }
}
