import Metrics
import Synchronization

/// Per-target isolation: every webhook and every subscription has a lane of
/// its own, with at most `limit` attempts in flight and a circuit breaker.
///
/// A delivery that finds its lane full waits for a slot only while that is
/// sure to be short: the lane's attempts are finishing (one did within
/// `settings.queueWait`) and the deliveries already waiting would, at the
/// lane's recent pace, get their slots within `queueWait`. A fast endpoint
/// under a burst is so served in order, at its own pace. Otherwise (a slow
/// or stalled endpoint, an open breaker) the delivery is not made to wait:
/// it goes to a retry tier as a durable record (see
/// `DeliverySettlement.defer`), so its Kafka record completes, and the
/// partition commits, without waiting on that target. A delivery never
/// waits for a slot longer than `queueWait`, so only one attempt deadline
/// (plus that) can ever separate a record from its completion.
public final class DeliveryLanes: Sendable {
    public struct Settings: Sendable, Hashable {
        /// Attempts in flight per target unless the target sets its own.
        public var defaultLimit: Int
        public var breaker: CircuitBreaker.Rule
        /// How long a delivery refused by a full lane waits in the retry tier
        /// (short: a busy lane usually frees up fast; the retry dispatcher
        /// holds such short waits in memory).
        public var fullLaneWait: Duration
        /// The longest a delivery waits for a slot in a full lane before it
        /// goes to the retry tier instead.
        public var queueWait: Duration
        public var health: HealthRule

        public init(
            defaultLimit: Int = 16, breaker: CircuitBreaker.Rule = .default, fullLaneWait: Duration = .seconds(1),
            queueWait: Duration = .seconds(1), health: HealthRule = HealthRule()
        ) {
            self.defaultLimit = defaultLimit
            self.breaker = breaker
            self.fullLaneWait = fullLaneWait
            self.queueWait = queueWait
            self.health = health
        }
    }

    /// When an endpoint is given up on: after failing without a single
    /// success for `disableAfter` (5 days), with at least `minimumAttempts`
    /// (10) attempts in that time. An endpoint that fails `minimumAttempts`
    /// times in a row and then succeeds has recovered.
    public struct HealthRule: Sendable, Hashable {
        /// `nil`: never disable.
        public var disableAfter: Duration?
        public var minimumAttempts: Int

        public init(disableAfter: Duration? = .seconds(5 * 86_400), minimumAttempts: Int = 10) {
            self.disableAfter = disableAfter
            self.minimumAttempts = minimumAttempts
        }
    }

    /// A lane's health crossing the rule, for the one attempt that crossed it.
    public enum HealthChange: Sendable, Equatable {
        /// Failing since then, this many attempts: the rule says disable.
        case failing(since: ContinuousClock.Instant, attempts: Int)
        /// Succeeded after this many failures in a row.
        case recovered(afterFailures: Int)
    }

    /// What `webhook show` and `subscription show` print of a lane.
    public struct Snapshot: Sendable, Codable, Hashable {
        public var inFlight: Int
        public var limit: Int
        public var breaker: CircuitBreaker.State
        public var consecutiveFailures: Int
        /// Seconds until an open breaker lets its probe out.
        public var reopensInSeconds: Int?
        /// Seconds since the first failure of the current run of failures
        /// (the health rule's clock); absent while the last attempt succeeded.
        public var failingForSeconds: Int?
    }

    public enum Admission: Sendable {
        case admitted(LaneTicket)
        /// Not now: wait this long (in the retry tier), for this reason.
        case deferred(wait: Duration, reason: String)
    }

    fileprivate struct Waiter {
        let id: UInt64
        let limit: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Admission, Never>
    }

    fileprivate struct Lane {
        var inFlight = 0
        var breaker: CircuitBreaker
        /// After recovery, the in-flight limit grows from 1 (doubling per
        /// success) back to the lane's limit.
        var ramp: Int?
        /// Deliveries waiting for a slot, oldest first.
        var waiters: [Waiter] = []
        /// When an attempt last finished, or the lane last went from idle
        /// to busy: a lane with neither for `queueWait` is not turning over.
        var lastProgress: ContinuousClock.Instant?
        /// The recent time between finished attempts (moving average), in
        /// seconds: the pace a waiting delivery gets a slot at.
        var finishInterval: Double?
        var lastFinish: ContinuousClock.Instant?
        /// The current run of failures (every attempt, breaker or not): when
        /// it began, how long it is, and whether the rule already fired.
        var failingSince: ContinuousClock.Instant?
        var failures = 0
        var givenUp = false
        /// When the target's configuration this lane serves was last changed
        /// (see `admit`), and how many changes it has seen: an attempt made
        /// under an earlier one gives its slot back but says nothing about this one.
        var generation: Double?
        var epoch = 0
        let inFlightGauge: Gauge
        let breakerGauge: Gauge
        /// How long its attempts take, from the slot to the answer (a histogram).
        let durations: Timer

        init(key: String, rule: CircuitBreaker.Rule) {
            breaker = CircuitBreaker(rule: rule)
            inFlightGauge = Gauge(label: "regevents_delivery_lane_in_flight", dimensions: [("lane", key)])
            breakerGauge = Gauge(label: "regevents_delivery_breaker_state", dimensions: [("lane", key)])
            durations = Timer(
                label: "regevents_delivery_duration_seconds",
                dimensions: [("kind", String(key.prefix { $0 != ":" })), ("lane", key)], preferredDisplayUnit: .seconds)
        }

        static let waitersBeforeAPace = 1024

        /// A target changed by its operator (a new endpoint, re-enabled)
        /// starts with a closed breaker, and the health rule's clock starts
        /// again: its past failures were another configuration's. The run
        /// of failures is kept, so its first success is said as a recovery.
        /// An older configuration (a delivery begun before the change) changes nothing.
        mutating func serve(_ generation: Double?, rule: CircuitBreaker.Rule, now: ContinuousClock.Instant) {
            guard let generation, generation > (self.generation ?? -.infinity) else { return }
            if self.generation != nil {
                breaker = CircuitBreaker(rule: rule)
                ramp = nil
                failingSince = failures > 0 ? now : nil
                givenUp = false
                epoch += 1
            }
            self.generation = generation
        }

        /// Whether one more delivery may wait for a slot.
        func canQueue(now: ContinuousClock.Instant, queueWait: Duration) -> Bool {
            guard let lastProgress, now - lastProgress < queueWait else { return false }
            // Until the lane has a pace (its first burst), a few dispatcher
            // polls' worth may wait; at most `queueWait`, as always.
            guard let finishInterval else { return waiters.count < Self.waitersBeforeAPace }
            return Double(waiters.count + 1) * finishInterval < queueWait / .seconds(1)
        }
    }

    public let settings: Settings
    private let lanes = Mutex<[String: Lane]>([:])
    /// Keys of lanes with waiters, for the sweep that expires them.
    private let sweep = Mutex<(keys: Set<String>, running: Bool, nextID: UInt64)>(([], false, 0))
    private let laneFullDeferrals = LazyCounter(label: "regevents_delivery_deferrals_total", dimensions: [("reason", "laneFull")])
    private let breakerDeferrals = LazyCounter(label: "regevents_delivery_deferrals_total", dimensions: [("reason", "breakerOpen")])

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// The lane of one target: `kind`, its scope (registry or
    /// `registry/<r>` / `topic/<t>`) and name.
    public static func key(kind: DeliveryRecord.TargetKind, scope: String, target: String) -> String {
        "\(kind.rawValue):\(scope)/\(target)"
    }

    /// Asks for a slot in `key`'s lane, now.
    /// - Parameter generation: when the target's configuration was last
    ///   changed; a newer one starts the breaker and the health clock afresh.
    public func admit(_ key: String, limit: Int? = nil, generation: Double? = nil, now: ContinuousClock.Instant = .now) -> Admission {
        let limit = max(1, limit ?? settings.defaultLimit)
        let admission = lanes.withLock { lanes in
            var lane = lanes[key] ?? Lane(key: key, rule: settings.breaker)
            defer { lanes[key] = lane }
            lane.serve(generation, rule: settings.breaker, now: now)
            return decide(&lane, key: key, limit: limit, now: now)
        }
        count(admission)
        return admission
    }

    /// Asks for a slot in `key`'s lane, waiting up to `queueWait` for one
    /// when the lane is full but turning over fast (see the type's comment).
    public func admitOrWait(_ key: String, limit: Int? = nil, generation: Double? = nil) async -> Admission {
        let limit = max(1, limit ?? settings.defaultLimit)
        let admission = await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
            let now = ContinuousClock.now
            let id = sweep.withLock { state -> UInt64 in
                state.nextID += 1
                return state.nextID
            }
            let immediate: Admission? = lanes.withLock { lanes in
                var lane = lanes[key] ?? Lane(key: key, rule: settings.breaker)
                defer { lanes[key] = lane }
                lane.serve(generation, rule: settings.breaker, now: now)
                let admission = decide(&lane, key: key, limit: limit, now: now)
                guard case .deferred(_, let reason) = admission, reason.hasPrefix("lane full"),
                    lane.canQueue(now: now, queueWait: settings.queueWait)
                else { return admission }
                lane.waiters.append(Waiter(id: id, limit: limit, deadline: now + settings.queueWait, continuation: continuation))
                return nil
            }
            if let immediate {
                continuation.resume(returning: immediate)
            } else {
                startSweeping(key)
            }
        }
        count(admission)
        return admission
    }

    private func decide(_ lane: inout Lane, key: String, limit: Int, now: ContinuousClock.Instant) -> Admission {
        let effective = min(limit, lane.ramp ?? limit)
        switch lane.breaker.decide(now: now) {
        case .refuse(let until):
            return .deferred(wait: max(until - now, .seconds(1)), reason: "circuit breaker open")
        case .probe:
            return take(&lane, key: key, probe: true, now: now)
        case .attempt:
            guard lane.inFlight < effective, lane.waiters.isEmpty else {
                return .deferred(wait: settings.fullLaneWait, reason: "lane full (\(effective) in flight)")
            }
            return take(&lane, key: key, probe: false, now: now)
        }
    }

    private func take(_ lane: inout Lane, key: String, probe: Bool, now: ContinuousClock.Instant) -> Admission {
        if lane.inFlight == 0 { lane.lastProgress = now }
        lane.inFlight += 1
        lane.inFlightGauge.record(lane.inFlight)
        return .admitted(LaneTicket(lanes: self, key: key, probe: probe, epoch: lane.epoch))
    }

    private func count(_ admission: Admission) {
        guard case .deferred(_, let reason) = admission else { return }
        (reason.hasPrefix("lane") ? laneFullDeferrals : breakerDeferrals).increment()
    }

    @discardableResult
    fileprivate func finish(
        _ key: String, probe: Bool, failed: Bool, epoch: Int, took: Duration? = nil, now: ContinuousClock.Instant = .now
    ) -> HealthChange? {
        var resumed: [(CheckedContinuation<Admission, Never>, Admission)] = []
        var change: HealthChange?
        lanes.withLock { lanes in
            guard var lane = lanes[key] else { return }
            defer { lanes[key] = lane }
            if let took { lane.durations.recordNanoseconds(took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000) }
            lane.inFlight = max(0, lane.inFlight - 1)
            // An attempt under the configuration before the operator's change:
            // its slot is free, its outcome is not this configuration's.
            let current = epoch == lane.epoch
            if current { change = Self.track(&lane, failed: failed, rule: settings.health, now: now) }
            if current, lane.breaker.record(failed: failed, probe: probe, now: now) {
                lane.ramp = 1
            } else if current, !failed, let ramp = lane.ramp {
                lane.ramp = ramp * 2 >= 1024 ? nil : ramp * 2
            }
            if lane.breaker.state == .open { lane.ramp = nil }
            if let last = lane.lastFinish {
                let interval = (now - last) / .seconds(1)
                lane.finishInterval = lane.finishInterval.map { $0 * 0.9 + interval * 0.1 } ?? interval
            }
            lane.lastFinish = now
            lane.lastProgress = now
            // The freed slot goes to the oldest waiter; an open breaker
            // sends every waiter to the retry tier.
            while let waiter = lane.waiters.first {
                let effective = min(waiter.limit, lane.ramp ?? waiter.limit)
                switch lane.breaker.decide(now: now) {
                case .refuse(let until):
                    lane.waiters.removeFirst()
                    resumed.append((waiter.continuation, .deferred(wait: max(until - now, .seconds(1)), reason: "circuit breaker open")))
                    continue
                case .probe:
                    lane.waiters.removeFirst()
                    resumed.append((waiter.continuation, take(&lane, key: key, probe: true, now: now)))
                case .attempt:
                    guard lane.inFlight < effective else { break }
                    lane.waiters.removeFirst()
                    resumed.append((waiter.continuation, take(&lane, key: key, probe: false, now: now)))
                }
                break
            }
            lane.inFlightGauge.record(lane.inFlight)
            lane.breakerGauge.record(lane.breaker.state == .closed ? 0 : lane.breaker.state == .halfOpen ? 1 : 2)
        }
        for (continuation, admission) in resumed {
            count(admission)
            continuation.resume(returning: admission)
        }
        return change
    }

    /// Follows the lane's run of failures; the change the health rule sees, if any.
    private static func track(_ lane: inout Lane, failed: Bool, rule: HealthRule, now: ContinuousClock.Instant) -> HealthChange? {
        guard failed else {
            defer { (lane.failingSince, lane.failures, lane.givenUp) = (nil, 0, false) }
            return lane.failures >= rule.minimumAttempts ? .recovered(afterFailures: lane.failures) : nil
        }
        let since = lane.failingSince ?? now
        lane.failingSince = since
        lane.failures += 1
        guard !lane.givenUp, let after = rule.disableAfter, now - since >= after, lane.failures >= rule.minimumAttempts else { return nil }
        lane.givenUp = true
        return .failing(since: since, attempts: lane.failures)
    }

    /// Sends waiters past their deadline to the retry tier, while any wait.
    private func startSweeping(_ key: String) {
        let start = sweep.withLock { state -> Bool in
            state.keys.insert(key)
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard start else { return }
        Task {
            while true {
                try? await Task.sleep(for: settings.queueWait / 5)
                let keys = sweep.withLock { $0.keys }
                var stillWaiting: Set<String> = []
                var expired: [CheckedContinuation<Admission, Never>] = []
                let now = ContinuousClock.now
                lanes.withLock { lanes in
                    for key in keys {
                        guard var lane = lanes[key] else { continue }
                        // A lane still finishing attempts keeps its waiters
                        // (they joined at its pace) up to 5× the wait; a lane
                        // that stopped sends them to the retry tier at once.
                        let progressing = lane.lastProgress.map { now - $0 < settings.queueWait } ?? false
                        while let first = lane.waiters.first,
                            progressing ? first.deadline + settings.queueWait * 4 <= now : first.deadline <= now
                        {
                            expired.append(lane.waiters.removeFirst().continuation)
                        }
                        if !lane.waiters.isEmpty { stillWaiting.insert(key) }
                        lanes[key] = lane
                    }
                }
                for continuation in expired {
                    continuation.resume(returning: .deferred(wait: settings.fullLaneWait, reason: "lane full (waited \(settings.queueWait))"))
                }
                let stop = sweep.withLock { state -> Bool in
                    state.keys = state.keys.subtracting(keys).union(stillWaiting)
                    guard state.keys.isEmpty else { return false }
                    state.running = false
                    return true
                }
                if stop { return }
            }
        }
    }

    /// Deliveries waiting for a slot in `key`'s lane.
    public func waitingForTesting(_ key: String) -> Int {
        lanes.withLock { $0[key]?.waiters.count ?? 0 }
    }

    public func snapshot(_ key: String, limit: Int? = nil, now: ContinuousClock.Instant = .now) -> Snapshot {
        let limit = max(1, limit ?? settings.defaultLimit)
        return lanes.withLock { lanes in
            guard let lane = lanes[key] else {
                return Snapshot(inFlight: 0, limit: limit, breaker: .closed, consecutiveFailures: 0, reopensInSeconds: nil, failingForSeconds: nil)
            }
            let reopens = lane.breaker.reopensAt.map { Int(max(0, ($0 - now).components.seconds)) }
            return Snapshot(
                inFlight: lane.inFlight, limit: limit, breaker: lane.breaker.state,
                consecutiveFailures: lane.breaker.consecutiveFailures, reopensInSeconds: reopens,
                failingForSeconds: lane.failingSince.map { Int((now - $0).components.seconds) })
        }
    }
}

/// A slot in a lane, held for one attempt; `finish` gives it back with the
/// attempt's result, which feeds the breaker. Finishing twice is harmless.
public final class LaneTicket: Sendable {
    private let lanes: DeliveryLanes
    private let key: String
    private let probe: Bool
    /// The lane's configuration epoch when the slot was taken.
    private let epoch: Int
    private let finished = Atomic<Bool>(false)
    private let admittedAt = ContinuousClock.now

    fileprivate init(lanes: DeliveryLanes, key: String, probe: Bool, epoch: Int) {
        self.lanes = lanes
        self.key = key
        self.probe = probe
        self.epoch = epoch
    }

    /// - Returns: the health change this attempt made, if the rule fired.
    @discardableResult
    public func finish(_ outcome: AttemptOutcome) -> DeliveryLanes.HealthChange? {
        guard !finished.exchange(true, ordering: .relaxed) else { return nil }
        return lanes.finish(key, probe: probe, failed: CircuitBreaker.isFailure(outcome), epoch: epoch, took: .now - admittedAt)
    }

    deinit {
        // An attempt abandoned (cancelled) still gives its slot back.
        if !finished.load(ordering: .relaxed) { lanes.finish(key, probe: probe, failed: true, epoch: epoch) }
    }
}
