/// The Kafka topics and consumer groups of one RegistryEvents installation,
/// all named under one prefix (default `registry-events`).
///
/// `.acr` and `.cloudevents` carry every registry event in two schemas;
/// `.deliveries` every delivery attempt; `.deadletter` what could not be
/// delivered; `.operations` what an operator should know (an endpoint
/// disabled, …); `.retry.<delay>` the deliveries waiting for their next attempt.
public struct TopicLayout: Sendable, Hashable {
    public static let defaultPrefix = "registry-events"

    /// The retry tiers: the delays of Event Grid's schedule (10 s, 30 s, 1 min,
    /// 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h); ACR webhook retries use a
    /// subset. A retry waits in the tier of its delay until it is due.
    public static let retryTierDelays: [Duration] = [
        .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(600), .seconds(1800),
        .seconds(3600), .seconds(10800), .seconds(21600), .seconds(43200),
    ]

    public let prefix: String

    public init(prefix: String = TopicLayout.defaultPrefix) {
        self.prefix = prefix
    }

    public var acr: String { "\(prefix).acr" }
    public var cloudEvents: String { "\(prefix).cloudevents" }
    public var deliveries: String { "\(prefix).deliveries" }
    public var deadLetter: String { "\(prefix).deadletter" }
    /// Operational events: an endpoint disabled or recovered, a validation
    /// failed, a signing secret rotated, a delivery dead-lettered.
    public var operations: String { "\(prefix).operations" }

    /// A custom topic's events (`<prefix>.topic.<name>`).
    public func customTopic(_ name: String) -> String { "\(customTopicPrefix)\(name)" }
    public var customTopicPrefix: String { "\(prefix).topic." }

    public func retryTier(_ delay: Duration) -> String { "\(prefix).retry.\(Self.tierName(delay))" }
    public var retryTiers: [String] { Self.retryTierDelays.map(retryTier) }

    /// Every topic, in the order `regevents topics` lists them.
    public var allTopics: [String] { [acr, cloudEvents, deliveries, deadLetter, operations] + retryTiers }

    /// The short names `regevents tail --topic` accepts, with their topics.
    public var aliases: [String: String] {
        ["acr": acr, "cloudevents": cloudEvents, "deliveries": deliveries, "deadletter": deadLetter, "operations": operations]
    }

    /// A short name (`acr`), a tier (`retry.10s`), a custom topic
    /// (`topic.<name>`) or a full topic name, resolved.
    public func resolve(_ name: String) -> String {
        if let topic = aliases[name] { return topic }
        if name.hasPrefix("retry."), allTopics.contains("\(prefix).\(name)") { return "\(prefix).\(name)" }
        if name.hasPrefix("topic."), name.count > "topic.".count { return "\(prefix).\(name)" }
        return name
    }

    // MARK: Consumer groups

    /// The webhook dispatcher's group, on `.acr`.
    public var webhookDispatcherGroup: String { "\(prefix).webhooks" }
    /// The event-subscription dispatcher's group, on `.cloudevents`.
    public var subscriptionDispatcherGroup: String { "\(prefix).subscriptions" }
    /// The retry consumers' group, on the retry tiers.
    public var retryGroup: String { "\(prefix).retry" }
    /// The operations webhook's forwarder (`serve --operations-webhook`), on `.operations`.
    public var operationsWebhookGroup: String { "\(prefix).operations-webhook" }

    /// Which of our groups read which topic: what lag is reported for.
    public var consumerGroupsByTopic: [String: [String]] {
        var groups: [String: [String]] = [
            acr: [webhookDispatcherGroup],
            cloudEvents: [subscriptionDispatcherGroup],
        ]
        for tier in retryTiers { groups[tier] = [retryGroup] }
        return groups
    }

    static func tierName(_ delay: Duration) -> String {
        let seconds = delay.components.seconds
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// Topic prefixes follow Kafka's topic-name rules (letters, digits, `.`, `_`, `-`),
    /// leaving room for the longest suffix within Kafka's 249 characters.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        !prefix.isEmpty && prefix.count <= 200
            && prefix.unicodeScalars.allSatisfy { scalar in
                (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)))
                    || scalar == "." || scalar == "_" || scalar == "-"
            }
            && prefix != "." && prefix != ".."
    }
}
