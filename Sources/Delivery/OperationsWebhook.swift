import Foundation
import Kafka
import Logging
import RegistryEvents
import ServiceLifecycle

/// Sends every operational event (`<prefix>.operations`) to one webhook the
/// operator names (`serve --operations-webhook`), signed the Standard
/// Webhooks way with its own secret, as `application/cloudevents+json`.
///
/// It reads in a group of its own, one event at a time and in order, and
/// commits an event's offset once the endpoint answered 2xx: an event is
/// retried with a growing wait (up to `Settings.maxWait`) until then, and
/// after a restart from the last commit. An endpoint that is down holds
/// back this forwarder only; the events stay on the topic meanwhile. One
/// refused ten times with a 4xx (not 408 or 429) is logged and skipped.
public final class OperationsWebhook: Service, Sendable {
    public struct Settings: Sendable {
        public var url: String
        /// `whsec_…`: every request is signed with it.
        public var secret: String
        public var firstWait: Duration
        public var maxWait: Duration

        public init(url: String, secret: String, firstWait: Duration = .seconds(1), maxWait: Duration = .seconds(60)) {
            self.url = url
            self.secret = secret
            self.firstWait = firstWait
            self.maxWait = maxWait
        }
    }

    let consumerConfiguration: KafkaConsumerConfiguration
    let topic: String
    let sender: WebhookSender
    let settings: Settings
    let lossMonitor: DataLossMonitor?
    let logger: Logger

    public init(
        client: KafkaClientConfiguration, layout: TopicLayout, sender: WebhookSender, settings: Settings,
        lossMonitor: DataLossMonitor? = nil, logger: Logger
    ) {
        consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: layout.operationsWebhookGroup)
        topic = layout.operations
        self.sender = sender
        self.settings = settings
        self.lossMonitor = lossMonitor
        self.logger = logger
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, lossMonitor: lossMonitor, logger: logger)
        try consumer.subscribe([topic])
        // Shutdown cancels the loop; an event not yet taken is sent again after a restart.
        try? await cancelWhenGracefulShutdown {
            polling: while !Task.isCancelled {
                for record in try await consumer.poll(timeout: .milliseconds(500)) {
                    switch await self.forward(record) {
                    case .taken, .refused:
                        _ = try? await consumer.commit(record)
                    case .later:
                        // Back to the same event, polling meanwhile: a consumer that
                        // stops polling past max.poll.interval.ms leaves its group.
                        try? consumer.seek(record.topicPartition, to: record.offset)
                        continue polling
                    case .cancelled:
                        return
                    }
                }
            }
        }
        await consumer.close()
    }

    /// What became of one event.
    enum Forwarded {
        case taken
        /// Refused for good (4xx other than 408 and 429, every attempt of a
        /// pass): logged and skipped, so one bad event does not hold every later one.
        case refused
        /// Not taken within a pass: tried again after a poll.
        case later
        case cancelled
    }

    /// Attempts within one pass, before the forwarder polls again.
    static let passLength: Duration = .seconds(240)
    /// The request for one event: its CloudEvent JSON, signed.
    public static func request(body: String, eventID: String, settings: Settings, now: Date = Date()) -> OutboundRequest {
        let headers = [("Content-Type", KafkaRecordFormat.ContentType.cloudEvent)]
            + WebhookSigner.headers(
                secret: settings.secret, messageID: WebhookSigner.messageID(eventID: eventID, webhook: "operations"),
                timestamp: Int(now.timeIntervalSince1970), body: body)
        return OutboundRequest(url: settings.url, headers: headers, body: body)
    }

    /// Sends until a 2xx, for one pass at most.
    private func forward(_ record: KafkaConsumerRecord) async -> Forwarded {
        let body = String(decoding: record.value, as: UTF8.self)
        let eventID = JSONValue(parsing: record.value)?["id"]?.stringValue ?? "\(record.partition)-\(record.offset)"
        let deadline = ContinuousClock.now + Self.passLength
        var wait = settings.firstWait
        var attempt = 1
        var refusals = 0
        while !Task.isCancelled {
            // Signed afresh each attempt: the timestamp is the attempt's.
            let outcome = await sender.send(Self.request(body: body, eventID: eventID, settings: settings))
            if outcome.isSuccess { return .taken }
            if let status = outcome.statusCode, (400..<500).contains(status), status != 408, status != 429 {
                refusals += 1
                if refusals >= 10 {
                    logger.error(
                        "The operations webhook refused an event ten times; skipped (it stays on the operations topic)",
                        metadata: ["event": "\(eventID)", "status": "\(status)"])
                    return .refused
                }
            }
            logger.warning(
                "The operations webhook did not take an event; retrying",
                metadata: [
                    "attempt": "\(attempt)", "wait": "\(wait)",
                    "outcome": "\(outcome.statusCode.map { "HTTP \($0)" } ?? outcome.error ?? "no response")",
                ])
            guard ContinuousClock.now + wait < deadline else { return .later }
            do { try await Task.sleep(for: wait) } catch { return .cancelled }
            wait = min(wait * 2, settings.maxWait)
            attempt += 1
        }
        return .cancelled
    }
}
