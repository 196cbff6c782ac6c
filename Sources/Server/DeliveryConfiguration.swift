import AsyncHTTPClient
import Delivery

/// How the server delivers: the outbound HTTP client, lanes, retries and
/// the target guard. Part of `ServerConfiguration`; `serve` maps its flags
/// onto it.
public struct DeliveryConfiguration: Sendable {
    /// Connections per endpoint host:port.
    public var connectionsPerHost = 1024
    public var lanes = DeliveryLanes.Settings()
    /// One attempt in all: connect, request, response head and body.
    public var attemptTimeout: Duration = .seconds(30)
    public var targetGuard = TargetGuard()
    /// Every outbound request through this HTTP CONNECT proxy.
    public var egressProxy: HTTPClient.Configuration.Proxy?
    public var webhookSchedule = RetrySchedule.webhookDefault
    /// Delivery-log entries kept per webhook for list-events.
    public var webhookLogSize = 1000
    public var subscriptionSettings = SubscriptionAttempts.Settings()
    /// How long an event waits for more to fill a subscription's batch.
    public var batchLinger: Duration = .milliseconds(100)
    /// Where operational events are also sent, signed (`--operations-webhook`); `nil`: the topic only.
    public var operationsWebhook: OperationsWebhook.Settings?

    public init() {}
}
