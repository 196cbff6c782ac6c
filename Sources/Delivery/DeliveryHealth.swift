import Foundation
import Logging
import Metrics
import Synchronization

/// What keeps the delivery side from being ready, for `/readyz`: Kafka
/// refusing the records that make outcomes durable, or the directories not
/// loaded from the store. Each problem is named; it clears when the thing
/// that failed next succeeds.
public final class DeliveryHealth: Sendable {
    public enum Problem: Hashable, Sendable {
        /// Kafka refuses records for this topic for good (ACL, fatal
        /// producer error, …): the partitions whose outcomes it would record
        /// are not committed past until it takes them.
        case kafkaRefuses(topic: String)
        /// The webhooks or subscriptions could not be loaded: the dispatchers
        /// do not consume (they must not commit records that matched nothing).
        case directoryNotLoaded(String)
    }

    private struct State {
        var problems: [Problem: String] = [:]
        var lastLogged: [Problem: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Records a problem (logged at most once a minute per problem).
    public func report(_ problem: Problem, reason: String, now: ContinuousClock.Instant = .now) {
        let shouldLog = state.withLock { state -> Bool in
            state.problems[problem] = reason
            guard let last = state.lastLogged[problem], now - last < .seconds(60) else {
                state.lastLogged[problem] = now
                return true
            }
            return false
        }
        if case .kafkaRefuses(let topic) = problem {
            Counter(label: "regevents_kafka_refused_records_total", dimensions: [("topic", topic)]).increment()
        }
        if shouldLog {
            logger.error(
                "Delivery is not ready: \(Self.describe(problem, reason: reason)) (logged once a minute while it lasts)",
                metadata: ["problem": "\(problem)"])
        }
    }

    public func clear(_ problem: Problem) {
        let cleared = state.withLock { $0.problems.removeValue(forKey: problem) != nil }
        if cleared { logger.notice("Delivery problem cleared", metadata: ["problem": "\(problem)"]) }
    }

    /// Why delivery is not ready; empty when it is.
    public var reasons: [String] {
        state.withLock { state in state.problems.map { Self.describe($0.key, reason: $0.value) }.sorted() }
    }

    static func describe(_ problem: Problem, reason: String) -> String {
        switch problem {
        case .kafkaRefuses(let topic): "Kafka refuses records for \(topic): \(reason)"
        case .directoryNotLoaded(let what): "\(what) not loaded from the store: \(reason)"
        }
    }
}
