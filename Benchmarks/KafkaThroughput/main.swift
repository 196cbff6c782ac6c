// Producer and consumer throughput against the embedded cluster.
//
// Prints records/s for each scenario, measured side by side in one run, and
// the ratios between them; compare ratios, not absolute numbers, across
// machines. Run: swift run -c release regevents-bench [--records N]
import Foundation
import Kafka
import Logging

struct Scenario {
    let name: String
    let records: Int
    let seconds: Double
    var rate: Double { Double(records) / seconds }
}

func measure(_ body: () async throws -> Int) async rethrows -> (Int, Double) {
    let start = ContinuousClock.now
    let count = try await body()
    let elapsed = ContinuousClock.now - start
    let (seconds, attoseconds) = elapsed.components
    return (count, Double(seconds) + Double(attoseconds) / 1e18)
}

let arguments = CommandLine.arguments
let recordCount = arguments.firstIndex(of: "--records").flatMap { Int(arguments[$0 + 1]) } ?? 50_000
let valueSize = 1024
let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: "bench")
let value = [UInt8](repeating: 0x7a, count: valueSize)

func records(_ topic: String, _ count: Int) -> [KafkaProducerRecord] {
    (0..<count).map { KafkaProducerRecord(topic: topic, key: Array("registry/repo-\($0 % 64)".utf8), value: value) }
}

func produceScenario(name: String, topic: String, count: Int, configure: (inout KafkaProducerConfiguration) -> Void, window: Int) async throws -> Scenario {
    try cluster.createTopic(KafkaTopicSpec(name: topic, partitions: 6))
    var configuration = KafkaProducerConfiguration(client: client)
    configure(&configuration)
    let producer = try KafkaProducer(configuration: configuration, logger: logger)
    // Connection set-up and the idempotent producer id are not throughput.
    _ = try await producer.send(KafkaProducerRecord(topic: topic, value: Array("warm-up".utf8)))
    let batch = records(topic, count)
    let (sent, seconds) = try await measure {
        var sent = 0
        var index = 0
        while index < batch.count {
            let end = min(batch.count, index + window)
            if window == 1 {
                _ = try await producer.send(batch[index])
            } else {
                _ = try await producer.send(contentsOf: Array(batch[index..<end]))
            }
            sent += end - index
            index = end
        }
        return sent
    }
    await producer.shutdown()
    return Scenario(name: name, records: sent, seconds: seconds)
}

var results: [Scenario] = []
results.append(try await produceScenario(
    name: "produce acks=all idempotent, 1 KiB, 5000 in flight", topic: "bench-all", count: recordCount, configure: { _ in },
    window: 5000))
results.append(try await produceScenario(
    name: "produce acks=1 not idempotent, 1 KiB, 5000 in flight", topic: "bench-leader", count: recordCount,
    configure: { $0.acks = .leader; $0.enableIdempotence = false }, window: 5000))
results.append(try await produceScenario(
    name: "produce acks=all idempotent, 1 KiB, one at a time", topic: "bench-serial", count: min(recordCount, 2000),
    configure: { $0.linger = .zero }, window: 1))

// The embedded cluster keeps about 5 MiB per partition: consume what is left.
let admin = try KafkaAdmin(configuration: client, logger: logger)
let available = Int(try await admin.describeTopics(["bench-all"]).first?.recordCount ?? 0)
var consumerConfiguration = KafkaConsumerConfiguration(client: client, groupID: "bench-consumer")
consumerConfiguration.maxPollRecords = 1000
let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
try consumer.subscribe(["bench-all"])
// Join the group before the clock starts.
var warmUp: [KafkaConsumerRecord] = []
while warmUp.isEmpty { warmUp = try await consumer.poll(timeout: .milliseconds(200)) }
let (consumed, consumeSeconds) = try await measure {
    var count = warmUp.count
    while count < available {
        let batch = try await consumer.poll(timeout: .milliseconds(200))
        count += batch.count
        if let last = batch.last { try await consumer.commit(last) }
    }
    return count - warmUp.count
}
await consumer.close()
results.append(Scenario(name: "consume with a commit per poll, 1 KiB", records: consumed, seconds: consumeSeconds))
cluster.shutdown()

print("RegistryEvents Kafka throughput (embedded cluster, \(recordCount) records)")
for result in results {
    let name = result.name.padding(toLength: 56, withPad: " ", startingAt: 0)
    print("\(name) \(String(format: "%10.0f", result.rate)) records/s  (\(result.records) in \(String(format: "%.2f", result.seconds)) s)")
}
print(String(format: "ratio acks=all / acks=1:            %.2f", results[0].rate / results[1].rate))
print(String(format: "ratio in-flight / one-at-a-time:    %.1f", results[0].rate / results[2].rate))
