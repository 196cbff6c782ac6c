import Metrics
import Synchronization

/// Per-target isolation: every webhook and every subscription has a lane of
/// its own, with at most `limit` attempts in flight and a circuit breaker.
///
/// A delivery that finds its lane full, or its breaker open, is not made to
/// wait: it goes to a retry tier as a durable record (see
/// `DeliverySettlement.defer`), so its Kafka record completes, and the
/// partition commits, without waiting on that target. Only one attempt
/// deadline can ever separate a record from its completion.
public final class DeliveryLanes: Sendable {
    public struct Settings: Sendable, Hashable {
        /// Attempts in flight per target unless the target sets its own.
        public var defaultLimit: Int
        public var breaker: CircuitBreaker.Rule
        /// How long a delivery refused by a full lane waits in the retry tier
        /// (short: a busy lane usually frees up fast; the retry dispatcher
        /// holds such short waits in memory).
        public var fullLaneWait: Duration

        public init(defaultLimit: Int = 16, breaker: CircuitBreaker.Rule = .default, fullLaneWait: Duration = .seconds(1)) {
            self.defaultLimit = defaultLimit
            self.breaker = breaker
            self.fullLaneWait = fullLaneWait
        }
    }

    /// What `webhook show` and `subscription show` print of a lane.
    public struct Snapshot: Sendable, Codable, Hashable {
        public var inFlight: Int
        public var limit: Int
        public var breaker: CircuitBreaker.State
        public var consecutiveFailures: Int
        /// Seconds until an open breaker lets its probe out.
        public var reopensInSeconds: Int?
    }

    public enum Admission: Sendable {
        case admitted(LaneTicket)
        /// Not now: wait this long (in the retry tier), for this reason.
        case deferred(wait: Duration, reason: String)
    }

    fileprivate struct Lane {
        var inFlight = 0
        var breaker: CircuitBreaker
        /// After recovery, the in-flight limit grows from 1 (doubling per
        /// success) back to the lane's limit.
        var ramp: Int?
    }

    public let settings: Settings
    private let lanes = Mutex<[String: Lane]>([:])

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// The lane of one target: `kind`, its scope (registry or
    /// `registry/<r>` / `topic/<t>`) and name.
    public static func key(kind: DeliveryRecord.TargetKind, scope: String, target: String) -> String {
        "\(kind.rawValue):\(scope)/\(target)"
    }

    /// Asks for a slot in `key`'s lane.
    public func admit(_ key: String, limit: Int? = nil, now: ContinuousClock.Instant = .now) -> Admission {
        let limit = max(1, limit ?? settings.defaultLimit)
        let rule = settings.breaker
        let (admission, inFlight): (Admission, Int) = lanes.withLock { lanes in
            var lane = lanes[key] ?? Lane(breaker: CircuitBreaker(rule: rule))
            defer { lanes[key] = lane }
            let effective = min(limit, lane.ramp ?? limit)
            switch lane.breaker.decide(now: now) {
            case .refuse(let until):
                return (.deferred(wait: max(until - now, .seconds(1)), reason: "circuit breaker open"), lane.inFlight)
            case .probe:
                lane.inFlight += 1
                return (.admitted(LaneTicket(lanes: self, key: key, probe: true)), lane.inFlight)
            case .attempt:
                guard lane.inFlight < effective else {
                    return (.deferred(wait: settings.fullLaneWait, reason: "lane full (\(effective) in flight)"), lane.inFlight)
                }
                lane.inFlight += 1
                return (.admitted(LaneTicket(lanes: self, key: key, probe: false)), lane.inFlight)
            }
        }
        if case .deferred(_, let reason) = admission {
            Counter(label: "regevents_delivery_deferrals_total", dimensions: [("reason", reason.hasPrefix("lane") ? "laneFull" : "breakerOpen")])
                .increment()
        }
        Gauge(label: "regevents_delivery_lane_in_flight", dimensions: [("lane", key)]).record(inFlight)
        return admission
    }

    fileprivate func finish(_ key: String, probe: Bool, failed: Bool, now: ContinuousClock.Instant = .now) {
        let (inFlight, state): (Int, CircuitBreaker.State) = lanes.withLock { lanes in
            guard var lane = lanes[key] else { return (0, .closed) }
            lane.inFlight = max(0, lane.inFlight - 1)
            if lane.breaker.record(failed: failed, probe: probe, now: now) {
                lane.ramp = 1
            } else if !failed, let ramp = lane.ramp {
                lane.ramp = ramp * 2 >= 1024 ? nil : ramp * 2
            }
            if lane.breaker.state == .open { lane.ramp = nil }
            lanes[key] = lane
            return (lane.inFlight, lane.breaker.state)
        }
        Gauge(label: "regevents_delivery_lane_in_flight", dimensions: [("lane", key)]).record(inFlight)
        Gauge(label: "regevents_delivery_breaker_state", dimensions: [("lane", key)])
            .record(state == .closed ? 0 : state == .halfOpen ? 1 : 2)
    }

    public func snapshot(_ key: String, limit: Int? = nil, now: ContinuousClock.Instant = .now) -> Snapshot {
        let limit = max(1, limit ?? settings.defaultLimit)
        return lanes.withLock { lanes in
            guard let lane = lanes[key] else {
                return Snapshot(inFlight: 0, limit: limit, breaker: .closed, consecutiveFailures: 0, reopensInSeconds: nil)
            }
            let reopens = lane.breaker.reopensAt.map { Int(max(0, ($0 - now).components.seconds)) }
            return Snapshot(
                inFlight: lane.inFlight, limit: limit, breaker: lane.breaker.state,
                consecutiveFailures: lane.breaker.consecutiveFailures, reopensInSeconds: reopens)
        }
    }
}

/// A slot in a lane, held for one attempt; `finish` gives it back with the
/// attempt's result, which feeds the breaker. Finishing twice is harmless.
public final class LaneTicket: Sendable {
    private let lanes: DeliveryLanes
    private let key: String
    private let probe: Bool
    private let finished = Atomic<Bool>(false)

    fileprivate init(lanes: DeliveryLanes, key: String, probe: Bool) {
        self.lanes = lanes
        self.key = key
        self.probe = probe
    }

    public func finish(_ outcome: AttemptOutcome) {
        guard !finished.exchange(true, ordering: .relaxed) else { return }
        lanes.finish(key, probe: probe, failed: CircuitBreaker.isFailure(outcome))
    }

    deinit {
        // An attempt abandoned (cancelled) still gives its slot back.
        if !finished.load(ordering: .relaxed) { lanes.finish(key, probe: probe, failed: true) }
    }
}
