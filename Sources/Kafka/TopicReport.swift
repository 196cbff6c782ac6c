/// Topics with their end offsets, and for each consumer group reading them
/// its committed offsets, lag and any records lost to retention. What
/// `regevents topics` prints.
public struct TopicReport: Sendable, Codable, Hashable {
    public struct GroupPartition: Sendable, Codable, Hashable {
        public let partition: Int32
        /// `nil` when the group never committed on this partition.
        public let committedOffset: Int64?
        /// Records not yet processed: end offset minus the committed offset
        /// (or minus the log start when nothing was committed).
        public let lag: Int64
        /// Records already deleted by retention that the group never
        /// processed: log start minus committed offset, when positive.
        public let behindLogStart: Int64
    }

    public struct Group: Sendable, Codable, Hashable {
        public let group: String
        public let lag: Int64
        /// Retention losses the consumers of this process detected and logged.
        public let lostRecords: Int64
        public let behindLogStart: Int64
        public let partitions: [GroupPartition]
    }

    public struct Topic: Sendable, Codable, Hashable {
        public let name: String
        /// False when the cluster does not have the topic.
        public let exists: Bool
        public let partitions: [KafkaPartitionDescription]
        public let records: Int64
        public let endOffsets: Int64
        public let consumerGroups: [Group]
    }

    public let topics: [Topic]

    public init(topics: [Topic]) {
        self.topics = topics
    }
}

extension KafkaAdmin {
    /// Builds the report for `topics`, with lag for the groups given per topic.
    /// - Parameter lossMonitor: losses this process's consumers detected.
    public func report(
        topics: [String], groupsByTopic: [String: [String]], lossMonitor: DataLossMonitor? = nil
    ) async throws -> TopicReport {
        let descriptions = Dictionary(
            try await describeTopics(topics).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var committedByGroup: [String: [KafkaTopicPartition: Int64]] = [:]
        for group in Set(groupsByTopic.values.flatMap { $0 }).sorted() {
            let partitions = topics.filter { groupsByTopic[$0]?.contains(group) == true }.flatMap { topic in
                (descriptions[topic]?.partitions ?? []).map { KafkaTopicPartition(topic: topic, partition: $0.partition) }
            }
            guard !partitions.isEmpty else { continue }
            committedByGroup[group] = try await committedOffsets(group: group, partitions: partitions)
        }
        return TopicReport(
            topics: topics.map { name in
                guard let description = descriptions[name] else {
                    return TopicReport.Topic(
                        name: name, exists: false, partitions: [], records: 0, endOffsets: 0, consumerGroups: [])
                }
                let groups = (groupsByTopic[name] ?? []).map { group in
                    Self.groupReport(
                        group, description: description, committed: committedByGroup[group] ?? [:], lossMonitor: lossMonitor)
                }
                return TopicReport.Topic(
                    name: name, exists: true, partitions: description.partitions, records: description.recordCount,
                    endOffsets: description.partitions.reduce(0) { $0 + $1.highWatermark }, consumerGroups: groups)
            })
    }

    private static func groupReport(
        _ group: String, description: KafkaTopicDescription, committed: [KafkaTopicPartition: Int64],
        lossMonitor: DataLossMonitor?
    ) -> TopicReport.Group {
        let partitions = description.partitions.map { partition in
            let topicPartition = KafkaTopicPartition(topic: description.name, partition: partition.partition)
            let offset = committed[topicPartition]
            let start = offset ?? partition.lowWatermark
            return TopicReport.GroupPartition(
                partition: partition.partition, committedOffset: offset,
                lag: max(0, partition.highWatermark - max(start, partition.lowWatermark)),
                behindLogStart: offset.map { max(0, partition.lowWatermark - $0) } ?? 0)
        }
        let lost = description.partitions.reduce(Int64(0)) { total, partition in
            total + (lossMonitor?.lostRecords(
                group: group, topicPartition: KafkaTopicPartition(topic: description.name, partition: partition.partition)) ?? 0)
        }
        return TopicReport.Group(
            group: group, lag: partitions.reduce(0) { $0 + $1.lag }, lostRecords: lost,
            behindLogStart: partitions.reduce(0) { $0 + $1.behindLogStart }, partitions: partitions)
    }
}
