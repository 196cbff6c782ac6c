/// Settings every client shares: where the cluster is and how we name ourselves.
public struct KafkaClientConfiguration: Sendable {
    /// `host:port[,host:port...]`.
    public var bootstrapServers: String
    /// Shown in broker logs and quotas.
    public var clientID: String
    /// Any librdkafka property we do not model (TLS, SASL, tuning). Applied after
    /// our typed settings, so they can be overridden, except for the few keys the
    /// delivery guarantees depend on (see the producer and consumer configurations),
    /// which are applied after these.
    public var extraProperties: [KafkaProperty]
    /// How long metadata, watermark and committed-offset queries may take.
    public var requestTimeout: Duration

    public init(
        bootstrapServers: String, clientID: String = "regevents",
        extraProperties: [KafkaProperty] = [], requestTimeout: Duration = .seconds(10)
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.extraProperties = extraProperties
        self.requestTimeout = requestTimeout
    }

    var baseProperties: [(String, String)] {
        [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
    }
}

/// Producer settings. Defaults give the guarantee ingest relies on: a record is
/// acknowledged only once every in-sync replica has it, exactly once per send.
public struct KafkaProducerConfiguration: Sendable {
    public enum Acks: String, Sendable {
        case all = "all"
        case leader = "1"
        case none = "0"
    }

    public var client: KafkaClientConfiguration
    public var acks: Acks = .all
    public var enableIdempotence = true
    /// How long the producer waits to fill a batch; small keeps ingest latency low.
    public var linger: Duration = .milliseconds(5)
    /// Upper bound of one batch, in bytes.
    public var batchSizeBytes = 1_000_000
    /// How long a record may wait for its acknowledgement, retries included,
    /// before its send fails with `_MSG_TIMED_OUT`.
    public var messageTimeout: Duration = .seconds(30)

    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    /// Refuses extra properties that would weaken what `send` promises: an
    /// acknowledgement only once every in-sync replica has the record
    /// (`acks`/`request.required.acks` must be `all` or `-1`), written exactly
    /// once (`enable.idempotence` must be true). `KafkaProducer.init` calls it,
    /// so a `--kafka-property acks=1` stops start-up instead of quietly
    /// turning ingest's 2xx into a promise Kafka does not keep.
    ///
    /// The typed `acks` and `enableIdempotence` settings are not checked: code
    /// that sets them (a benchmark) chooses the weaker guarantee on purpose.
    /// - Throws: a `.configuration` `KafkaError` naming the key.
    public func validate() throws {
        for property in client.extraProperties {
            // librdkafka accepts topic-level keys with a `topic.` prefix too.
            let key = property.key.hasPrefix("topic.") ? String(property.key.dropFirst("topic.".count)) : property.key
            let value = property.trimmedValue
            switch key {
            case "acks", "request.required.acks":
                guard value.lowercased() == "all" || value == "-1" else {
                    throw KafkaError.make(
                        .configuration,
                        reason: "Kafka property \(property.key)=\(value) is not allowed: records must be acknowledged by all "
                            + "in-sync replicas, so \(property.key) can only be all or -1")
                }
            case "enable.idempotence":
                // librdkafka's spellings of true.
                guard ["true", "t", "1"].contains(value.lowercased()) else {
                    throw KafkaError.make(
                        .configuration,
                        reason: "Kafka property \(property.key)=\(value) is not allowed: the producer must be idempotent, "
                            + "so enable.idempotence can only be true")
                }
            default:
                continue
            }
        }
    }

    /// Extra properties come before the two guarantee keys, so even a
    /// configuration that skipped `validate()` cannot weaken them (librdkafka
    /// keeps the last value it is given for a key; `acks` is an alias of
    /// `request.required.acks`).
    var properties: [(String, String)] {
        client.baseProperties + [
            ("linger.ms", String(linger.wholeMilliseconds)),
            ("batch.size", String(batchSizeBytes)),
            ("message.timeout.ms", String(max(1, messageTimeout.wholeMilliseconds))),
        ] + client.extraProperties.map { ($0.key, $0.value) } + [
            ("request.required.acks", acks.rawValue),
            ("enable.idempotence", enableIdempotence ? "true" : "false"),
        ]
    }
}

/// Consumer settings. Offsets are never committed behind the application's
/// back: `enable.auto.commit` and `enable.auto.offset.store` are forced off.
public struct KafkaConsumerConfiguration: Sendable {
    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    public var client: KafkaClientConfiguration
    /// The consumer group; `nil` for a consumer that only assigns partitions
    /// itself (as `regevents tail` does) and never commits.
    public var groupID: String?
    /// Where a group with no committed offset starts, and where a consumer
    /// resumes when its committed offset has fallen out of retention.
    public var autoOffsetReset: OffsetReset = .earliest
    public var sessionTimeout: Duration = .seconds(10)
    /// The most records one poll hands to the application at once.
    public var maxPollRecords = 500
    /// How long a broker may hold a fetch that found no new records. Short, so
    /// a delivery starts within milliseconds of its record (librdkafka's 500 ms
    /// put about 200 ms on every idle partition's first event); the price is
    /// more fetches while idle: about 4 % of a core per server at 25 ms on the
    /// embedded cluster, against 2 %. `--kafka-property fetch.wait.max.ms=…` overrides it.
    public var fetchMaxWait: Duration = .milliseconds(25)
    /// How a group shares its partitions. Cooperative-sticky by default: a
    /// member joining or leaving moves only the partitions that must move,
    /// and the others keep delivering through the rebalance (the eager
    /// `range,roundrobin` stops every member for the whole rebalance). A
    /// group cannot switch protocol while members of the other run, and
    /// `--kafka-property partition.assignment.strategy=…` overrides it.
    public var assignmentStrategy = "cooperative-sticky"

    public init(client: KafkaClientConfiguration, groupID: String?) {
        self.client = client
        self.groupID = groupID
    }

    var properties: [(String, String)] {
        var properties = client.baseProperties + [
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("session.timeout.ms", String(sessionTimeout.wholeMilliseconds)),
            ("heartbeat.interval.ms", String(max(100, sessionTimeout.wholeMilliseconds / 4))),
            ("fetch.wait.max.ms", String(fetchMaxWait.wholeMilliseconds)),
            // Answered as soon as one record is there.
            ("fetch.min.bytes", "1"),
        ]
        // librdkafka wants a group id even to assign partitions by hand; a
        // reader outside any group gets a throwaway one and never commits.
        properties.append(("group.id", groupID ?? "regevents-reader-\(UInt64.random(in: 0...UInt64.max))"))
        if groupID != nil { properties.append(("partition.assignment.strategy", assignmentStrategy)) }
        properties += client.extraProperties.map { ($0.key, $0.value) }
        // At-least-once depends on these: only explicit commits move the group.
        properties += [("enable.auto.commit", "false"), ("enable.auto.offset.store", "false")]
        return properties
    }
}

extension Duration {
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
