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
/// commits an event's offset only once the endpoint answered 2xx: an event
/// is retried with a growing wait (up to `Settings.maxWait`) until then, and
/// after a restart from the last commit. An endpoint that is down holds
/// back this forwarder only; the events stay on the topic meanwhile.
public final class OperationsWebhook: Service, Sendable {
    public struct Settings: Sendable {
        public var url: String
        /// `whsec_…`: every request is signed with it.
        public var secret: String
        public var firstWait: Duration
        public var maxWait: Duration

        public init(url: String, secret: String, firstWait: Duration = .seconds(1), maxWait: Duration = .seconds(300)) {
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
            while !Task.isCancelled {
                for record in try await consumer.poll(timeout: .milliseconds(500)) {
                    guard await self.forward(record) else { return }
                    _ = try? await consumer.commit(record)
                }
            }
        }
        await consumer.close()
    }

    /// The request for one event: its CloudEvent JSON, signed.
    public static func request(body: String, eventID: String, settings: Settings, now: Date = Date()) -> OutboundRequest {
        let headers = [("Content-Type", KafkaRecordFormat.ContentType.cloudEvent)]
            + WebhookSigner.headers(
                secret: settings.secret, messageID: WebhookSigner.messageID(eventID: eventID, webhook: "operations"),
                timestamp: Int(now.timeIntervalSince1970), body: body)
        return OutboundRequest(url: settings.url, headers: headers, body: body)
    }

    /// Sends until a 2xx; `false` when cancelled first.
    private func forward(_ record: KafkaConsumerRecord) async -> Bool {
        let body = String(decoding: record.value, as: UTF8.self)
        let eventID = JSONValue(parsing: record.value)?["id"]?.stringValue ?? "\(record.partition)-\(record.offset)"
        var wait = settings.firstWait
        var attempt = 1
        while !Task.isCancelled {
            // Signed afresh each attempt: the timestamp is the attempt's.
            let outcome = await sender.send(Self.request(body: body, eventID: eventID, settings: settings))
            if outcome.isSuccess { return true }
            logger.warning(
                "The operations webhook did not take an event; retrying",
                metadata: [
                    "attempt": "\(attempt)", "wait": "\(wait)",
                    "outcome": "\(outcome.statusCode.map { "HTTP \($0)" } ?? outcome.error ?? "no response")",
                ])
            do { try await Task.sleep(for: wait) } catch { return false }
            wait = min(wait * 2, settings.maxWait)
            attempt += 1
        }
        return false
    }
}
