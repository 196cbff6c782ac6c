/// Whether a target is healthy enough to be sent to, from its recent
/// attempts. The rule (stated in docs/operations.md, Guarantees):
///
/// - it opens after `consecutiveFailures` failures in a row, or when more
///   than `failureRatio` of the attempts of the last `window` failed and
///   there were at least `minimumAttempts` of them;
/// - open, nothing is sent for `coolDown` (30 s at first, doubling on each
///   failed probe up to `maxCoolDown`); deliveries wait in a retry tier;
/// - then half-open: exactly one attempt (the probe) goes out; its success
///   closes the breaker, its failure opens it again;
/// - closed again after a probe, the lane ramps up: 1 attempt in flight,
///   doubling with each success up to the lane's limit, so a recovered
///   endpoint receives its backlog at a bounded rate, not as a storm.
///
/// A failure is an attempt without a response (timeout, refused, reset) or
/// with HTTP 408, 429 or 5xx. Other answers (2xx, 3xx, 4xx) show an
/// endpoint that is up.
public struct CircuitBreaker: Sendable, Equatable {
    public struct Rule: Sendable, Hashable {
        public var consecutiveFailures = 10
        public var failureRatio = 0.5
        public var window: Duration = .seconds(30)
        public var minimumAttempts = 20
        public var coolDown: Duration = .seconds(30)
        public var maxCoolDown: Duration = .seconds(600)

        public init() {}

        public static let `default` = Rule()
    }

    public enum State: String, Sendable, Codable {
        case closed, open, halfOpen
    }

    public enum Decision: Sendable, Equatable {
        case attempt
        /// The half-open state's one attempt.
        case probe
        /// Not now; try again after this instant.
        case refuse(until: ContinuousClock.Instant)
    }

    public let rule: Rule
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    /// The window's attempts, counted per thirtieth of the window: O(1) per
    /// attempt, where a list of every attempt made a busy lane's attempts
    /// cost in proportion to its rate.
    private var buckets: [Bucket]
    private let origin: ContinuousClock.Instant

    private struct Bucket: Sendable {
        var slot = Int64.min
        var attempts = 0
        var failures = 0
    }

    private static let bucketsPerWindow = 30
    private var openUntil: ContinuousClock.Instant?
    private var currentCoolDown: Duration
    private var probeOut = false

    public init(rule: Rule = .default, now: ContinuousClock.Instant = .now) {
        self.rule = rule
        currentCoolDown = rule.coolDown
        buckets = Array(repeating: Bucket(), count: Self.bucketsPerWindow)
        origin = now
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.state == rhs.state && lhs.consecutiveFailures == rhs.consecutiveFailures && lhs.openUntil == rhs.openUntil
    }

    /// When an open breaker lets its probe out.
    public var reopensAt: ContinuousClock.Instant? { state == .open ? openUntil : nil }

    /// Whether an attempt may go out now.
    public mutating func decide(now: ContinuousClock.Instant = .now) -> Decision {
        switch state {
        case .closed:
            return .attempt
        case .open:
            guard let until = openUntil, now < until else {
                state = .halfOpen
                probeOut = true
                return .probe
            }
            return .refuse(until: until)
        case .halfOpen:
            guard !probeOut else { return .refuse(until: now + rule.coolDown) }
            probeOut = true
            return .probe
        }
    }

    /// Records an attempt's result. Returns true when this closed the
    /// breaker after a successful probe (the lane then ramps up).
    @discardableResult
    public mutating func record(failed: Bool, probe: Bool = false, now: ContinuousClock.Instant = .now) -> Bool {
        // Only the probe decides a half-open breaker: an attempt admitted
        // before it opened says nothing about the endpoint now.
        if state == .halfOpen && !probe { return false }
        if probe {
            probeOut = false
            if failed {
                currentCoolDown = min(currentCoolDown * 2, rule.maxCoolDown)
                open(now: now)
                return false
            }
            state = .closed
            consecutiveFailures = 0
            clearWindow()
            currentCoolDown = rule.coolDown
            return true
        }
        guard state == .closed else { return false }
        consecutiveFailures = failed ? consecutiveFailures + 1 : 0
        let (attempts, failures) = count(failed: failed, now: now)
        if consecutiveFailures >= rule.consecutiveFailures
            || (attempts >= rule.minimumAttempts && Double(failures) > rule.failureRatio * Double(attempts))
        {
            open(now: now)
        }
        return false
    }

    private mutating func open(now: ContinuousClock.Instant) {
        state = .open
        openUntil = now + currentCoolDown
        clearWindow()
    }

    /// Adds an attempt to its bucket; returns the window's totals.
    private mutating func count(failed: Bool, now: ContinuousClock.Instant) -> (attempts: Int, failures: Int) {
        let width = rule.window / Self.bucketsPerWindow
        let slot = Int64(((now - origin) / width).rounded(.down))
        let index = Int(((slot % Int64(Self.bucketsPerWindow)) + Int64(Self.bucketsPerWindow)) % Int64(Self.bucketsPerWindow))
        if buckets[index].slot != slot { buckets[index] = Bucket(slot: slot) }
        buckets[index].attempts += 1
        if failed { buckets[index].failures += 1 }
        var attempts = 0
        var failures = 0
        for bucket in buckets where bucket.slot > slot - Int64(Self.bucketsPerWindow) && bucket.slot <= slot {
            attempts += bucket.attempts
            failures += bucket.failures
        }
        return (attempts, failures)
    }

    private mutating func clearWindow() {
        for index in buckets.indices { buckets[index] = Bucket() }
    }

    /// Whether an outcome counts against the endpoint's health.
    public static func isFailure(_ outcome: AttemptOutcome) -> Bool {
        guard let status = outcome.statusCode else { return true }
        return status == 408 || status == 429 || status >= 500
    }
}
