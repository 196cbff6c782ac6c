import CRdKafka
import Foundation
import Logging

extension EmbeddedKafkaCluster {
    /// Creates a topic whose name no other test uses, and returns the name.
    @_spi(Testing)
    public func createUniqueTopic(_ prefix: String = "test", partitions: Int = 1) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try createTopic(KafkaTopicSpec(name: name, partitions: partitions))
        return name
    }

    /// Client settings pointing at this cluster, with short timeouts for tests.
    @_spi(Testing)
    public var testClientConfiguration: KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: bootstrapServers, clientID: "regevents-test", requestTimeout: .seconds(5))
    }
}

// MARK: Produce refusals for one topic

extension EmbeddedKafkaCluster {
    /// How many refusals the refusing broker holds at least while a topic is refused.
    static let produceRefusalStock = 1000

    /// A cluster whose last broker leads no partition, so that
    /// `refuseProduce(to:with:)` can make it refuse one topic's produce
    /// requests without touching any other topic. Topics made with
    /// `createTopic` get their leaders among the other brokers.
    @_spi(Internal)
    public static func reservingRefusingBroker(brokers: Int = 2, logger: Logger) throws -> EmbeddedKafkaCluster {
        try EmbeddedKafkaCluster(brokers: brokers, reservingRefusingBroker: true, logger: logger)
    }

    /// Makes the cluster refuse every Produce request for `topic` with
    /// `error`, as a broker whose ACLs deny the topic does, until
    /// `allowProduce(to:)`. Other topics are not affected. Needs a cluster
    /// made with `reservingRefusingBroker(brokers:logger:)`.
    ///
    /// librdkafka 2.0.2's mock cannot refuse one topic's produce requests
    /// directly: `rd_kafka_mock_topic_set_error` changes only Metadata answers
    /// (measured: a producer that already knows the topic is not affected; a
    /// new one stalls until `_MSG_TIMED_OUT` with TOPIC_AUTHORIZATION_FAILED,
    /// or fails with TOPIC_EXCEPTION and then `_UNKNOWN_TOPIC` even after the
    /// error is cleared), and request errors are per request type, taken by
    /// whichever request of that type reaches the broker next, even one a
    /// stale client sends to a broker that no longer leads its partition. So
    /// this moves every partition of `topic` to the reserved broker, which
    /// leads nothing else, and fills that broker's stack of Produce errors up
    /// to 1000 with `error`; each Produce request reaching it takes one.
    ///
    /// What a producer sees (measured, `.topicAuthorizationFailed`): the first
    /// send fails in its delivery report (`.delivery`, about 0.3 s, as the
    /// producer follows the leader move); librdkafka then marks the topic
    /// failed, so later sends fail at once at enqueue (`.produce`), and about
    /// one request a second reaches the broker. Both are `isRetriable == false`.
    ///
    /// Limits: the mock cannot clear a broker's stack, so the entries left stay
    /// on the refusing broker (a later refusal must use the same `error`). A
    /// topic the cluster auto-creates may get a partition on the refusing
    /// broker; this call moves such partitions to broker 1 first, but a client
    /// that still thinks the refusing broker leads them gets one refusal.
    @_spi(Internal)
    public func refuseProduce(to topic: String, with error: KafkaProtocolError = .topicAuthorizationFailed) async throws {
        guard let refusing = refusingBroker else {
            throw KafkaError.make(
                .cluster,
                reason: "refusing one topic's produce requests needs a cluster made with "
                    + "EmbeddedKafkaCluster.reservingRefusingBroker(brokers:logger:)")
        }
        let metadata = try await currentMetadata()
        guard let target = metadata.first(where: { $0.name == topic && $0.errorName == nil && !$0.partitions.isEmpty }) else {
            throw KafkaError.make(.cluster, reason: "cannot refuse produce requests for \(topic): the cluster has no such topic")
        }
        let alreadyRefused = produceRefusals.withLock { Set($0.topics.keys) }
        for other in metadata where other.name != topic && !alreadyRefused.contains(other.name) {
            for partition in other.partitions where partition.leader == refusing {
                try setLeader(other.name, partition: partition.id, broker: 1)
            }
        }
        if !alreadyRefused.contains(topic) {
            let leaders = Dictionary(uniqueKeysWithValues: target.partitions.map { ($0.id, $0.leader) })
            produceRefusals.withLock { $0.topics[topic] = leaders }
        }
        try stockRefusals(error, on: refusing)
        for partition in target.partitions {
            try setLeader(topic, partition: partition.id, broker: refusing)
        }
    }

    /// Ends `refuseProduce(to:)` for `topic`: its partitions go back to their
    /// leaders. A producer that saw the refusal keeps refusing locally until
    /// its next metadata refresh (measured: about 0.2 s), so retry the first
    /// sends.
    @_spi(Internal)
    public func allowProduce(to topic: String) throws {
        guard let refusing = refusingBroker,
            let leaders = produceRefusals.withLock({ $0.topics.removeValue(forKey: topic) })
        else { return }
        for (partition, leader) in leaders.sorted(by: { $0.key < $1.key }) {
            try setLeader(topic, partition: partition, broker: leader == refusing || leader < 1 ? 1 : leader)
        }
    }

    /// Puts a new topic's leaders on the brokers other than the refusing one.
    func keepOffRefusingBroker(_ topic: String, partitions: Int) throws {
        guard let refusing = refusingBroker else { return }
        for partition in 0..<Int32(partitions) {
            try setLeader(topic, partition: partition, broker: 1 + partition % (refusing - 1))
        }
    }

    /// Makes the next `count` OffsetCommit requests fail with `error`
    /// (cluster-wide: whichever group commits next). Measured with librdkafka
    /// 2.0.2: `consumer.commit` throws at once with `.groupAuthorizationFailed`,
    /// `.topicAuthorizationFailed` or OFFSET_METADATA_TOO_LARGE (all not
    /// retriable); `.coordinatorNotAvailable` is retried by librdkafka (in our
    /// measurement the commit then failed with UNKNOWN_MEMBER_ID after about
    /// 6 s, the test consumer's session timeout).
    @_spi(Internal)
    public func failCommits(_ count: Int = 1, with error: KafkaProtocolError = .groupAuthorizationFailed) throws {
        try pushRequestErrors(.offsetCommit, Array(repeating: error, count: count))
    }

    private func setLeader(_ topic: String, partition: Int32, broker: Int32) throws {
        try check(
            withCluster { rd_kafka_mock_partition_set_leader($0, topic, partition, broker) },
            "leader of \(topic)[\(partition)] to broker \(broker)")
    }

    /// Fills `broker`'s Produce error stack up to `produceRefusalStock` entries.
    private func stockRefusals(_ error: KafkaProtocolError, on broker: Int32) throws {
        var stocked = 0
        try check(withCluster { rd_kafka_mock_broker_error_stack_cnt($0, broker, KafkaAPIKey.produce.rawValue, &stocked) }, "error stack")
        let previous = produceRefusals.withLock { $0.error }
        if stocked > 0, let previous, previous != error {
            throw KafkaError.make(
                .cluster,
                reason: "the refusing broker still holds \(stocked) refusals with error \(previous.code), "
                    + "which the mock cannot clear: refuse with the same error")
        }
        produceRefusals.withLock { $0.error = error }
        let missing = Self.produceRefusalStock - stocked
        guard missing > 0 else { return }
        try check(
            withCluster {
                regevents_mock_broker_push_request_errors(
                    $0, broker, KafkaAPIKey.produce.rawValue, missing, rd_kafka_resp_err_t(rawValue: error.code))
            }, "produce errors on broker \(broker)")
    }

    /// Every topic with its partitions' leaders, asked of the cluster itself.
    private func currentMetadata() async throws -> [KafkaTopicMetadata] {
        let bootstrap = bootstrapServers
        return try await RDKafkaClient.offloaded {
            let client = try RDKafkaClient.make(
                kind: .producer,
                properties: [("bootstrap.servers", bootstrap), ("client.id", "regevents-embedded-faults"), ("log_level", "3")])
            return try client.metadata(timeout: .seconds(5))
        }
    }
}
