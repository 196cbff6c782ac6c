import ArgumentParser
import Foundation
import Kafka
import Logging
import RegistryEvents
import Server

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the records of a topic as JSON lines.",
        discussion: """
            Without --kafka-brokers the server's /v1/info tells where Kafka is, so this works against \
            the embedded cluster with no flags. Reads outside any consumer group and commits nothing.
            """
    )

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with one: /v1/info needs it.")
    var adminToken: String?

    @Option(help: "acr, cloudevents, deliveries, deadletter, retry.<delay>, or a full topic name.")
    var topic: String = "acr"

    @Flag(help: "Start at the oldest record kept instead of the next new one.")
    var fromBeginning = false

    @Option(help: "Stop after this many records.")
    var max: Int?

    @Option(help: "Only records whose key starts with this (keys are <registry>/<repository>).")
    var keyPrefix: String?

    @Flag(help: "Stop once every partition's end (as of start) is reached, like kcat -e.")
    var exitAtEnd = false

    @Option(help: "Kafka bootstrap servers, instead of asking the server.")
    var kafkaBrokers: String?

    @Option(help: "Topic prefix with --kafka-brokers.")
    var topicPrefix: String = TopicLayout.defaultPrefix

    func validate() throws {
        if let max, max < 1 { throw ValidationError("--max must be at least 1") }
    }

    func run() async throws {
        try await reportingFailures {
            var logger = Logger(label: "regevents.tail")
            logger.logLevel = .error
            let (bootstrap, layout) = try await locateKafka()
            let topicName = layout.resolve(topic)
            let client = KafkaClientConfiguration(bootstrapServers: bootstrap, clientID: "regevents-tail", requestTimeout: .seconds(10))
            let admin = try KafkaAdmin(configuration: client, logger: logger)
            guard let description = try await admin.describeTopics([topicName]).first else {
                throw CommandFailure(message: "--topic: no topic \(topicName) at \(bootstrap)")
            }
            let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: nil), logger: logger)
            let start: KafkaConsumer.StartOffset = fromBeginning ? .beginning : .end
            try consumer.assign(Dictionary(uniqueKeysWithValues: description.partitions.map {
                (KafkaTopicPartition(topic: topicName, partition: $0.partition), start)
            }))
            var progress = EndTracker(description: description, startAtBeginning: fromBeginning)
            var printed = 0
            reading: while !(exitAtEnd && progress.reachedEnd) {
                for record in try await consumer.poll(timeout: .milliseconds(200)) {
                    progress.saw(record)
                    if let keyPrefix, !(record.key.map { String(decoding: $0, as: UTF8.self).hasPrefix(keyPrefix) } ?? false) {
                        continue
                    }
                    printLine(RecordPrinter.jsonLine(record))
                    printed += 1
                    if let max, printed >= max { break reading }
                }
            }
            await consumer.close()
        }
    }

    private func locateKafka() async throws -> (String, TopicLayout) {
        if let kafkaBrokers { return (kafkaBrokers, TopicLayout(prefix: topicPrefix)) }
        let info = try await APIClient(baseURL: serverOptions.baseURL, credential: .admin(adminToken)).get("/v1/info", as: ServerInfo.self)
        return (info.kafka.bootstrapServers, info.layout)
    }
}

/// Knows when every partition has been read up to its end offset as of start.
struct EndTracker {
    private var remaining: [Int32: Int64]

    init(description: KafkaTopicDescription, startAtBeginning: Bool) {
        remaining = startAtBeginning
            ? Dictionary(uniqueKeysWithValues: description.partitions
                .filter { $0.highWatermark > $0.lowWatermark }.map { ($0.partition, $0.highWatermark) })
            : [:]
    }

    mutating func saw(_ record: KafkaConsumerRecord) {
        if let end = remaining[record.partition], record.offset + 1 >= end { remaining[record.partition] = nil }
    }

    var reachedEnd: Bool { remaining.isEmpty }
}

/// One record as one JSON line: the value parsed as JSON where it is JSON.
enum RecordPrinter {
    static func jsonLine(_ record: KafkaConsumerRecord) -> String {
        var object: [String: Any] = [
            "topic": record.topic, "partition": Int(record.partition), "offset": record.offset,
            "key": record.key.map { String(decoding: $0, as: UTF8.self) } ?? NSNull(),
            "headers": Dictionary(
                record.headers.map { ($0.key, $0.stringValue.map { $0 as Any } ?? NSNull()) }, uniquingKeysWith: { _, last in last }),
            "value": jsonValue(record.value),
        ]
        if let timestamp = record.timestampMilliseconds {
            object["timestamp"] = ISO8601DateFormatter.withMilliseconds.string(
                from: Date(timeIntervalSince1970: Double(timestamp) / 1000))
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func jsonValue(_ bytes: [UInt8]) -> Any {
        if let parsed = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) { return parsed }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withMilliseconds: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
