import Kafka
import RegistryEvents

/// The report of every RegistryEvents topic (the layout's and the custom
/// topics' found in the cluster) with our groups' lag, for the API and for
/// `regevents topics --kafka-brokers`.
public enum TopicReportBuilder {
    public static func report(
        admin: KafkaAdmin, layout: TopicLayout, extraGroups: [String], lossMonitor: DataLossMonitor? = nil
    ) async throws -> TopicReport {
        let custom = try await admin.metadata().map(\.name).filter { $0.hasPrefix(layout.customTopicPrefix) }.sorted()
        let topics = layout.allTopics + custom
        var groupsByTopic = layout.consumerGroupsByTopic
        for topic in custom { groupsByTopic[topic] = [layout.subscriptionDispatcherGroup] }
        for topic in topics { groupsByTopic[topic, default: []] += extraGroups }
        return try await admin.report(topics: topics, groupsByTopic: groupsByTopic, lossMonitor: lossMonitor)
    }
}
