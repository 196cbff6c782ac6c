import Foundation
import Hummingbird
import RegistryEvents

/// The ARM shapes of an Event Grid custom topic (`Microsoft.EventGrid/topics`).
enum TopicResource {
    static let type = "Microsoft.EventGrid/topics"

    /// The properties of a PUT body, and those of a response sent back,
    /// against which a misspelt one is refused.
    static let knownProperties = KnownProperties(names: [
        "": ["location", "tags", "properties", "id", "name", "type", "systemData"],
        "properties": ["inputSchema", "endpoint", "provisioningState", "kafkaTopic"],
    ])

    static let knownKeyProperties = KnownProperties(names: ["": ["keyName"]])

    struct CreateParameters: Decodable {
        struct Properties: Decodable {
            var inputSchema: String?
        }
        var location: String?
        var properties: Properties?
    }

    struct Response: ResponseCodable {
        struct Properties: Codable {
            var endpoint: String
            var inputSchema: String
            var provisioningState: String
            var kafkaTopic: String
        }
        struct SystemData: Codable {
            var createdAt: String
        }
        var id: String
        var name: String
        var type: String
        var properties: Properties
        var systemData: SystemData

        init(_ topic: CustomTopic, endpoint: String, kafkaTopic: String) {
            id = "/v1/topics/\(topic.name)"
            name = topic.name
            type = TopicResource.type
            properties = Properties(
                endpoint: endpoint, inputSchema: topic.inputSchema.rawValue, provisioningState: "Succeeded", kafkaTopic: kafkaTopic)
            systemData = SystemData(createdAt: DateText.string(topic.createdAt))
        }
    }

    struct List: ResponseCodable {
        var value: [Response]
    }

    struct Keys: ResponseCodable {
        var key1: String
        var key2: String
    }

    struct RegenerateKey: Decodable {
        var keyName: String
    }
}
