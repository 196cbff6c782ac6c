import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t` for one call.
final class RDKafkaTopicPartitionList {
    struct Entry {
        let topicPartition: KafkaTopicPartition
        let offset: Int64
        let error: rd_kafka_resp_err_t
    }

    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    private let owned: Bool

    init(_ partitions: [KafkaTopicPartition], offsets: [KafkaTopicPartition: Int64] = [:]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(1, partitions.count)))
        owned = true
        for topicPartition in partitions {
            let element = rd_kafka_topic_partition_list_add(pointer, topicPartition.topic, topicPartition.partition)
            if let offset = offsets[topicPartition] { element?.pointee.offset = offset }
        }
    }

    /// Borrows a list librdkafka owns (e.g. inside a rebalance callback).
    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = false
    }

    deinit {
        if owned { rd_kafka_topic_partition_list_destroy(pointer) }
    }

    func withPointer<T>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> T) rethrows -> T {
        try body(pointer)
    }

    func entries() -> [Entry] {
        (0..<Int(pointer.pointee.cnt)).map { index in
            let element = pointer.pointee.elems[index]
            return Entry(
                topicPartition: KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                offset: element.offset, error: element.err)
        }
    }
}
