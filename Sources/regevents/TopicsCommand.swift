import ArgumentParser
import Foundation
import Kafka
import Logging
import RegistryEvents
import Server

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List the RegistryEvents topics with partitions, end offsets, and consumer-group offsets, lag and losses."
    )

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with one.")
    var adminToken: String?

    @Option(help: "Ask Kafka directly (host:port,...) instead of the server.")
    var kafkaBrokers: String?

    @Option(help: "Topic prefix when asking Kafka directly.")
    var topicPrefix: String = TopicLayout.defaultPrefix

    @Option(name: .customLong("group"), help: "Also report this consumer group for every topic; repeatable.")
    var groups: [String] = []

    @Option(help: "json or table (table on a terminal, json otherwise).")
    var output: OutputFormat?

    func run() async throws {
        try await reportingFailures {
            let report = try await fetchReport()
            switch output ?? .automatic {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                printLine(String(decoding: try encoder.encode(report), as: UTF8.self))
            case .table:
                printLine(TopicReportTable(report: report).render())
            }
        }
    }

    private func fetchReport() async throws -> TopicReport {
        if let kafkaBrokers {
            var logger = Logger(label: "regevents.topics")
            logger.logLevel = .error
            let layout = TopicLayout(prefix: topicPrefix)
            let admin = try KafkaAdmin(
                configuration: KafkaClientConfiguration(bootstrapServers: kafkaBrokers, requestTimeout: .seconds(10)),
                logger: logger)
            return try await TopicReportBuilder.report(admin: admin, layout: layout, extraGroups: groups)
        }
        let query = groups.map { "group=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" }
            .joined(separator: "&")
        return try await APIClient(baseURL: serverOptions.baseURL, credential: .admin(adminToken))
            .get("/v1/kafka/topics" + (query.isEmpty ? "" : "?\(query)"), as: TopicReport.self)
    }
}

/// The topic report as an aligned text table, one row per topic and group.
struct TopicReportTable {
    let report: TopicReport

    func render() -> String {
        var rows = [["TOPIC", "PARTITIONS", "RECORDS", "END OFFSETS", "GROUP", "COMMITTED", "LAG", "LOST"]]
        for topic in report.topics {
            guard topic.exists else {
                rows.append([topic.name, "missing", "-", "-", "-", "-", "-", "-"])
                continue
            }
            let base = [topic.name, String(topic.partitions.count), String(topic.records), String(topic.endOffsets)]
            if topic.consumerGroups.isEmpty {
                rows.append(base + ["-", "-", "-", "-"])
            }
            for group in topic.consumerGroups {
                let committed = group.partitions.compactMap(\.committedOffset)
                rows.append(
                    base + [
                        group.group, committed.isEmpty ? "-" : String(committed.reduce(0, +)), String(group.lag),
                        String(group.lostRecords + group.behindLogStart),
                    ])
            }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }
}
