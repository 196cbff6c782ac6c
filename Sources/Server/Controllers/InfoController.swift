import Hummingbird
import RegistryEvents

/// `GET /v1/info`: version, where Kafka is and what the topics are called, so
/// tools (`regevents tail`, kcat) can find the cluster with no flags.
struct InfoController<Context: RequestContext> {
    let info: ServerInfo

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("info") { _, _ in info }
    }
}

public struct ServerInfo: ResponseCodable, Sendable, Equatable {
    public struct Kafka: Codable, Sendable, Equatable {
        public let bootstrapServers: String
        public let embedded: Bool
    }

    public struct Topics: Codable, Sendable, Equatable {
        public let prefix: String
        public let acr: String
        public let cloudevents: String
        public let deliveries: String
        public let deadletter: String
        public let operations: String
        public let retry: [String]
    }

    /// Where the control plane is kept: `sqlite` (its directory) or
    /// `postgresql` (its URL without the password).
    public struct Store: Codable, Sendable, Equatable {
        public let kind: String
        public let location: String

        public init(kind: String, location: String) {
            self.kind = kind
            self.location = location
        }
    }

    public let version: String
    public let kafka: Kafka
    public let topics: Topics
    public let store: Store

    public init(version: String, bootstrapServers: String, embedded: Bool, layout: TopicLayout, store: Store) {
        self.version = version
        self.store = store
        kafka = Kafka(bootstrapServers: bootstrapServers, embedded: embedded)
        topics = Topics(
            prefix: layout.prefix, acr: layout.acr, cloudevents: layout.cloudEvents, deliveries: layout.deliveries,
            deadletter: layout.deadLetter, operations: layout.operations, retry: layout.retryTiers)
    }

    public var layout: TopicLayout { TopicLayout(prefix: topics.prefix) }
}
