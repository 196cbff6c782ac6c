/// When a failed delivery is tried again, and when it gives up.
///
/// `delays[n]` is the wait after attempt n+1 failed; past the end the last
/// delay repeats; the delivery is dead-lettered after `maxAttempts` attempts
/// or once `timeToLive` has passed since the first attempt, whichever comes
/// first.
public struct RetrySchedule: Sendable, Hashable {
    public var delays: [Duration]
    public var maxAttempts: Int
    public var timeToLive: Duration

    public init(delays: [Duration], maxAttempts: Int, timeToLive: Duration) {
        self.delays = delays
        self.maxAttempts = maxAttempts
        self.timeToLive = timeToLive
    }

    /// Webhooks (ACR policy; ACR itself never retries): 10 s, 1 min, 10 min,
    /// 1 h, then every 6 h, for up to 24 h.
    public static let webhookDefault = RetrySchedule(
        delays: [.seconds(10), .seconds(60), .seconds(600), .seconds(3600), .seconds(21600)], maxAttempts: 9,
        timeToLive: .seconds(86400))

    /// Event Grid's published ladder: 10 s, 30 s, 1 min, 5 min, 10 min, 30 min,
    /// 1 h, 3 h, 6 h, then every 12 h, up to 30 attempts and 24 h.
    public static let eventGridDefault = RetrySchedule(
        delays: [
            .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(600), .seconds(1800), .seconds(3600),
            .seconds(10800), .seconds(21600), .seconds(43200),
        ], maxAttempts: 30, timeToLive: .seconds(86400))

    public enum Decision: Sendable, Hashable {
        case retry(after: Duration)
        case deadLetter(reason: String)
    }

    /// What to do after attempt number `attempt` (1-based) failed, `elapsed`
    /// after the first attempt.
    public func decision(afterAttempt attempt: Int, elapsed: Duration) -> Decision {
        guard attempt < maxAttempts else {
            return .deadLetter(reason: "MaxDeliveryAttemptsExceeded: \(attempt) attempts made")
        }
        let delay = delays.isEmpty ? Duration.seconds(10) : delays[min(attempt - 1, delays.count - 1)]
        guard elapsed + delay <= timeToLive else {
            return .deadLetter(reason: "TimeToLiveExceeded: the next attempt would come after \(timeToLive)")
        }
        return .retry(after: delay)
    }
}
