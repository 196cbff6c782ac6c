import CRdKafka
import Dispatch
import Synchronization

/// The one owner of an `rd_kafka_t` handle. Producers, consumers, the admin
/// client and the embedded cluster each hold one; nothing else sees the pointer
/// except inside `withHandle`.
final class RDKafkaClient: Sendable {
    enum Kind {
        case producer, consumer
    }

    /// Blocking librdkafka calls (flush, commit, metadata, watermarks) run here,
    /// never on Swift's cooperative pool.
    static let blockingQueue = DispatchQueue(label: "regevents.kafka.blocking", attributes: .concurrent)

    private let handle: SendablePointer
    let name: String
    /// Whatever the C callbacks reach through their opaque; released only after
    /// `rd_kafka_destroy`, which may still call them.
    private let retained: (any Sendable)?
    /// Set when destroying the handle would abort the process (librdkafka
    /// 2.0.2's sticky assignor asserts on a member closed between joining
    /// and its first assignment): the handle is leaked instead, at exit.
    let mustNotDestroy = Atomic<Bool>(false)

    private init(handle: OpaquePointer, retained: (any Sendable)?) {
        self.handle = SendablePointer(handle)
        self.name = String(cString: rd_kafka_name(handle))
        self.retained = retained
    }

    deinit {
        guard !mustNotDestroy.load(ordering: .relaxed) else { return }
        rd_kafka_destroy(handle.pointer)
        ExpectedDisconnects.clientDestroyed(name)
    }

    /// Creates the handle; on failure destroys the configuration and throws
    /// librdkafka's reason.
    ///
    /// - Parameter configure: last chance to set callbacks or events on the
    ///   `rd_kafka_conf_t` before the handle takes ownership of it.
    static func make(
        kind: Kind, properties: [(String, String)], retaining retained: (any Sendable)? = nil,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws -> RDKafkaClient {
        let conf = try RDKafkaConfig.make(properties)
        configure(conf)
        var errorText = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = errorText.decodedCString
            throw KafkaError.make(.clientCreation, reason: reason)
        }
        let client = RDKafkaClient(handle: handle, retained: retained)
        if let bootstrap = properties.last(where: { $0.0 == "bootstrap.servers" })?.1 {
            ExpectedDisconnects.clientCreated(client.name, bootstrapServers: bootstrap)
        }
        return client
    }

    func withHandle<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(handle.pointer)
    }

    /// Runs a blocking call off the cooperative pool.
    static func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blockingQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    // MARK: Metadata

    /// Topic and partition layout as the cluster reports it.
    func metadata(topic: String? = nil, timeout: Duration) throws -> [KafkaTopicMetadata] {
        var metadataPointer: UnsafePointer<rd_kafka_metadata>?
        var topicHandle: OpaquePointer?
        if let topic { topicHandle = rd_kafka_topic_new(handle.pointer, topic, nil) }
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        let err = rd_kafka_metadata(
            handle.pointer, topic == nil ? 1 : 0, topicHandle, &metadataPointer,
            Int32(timeout.wholeMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata = metadataPointer else {
            throw KafkaError.rdKafka(.metadata, err, context: "metadata request failed")
        }
        defer { rd_kafka_metadata_destroy(metadataPointer) }
        var topics: [KafkaTopicMetadata] = []
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topicData = metadata.pointee.topics[index]
            let name = String(cString: topicData.topic)
            var partitions: [KafkaPartitionMetadata] = []
            for p in 0..<Int(topicData.partition_cnt) {
                let partition = topicData.partitions[p]
                partitions.append(
                    KafkaPartitionMetadata(
                        id: partition.id, leader: partition.leader,
                        replicas: (0..<Int(partition.replica_cnt)).map { partition.replicas[$0] }))
            }
            topics.append(
                KafkaTopicMetadata(
                    name: name, partitions: partitions.sorted { $0.id < $1.id },
                    errorName: topicData.err == RD_KAFKA_RESP_ERR_NO_ERROR
                        ? nil : String(cString: rd_kafka_err2name(topicData.err))))
        }
        return topics
    }

    /// Low (log start) and high (next offset to be written) watermarks, asked of the leader.
    func watermarks(_ topicPartition: KafkaTopicPartition, timeout: Duration) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(
            handle.pointer, topicPartition.topic, topicPartition.partition, &low, &high,
            Int32(timeout.wholeMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.metadata, err, context: "watermarks of \(topicPartition)")
        }
        return (low, high)
    }

    /// The earliest offset of each partition whose record's timestamp is at
    /// or after the given time (milliseconds since the epoch); a partition
    /// is left out where the broker found none (every record older, or a
    /// broker that cannot search by time: librdkafka's mock cluster).
    func offsets(forTimes times: [KafkaTopicPartition: Int64], timeout: Duration) throws -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(Array(times.keys), offsets: times)
        let err = list.withPointer { rd_kafka_offsets_for_times(handle.pointer, $0, Int32(timeout.wholeMilliseconds)) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.metadata, err, context: "offsets for times")
        }
        var result: [KafkaTopicPartition: Int64] = [:]
        for entry in list.entries() {
            guard entry.error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(.metadata, entry.error, context: "offset for a time of \(entry.topicPartition)")
            }
            if entry.offset >= 0 { result[entry.topicPartition] = entry.offset }
        }
        return result
    }

    /// The group's committed offsets (this handle's `group.id`); `nil` where none.
    func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) throws -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions)
        let err = list.withPointer {
            rd_kafka_committed(handle.pointer, $0, Int32(timeout.wholeMilliseconds))
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(.metadata, err, context: "committed offsets")
        }
        var result: [KafkaTopicPartition: Int64] = [:]
        for entry in list.entries() where entry.offset >= 0 {
            result[entry.topicPartition] = entry.offset
        }
        return result
    }
}

public struct KafkaPartitionMetadata: Hashable, Sendable, Codable {
    public let id: Int32
    /// Broker id of the leader; -1 when the partition has none.
    public let leader: Int32
    public let replicas: [Int32]
}

public struct KafkaTopicMetadata: Hashable, Sendable, Codable {
    public let name: String
    public let partitions: [KafkaPartitionMetadata]
    /// librdkafka's error name when the cluster reported one for this topic.
    public let errorName: String?
}
