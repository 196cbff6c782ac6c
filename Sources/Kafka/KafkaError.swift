import CRdKafka

/// An error from the Kafka layer: what failed, librdkafka's own code and text
/// when it has one, and whether trying again can help.
///
/// A struct rather than an enum so that new codes do not break callers'
/// exhaustive switches.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// Which part of the Kafka layer failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case configuration, clientCreation, produce, delivery, consume
            case commit, metadata, topicCreation, cluster, shutdown
        }
        fileprivate let base: Base
        public static let configuration = Code(base: .configuration)
        public static let clientCreation = Code(base: .clientCreation)
        public static let produce = Code(base: .produce)
        public static let delivery = Code(base: .delivery)
        public static let consume = Code(base: .consume)
        public static let commit = Code(base: .commit)
        public static let metadata = Code(base: .metadata)
        public static let topicCreation = Code(base: .topicCreation)
        public static let cluster = Code(base: .cluster)
        public static let shutdown = Code(base: .shutdown)
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// librdkafka's error code (`rd_kafka_resp_err_t`), when librdkafka gave one.
    public let rdKafkaCode: Int32?
    /// librdkafka's name for `rdKafkaCode`, e.g. `_MSG_TIMED_OUT`.
    public let rdKafkaName: String?
    public let reason: String
    /// True when the same call may succeed later (broker down, timeout, queue full).
    public let isRetriable: Bool
    /// True when the client can no longer be used (e.g. an idempotence fatal error).
    public let isFatal: Bool
    public let file: String
    public let line: UInt

    public var description: String {
        if let rdKafkaName {
            return "\(code): \(reason) (librdkafka \(rdKafkaName))"
        }
        return "\(code): \(reason)"
    }

    static func make(
        _ code: Code, reason: String, retriable: Bool = false, fatal: Bool = false,
        file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        KafkaError(
            code: code, rdKafkaCode: nil, rdKafkaName: nil, reason: reason,
            isRetriable: retriable, isFatal: fatal, file: file, line: line)
    }

    static func rdKafka(
        _ code: Code, _ err: rd_kafka_resp_err_t, context: String? = nil,
        file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        let name = String(cString: rd_kafka_err2name(err))
        let reason = context.map { "\($0): \(text)" } ?? text
        return KafkaError(
            code: code, rdKafkaCode: err.rawValue, rdKafkaName: name, reason: reason,
            isRetriable: Self.retriableCodes.contains(err), isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            file: file, line: line)
    }

    /// A fatal error librdkafka raised on a client (`rd_kafka_fatal_error`):
    /// that client can do nothing more, so nothing sent through it can be
    /// retried on it. `err` is the underlying cause librdkafka reports.
    static func fatal(
        _ code: Code, _ err: rd_kafka_resp_err_t, reason: String,
        file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        KafkaError(
            code: code, rdKafkaCode: err.rawValue, rdKafkaName: String(cString: rd_kafka_err2name(err)),
            reason: reason, isRetriable: false, isFatal: true, file: file, line: line)
    }

    /// Errors after which the same request can reasonably succeed later.
    private static let retriableCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR__WAIT_COORD,
    ]
}
