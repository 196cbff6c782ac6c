import Foundation
import Kafka

/// What differs between ACR webhooks and Event Grid subscriptions; the rest
/// of delivery (HTTP, retry tiers, durable outcomes, commits) is shared.
/// One mechanism, two policies.
public protocol DeliveryPolicy: Sendable {
    /// When to try again and when to give up.
    var schedule: RetrySchedule { get }
    /// A fraction of each retry delay added at random, so endpoints that
    /// failed together are not retried in lockstep.
    var jitter: Double { get }
    /// Whether the answer counts as delivered.
    func isDelivered(_ outcome: AttemptOutcome) -> Bool
    /// A reason to dead-letter at once, without retrying (Event Grid's
    /// non-retried status codes); `nil` to follow the schedule.
    func terminalReason(_ outcome: AttemptOutcome) -> String?
    /// What a delivery given up becomes on the dead-letter topic.
    func deadLetters(_ record: DeliveryRecord, outcome: AttemptOutcome, reason: String, at now: Date) -> [KafkaProducerRecord]
}

/// Event Grid's dead-letter vocabulary, shared by both policies.
enum DeadLetterFields {
    /// `lastDeliveryOutcome` in Event Grid's words.
    static func outcomeName(_ outcome: AttemptOutcome) -> String {
        guard let status = outcome.statusCode else {
            let error = outcome.error ?? ""
            return error.localizedCaseInsensitiveContains("timeout") || error.localizedCaseInsensitiveContains("deadline")
                ? "TimedOut" : "GenericError"
        }
        switch status {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 408: return "TimedOut"
        case 413: return "RequestEntityTooLarge"
        case 429, 503: return "Busy"
        default: return "GenericError"
        }
    }

    /// The reason's token (`MaxDeliveryAttemptsExceeded`) without its detail.
    static func reasonCode(_ reason: String) -> String {
        String(reason.prefix { $0 != ":" })
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func timestamp(milliseconds: Int64) -> String {
        timestamp(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
