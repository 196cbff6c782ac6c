import CRdKafka
import Logging
import ServiceLifecycle
import Synchronization

/// A Kafka cluster inside this process: librdkafka's mock cluster, listening
/// on real loopback TCP ports, so the real client code and any Kafka tool
/// (kcat) talk to it.
///
/// Volatile by nature: everything is in memory and each partition keeps only
/// about 5 MiB, older records dropping out as if by retention. It cannot
/// answer the Admin CreateTopics request, so topics are created with
/// `createTopic`. Its fault injection (brokers down, request errors, latency;
/// in `ForTesting/`, one topic's produce refusals and commit failures) is what
/// the tests use.
public final class EmbeddedKafkaCluster: Service, Sendable {
    /// `host:port,...` of the mock brokers.
    public let bootstrapServers: String
    public let brokerCount: Int
    private let client: RDKafkaClient
    private let cluster: Mutex<SendablePointer?>
    /// Its token in `ExpectedDisconnects`.
    private let disconnectsToken: UInt64
    private let logger: Logger
    /// The broker kept free of partition leaders so that tests can make it
    /// refuse one topic's produce requests (`refuseProduce(to:with:)`); `nil`
    /// in a normal cluster.
    let refusingBroker: Int32?
    /// The topics the refusing broker leads, with their leaders before.
    let produceRefusals = Mutex(ProduceRefusals())

    public convenience init(brokers: Int = 1, logger: Logger) throws {
        try self.init(brokers: brokers, reservingRefusingBroker: false, logger: logger)
    }

    init(brokers: Int, reservingRefusingBroker: Bool, logger: Logger) throws {
        guard (1...16).contains(brokers) else {
            throw KafkaError.make(.cluster, reason: "an embedded cluster has 1 to 16 brokers, not \(brokers)")
        }
        guard !reservingRefusingBroker || brokers >= 2 else {
            throw KafkaError.make(.cluster, reason: "a refusing broker needs an embedded cluster of at least 2 brokers")
        }
        brokerCount = brokers
        refusingBroker = reservingRefusingBroker ? Int32(brokers) : nil
        self.logger = logger
        // The mock cluster lives on a handle of its own that nobody produces with.
        client = try RDKafkaClient.make(kind: .producer, properties: [("client.id", "regevents-embedded-cluster"), ("log_level", "4")])
        guard let pointer = client.withHandle({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw KafkaError.make(.cluster, reason: "librdkafka could not start its mock cluster")
        }
        cluster = Mutex(SendablePointer(pointer))
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(pointer))
        disconnectsToken = ExpectedDisconnects.clusterStarted(bootstrapServers: bootstrapServers)
        // Its own handle talks to its brokers too.
        ExpectedDisconnects.clientCreated(client.name, bootstrapServers: bootstrapServers)
        logger.info("Embedded Kafka cluster started", metadata: ["bootstrap": "\(bootstrapServers)", "brokers": "\(brokers)"])
    }

    deinit {
        if let pointer = cluster.withLock({ $0 }) {
            ExpectedDisconnects.clusterStopping(disconnectsToken)
            rd_kafka_mock_cluster_destroy(pointer.pointer)
        }
    }

    /// Creates `name` with its own call (the mock ignores Admin CreateTopics).
    /// Returns `.alreadyExists` when the topic is there, whatever its layout.
    @discardableResult
    public func createTopic(_ spec: KafkaTopicSpec) throws -> KafkaAdmin.CreationOutcome {
        guard spec.replicationFactor <= brokerCount else {
            throw KafkaError.make(
                .topicCreation, reason: "topic \(spec.name): replication factor \(spec.replicationFactor) exceeds \(brokerCount) brokers")
        }
        let err = try withCluster { rd_kafka_mock_topic_create($0, spec.name, Int32(spec.partitions), Int32(spec.replicationFactor)) }
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            try keepOffRefusingBroker(spec.name, partitions: spec.partitions)
            return .created
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return .alreadyExists
        default: throw KafkaError.rdKafka(.topicCreation, err, context: "topic \(spec.name)")
        }
    }

    /// Takes a broker off the network: open connections close, new ones are refused.
    public func setBrokerDown(_ brokerID: Int32) throws {
        try check(withCluster { rd_kafka_mock_broker_set_down($0, brokerID) }, "broker \(brokerID) down")
    }

    public func setBrokerUp(_ brokerID: Int32) throws {
        try check(withCluster { rd_kafka_mock_broker_set_up($0, brokerID) }, "broker \(brokerID) up")
    }

    /// Delays every response of a broker.
    public func setRoundTripTime(_ rtt: Duration, broker brokerID: Int32) throws {
        try check(withCluster { rd_kafka_mock_broker_set_rtt($0, brokerID, Int32(rtt.wholeMilliseconds)) }, "broker \(brokerID) rtt")
    }

    /// Makes the next requests of `api` fail, one error per request, in order.
    public func pushRequestErrors(_ api: KafkaAPIKey, _ errors: [KafkaProtocolError]) throws {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.code) }
        try withCluster { pointer in
            codes.withUnsafeBufferPointer { rd_kafka_mock_push_request_errors_array(pointer, api.rawValue, codes.count, $0.baseAddress) }
        }
    }

    public func clearRequestErrors(_ api: KafkaAPIKey) throws {
        try withCluster { rd_kafka_mock_clear_request_errors($0, api.rawValue) }
    }

    /// Stops the brokers; clients connected to them see the cluster go away,
    /// and say so at debug only (`ExpectedDisconnects`).
    public func shutdown() {
        guard let pointer = cluster.withLock({ state -> SendablePointer? in defer { state = nil }; return state }) else { return }
        ExpectedDisconnects.clusterStopping(disconnectsToken)
        rd_kafka_mock_cluster_destroy(pointer.pointer)
        logger.info("Embedded Kafka cluster stopped")
    }

    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }

    func withCluster<T>(_ body: (OpaquePointer) -> T) throws -> T {
        // The call runs under the lock so shutdown cannot destroy the cluster
        // mid-call; mock calls are short, local and never call back into us.
        try cluster.withLock { state in
            guard let pointer = state else { throw KafkaError.make(.cluster, reason: "the embedded cluster has stopped") }
            return body(pointer.pointer)
        }
    }

    func check(_ err: rd_kafka_resp_err_t, _ what: String) throws {
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(.cluster, err, context: what) }
    }
}

/// Which topics the refusing broker leads, so refuses Produce requests for;
/// see `EmbeddedKafkaCluster.refuseProduce(to:with:)`.
struct ProduceRefusals {
    /// Refused topic → partition → the leader it had before.
    var topics: [String: [Int32: Int32]] = [:]
    /// The error the refusing broker's stack was filled with; the mock cannot
    /// clear a broker's stack, so later refusals must use the same one.
    var error: KafkaProtocolError?
}

/// Kafka protocol request types, for fault injection.
public struct KafkaAPIKey: Hashable, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let produce = KafkaAPIKey(rawValue: 0)
    public static let fetch = KafkaAPIKey(rawValue: 1)
    public static let listOffsets = KafkaAPIKey(rawValue: 2)
    public static let metadata = KafkaAPIKey(rawValue: 3)
    public static let offsetCommit = KafkaAPIKey(rawValue: 8)
    public static let offsetFetch = KafkaAPIKey(rawValue: 9)
    public static let findCoordinator = KafkaAPIKey(rawValue: 10)
    public static let joinGroup = KafkaAPIKey(rawValue: 11)
    public static let heartbeat = KafkaAPIKey(rawValue: 12)
    public static let initProducerID = KafkaAPIKey(rawValue: 22)
}

/// Kafka protocol error codes a broker can answer with, for fault injection.
public struct KafkaProtocolError: Hashable, Sendable {
    public let code: Int32
    public init(code: Int32) { self.code = code }
    public static let notLeaderForPartition = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue)
    public static let requestTimedOut = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue)
    public static let notEnoughReplicas = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue)
    public static let topicAuthorizationFailed = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue)
    public static let coordinatorNotAvailable = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue)
    public static let groupAuthorizationFailed = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED.rawValue)
    public static let outOfOrderSequenceNumber = KafkaProtocolError(code: RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER.rawValue)
}
