import Kafka
import Logging
import PostgresStore
import RegistryEvents

/// Where the control plane (webhooks, subscriptions, topics, the delivery
/// log) is kept.
public enum StoreConfiguration: Sendable, Equatable {
    /// An SQLite file in this directory: one node.
    case sqlite(directory: String)
    /// A PostgreSQL database every node shares, with a pool of at most `poolSize` connections.
    case postgres(DatabaseURL, poolSize: Int)
}

/// Everything `regevents serve` is told, validated at the edge: a bad value
/// fails before anything starts, naming its flag.
public struct ServerConfiguration: Sendable {
    public var listen: ListenAddress
    public var store: StoreConfiguration
    /// `nil` starts the embedded (in-memory, volatile) cluster.
    public var kafkaBrokers: String?
    public var kafkaProperties: [KafkaProperty]
    public var topicPrefix: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Brokers of the embedded cluster.
    public var embeddedBrokers: Int
    /// How long start-up waits for the cluster to answer.
    public var kafkaStartupTimeout: Duration
    public var version: String
    public var ingest: IngestSettings
    /// How long a produced record may wait for its acknowledgement before
    /// ingest gives up and answers 503.
    public var kafkaMessageTimeout: Duration = .seconds(30)
    /// When set, management routes need `Authorization: Bearer <token>`.
    public var adminToken: String?
    /// Allows a non-loopback listen address without both tokens, and turns
    /// off the loopback server's browser guard (`BrowserGuardMiddleware`).
    public var insecureNoAuth = false
    /// Webhooks per registry.
    public var webhookQuota = 500
    /// Event subscriptions per scope (a registry or a custom topic): Event Grid's 500 per topic.
    public var subscriptionQuota = 500
    /// Custom topics: Event Grid's 100 per region and subscription.
    public var customTopicQuota = 100
    /// How long a request (head and body) may take to arrive, and a
    /// keep-alive connection may stay idle.
    public var requestReadTimeout: Duration = .seconds(30)
    /// How deliveries are made.
    public var delivery = DeliveryConfiguration()
    /// The URL clients reach this server by (topic endpoints, validation
    /// URLs); `nil` uses the request's host, or the listen address.
    public var publicBaseURL: String?
    /// Whether a tracer is bootstrapped (`serve --otlp-endpoint`): only then
    /// does every request get a server span.
    public var tracing = false

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080), store: StoreConfiguration = .sqlite(directory: "./data"),
        kafkaBrokers: String? = nil, kafkaProperties: [KafkaProperty] = [], topicPrefix: String = TopicLayout.defaultPrefix,
        partitions: Int = 6, replicationFactor: Int = 1, embeddedBrokers: Int = 1,
        kafkaStartupTimeout: Duration = .seconds(15), version: String = RegistryEventsVersion.current,
        ingest: IngestSettings = IngestSettings()
    ) {
        self.ingest = ingest
        self.listen = listen
        self.store = store
        self.kafkaBrokers = kafkaBrokers
        self.kafkaProperties = kafkaProperties
        self.topicPrefix = topicPrefix
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.embeddedBrokers = embeddedBrokers
        self.kafkaStartupTimeout = kafkaStartupTimeout
        self.version = version
    }

    public var layout: TopicLayout { TopicLayout(prefix: topicPrefix) }

    /// Checks what a flag parser cannot; the error names the flag.
    public func validate() throws(ConfigurationError) {
        guard (1...1000).contains(partitions) else {
            throw ConfigurationError(flag: "--partitions", message: "must be between 1 and 1000, got \(partitions)")
        }
        guard (1...16).contains(replicationFactor) else {
            throw ConfigurationError(flag: "--replication-factor", message: "must be between 1 and 16, got \(replicationFactor)")
        }
        guard TopicLayout.isValidPrefix(topicPrefix) else {
            throw ConfigurationError(
                flag: "--topic-prefix",
                message: "\"\(topicPrefix)\" is not a Kafka topic name: use letters, digits, '.', '_' and '-'")
        }
        if let kafkaBrokers {
            try BrokerList.validate(kafkaBrokers)
        }
        guard (1024...(64 << 20)).contains(ingest.maxBodyBytes) else {
            throw ConfigurationError(flag: "--max-body-bytes", message: "must be between 1024 and 67108864, got \(ingest.maxBodyBytes)")
        }
        guard OCINames.isValidLocation(ingest.defaultLocation) else {
            throw ConfigurationError(flag: "--location", message: "\"\(ingest.defaultLocation)\" is not a location name")
        }
        guard ingest.deduplication.capacity >= 0 else {
            throw ConfigurationError(flag: "--dedupe-window-size", message: "must not be negative")
        }
        if let token = ingest.token, token.isEmpty || token.contains(where: \.isWhitespace) {
            throw ConfigurationError(flag: "--ingest-token", message: "must be non-empty and contain no spaces")
        }
        if !listen.isLoopback, !insecureNoAuth, adminToken == nil || ingest.token == nil {
            let missing = [adminToken == nil ? "--admin-token" : nil, ingest.token == nil ? "--ingest-token" : nil].compactMap { $0 }
            throw ConfigurationError(
                flag: missing[0],
                message: "listening on \(listen), not a loopback address, needs \(missing.joined(separator: " and ")) (or \(missing.map { "\($0)-file" }.joined(separator: " and "))); give --insecure-no-auth to run without them on purpose")
        }
        if kafkaBrokers == nil && replicationFactor > embeddedBrokers {
            throw ConfigurationError(
                flag: "--replication-factor",
                message: "\(replicationFactor) exceeds the embedded cluster's \(embeddedBrokers) broker(s)")
        }
    }
}

public enum RegistryEventsVersion {
    public static let current = "0.1.0"
}

/// A configuration value that cannot work, with the flag that set it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let flag: String
    public let message: String

    public init(flag: String, message: String) {
        self.flag = flag
        self.message = message
    }

    public var description: String { "\(flag): \(message)" }
}

/// `host:port` to listen on; port 0 asks the system for a free port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port` or `:port` (all interfaces).
    public init(parsing text: String) throws(ConfigurationError) {
        let fail = ConfigurationError(flag: "--listen", message: "expected host:port (e.g. 127.0.0.1:8080), got \"\(text)\"")
        guard let colon = text.lastIndex(of: ":") else { throw fail }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else { throw fail }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(" "), !host.contains("/") else { throw fail }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host == "localhost" }
}

enum BrokerList {
    static func validate(_ brokers: String) throws(ConfigurationError) {
        let entries = brokers.split(separator: ",", omittingEmptySubsequences: false)
        for entry in entries {
            let trimmed = entry.trimmingSpaces
            let hostPort = trimmed.split(separator: "://").last.map(String.init) ?? trimmed
            guard let colon = hostPort.lastIndex(of: ":"), colon != hostPort.startIndex,
                let port = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(port)
            else {
                throw ConfigurationError(
                    flag: "--kafka-brokers", message: "expected host:port[,host:port...], got \"\(brokers)\"")
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
