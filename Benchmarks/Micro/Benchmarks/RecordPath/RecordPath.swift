// The record path's CPU work, one step at a time (issue 12): validating the
// names of an ingested event, parsing a Distribution envelope and mapping its
// event, rendering both topics' records, and what a dispatcher does per record
// (reading an `.acr` record, matching a `.cloudevents` record against 1, 10
// and 100 subscriptions). Inputs are the real Distribution push
// (Tests/Fixtures/distribution/push-oci-tag.json) and what it becomes.
//
// Sub-microsecond steps run 1,000 times per sample (`scalingFactor: .kilo`);
// the table shows them per call (the `*` metrics).
//
// Run: cd Benchmarks/Micro && swift package --disable-sandbox benchmark
import Benchmark
import Foundation
import RegistryEvents

/// The Distribution push envelope the registry sends, read from the test
/// fixture next to this package (so the benchmark and the tests share it).
func fixtureBody() -> [UInt8] {
    // Benchmarks/Micro/Benchmarks/RecordPath/RecordPath.swift: five levels below the repository.
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<5 { root.deleteLastPathComponent() }
    let url = root.appendingPathComponent("Tests/Fixtures/distribution/push-oci-tag.json")
    guard let data = FileManager.default.contents(atPath: url.path) else { fatalError("cannot read the fixture \(url.path)") }
    return Array(data)
}

/// A typical subscription, as SubscriptionMatching builds it: one event type,
/// a subject prefix, two advanced filters.
func subscription(_ index: Int) -> EventSubscription {
    EventSubscription(
        scope: .registry("myregistry"), name: "sub-\(index)", endpointURL: "https://hooks.example/\(index)",
        filter: EventFilter(
            includedEventTypes: ["Microsoft.ContainerRegistry.ImagePushed"], subjectBeginsWith: index % 2 == 0 ? "library/" : "team-\(index)/",
            advancedFilters: [
                AdvancedFilter(operatorType: .stringIn, key: "data.location", values: ["westeurope", "eastus"]),
                AdvancedFilter(operatorType: .numberLessThan, key: "data.target.size", value: .number(Double(1000 * index + 5000))),
            ]),
        provisioningState: .succeeded)
}

/// Ten fields, about the shape of an audit or retry record.
struct AuditLike: Codable {
    var registry: String
    var subscription: String
    var eventID: String
    var eventType: String
    var endpoint: String
    var attempt: Int
    var status: Int
    var durationMilliseconds: Double
    var outcome: String
    var time: String
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    let perCall = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 10, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1_000_000)

    // MARK: Inputs

    let body = fixtureBody()
    let envelope: DistributionEnvelope
    do { envelope = try DistributionEnvelope(parsing: body) } catch { fatalError("the fixture does not parse: \(error)") }
    let mapper = DistributionEventMapper(registry: "myregistry", location: "westeurope")
    guard case .accepted(let event) = mapper.map(envelope.events[0]) else { fatalError("the fixture's event is not accepted") }
    let renderer = EventRecordRenderer(layout: TopicLayout())
    let records = renderer.records(for: event)
    guard let acrRecord = records.first(where: { $0.topic.hasSuffix(".acr") }),
        let cloudEventRecord = records.first(where: { $0.topic.hasSuffix(".cloudevents") })
    else { fatalError("the renderer gave no .acr or no .cloudevents record") }

    let repository = event.target.repository
    let tag = event.target.tag ?? "v1"
    let digest = event.target.digest ?? "sha256:\(String(repeating: "a", count: 64))"
    let registryName = event.registry

    // MARK: Validators (`Timestamps.isRFC3339` is internal: measured inside "map event")

    Benchmark("OCINames.isValidRepository", configuration: perCall) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(OCINames.isValidRepository(repository)) }
    }
    Benchmark("OCINames.isValidTag", configuration: perCall) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(OCINames.isValidTag(tag)) }
    }
    Benchmark("OCINames.isValidDigest", configuration: perCall) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(OCINames.isValidDigest(digest)) }
    }
    Benchmark("OCINames.isValidRegistryName", configuration: perCall) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(OCINames.isValidRegistryName(registryName)) }
    }

    // MARK: Ingest

    Benchmark("ingest: DistributionEnvelope(parsing:)") { benchmark in
        blackHole(try? DistributionEnvelope(parsing: body))
    }
    Benchmark("ingest: map event to RegistryEvent") { benchmark in
        blackHole(mapper.map(envelope.events[0]))
    }
    Benchmark("ingest: parse + map") { benchmark in
        let parsed = try? DistributionEnvelope(parsing: body)
        blackHole(parsed.map { $0.events.map(mapper.map) })
    }

    // MARK: Rendering

    Benchmark("render: records(for:) (.acr + .cloudevents)") { benchmark in
        blackHole(renderer.records(for: event))
    }

    // MARK: Dispatchers

    Benchmark("webhook: KafkaRecordFormat.acrEvent") { benchmark in
        blackHole(KafkaRecordFormat.acrEvent(value: acrRecord.value, headers: acrRecord.headers))
    }
    Benchmark("subscriptions: parse only (KafkaRecordFormat.cloudEvent)") { benchmark in
        blackHole(KafkaRecordFormat.cloudEvent(value: cloudEventRecord.value, headers: cloudEventRecord.headers))
    }
    for count in [1, 10, 100] {
        let subscriptions = (0..<count).map(subscription)
        Benchmark("subscriptions: parse + match \(count)") { benchmark in
            guard let (_, cloudEvent) = KafkaRecordFormat.cloudEvent(value: cloudEventRecord.value, headers: cloudEventRecord.headers)
            else { fatalError("the .cloudevents record does not read back") }
            var matched = 0
            for subscription in subscriptions where subscription.matches(cloudEvent) { matched += 1 }
            blackHole(matched)
        }
    }

    // MARK: Encoding: a new JSONEncoder per record against one shared, and
    // JSONRendering (a new encoder with sorted keys: what the renderer uses)

    let audit = AuditLike(
        registry: "myregistry", subscription: "sub-1", eventID: event.id, eventType: "Microsoft.ContainerRegistry.ImagePushed",
        endpoint: "https://hooks.example/1", attempt: 1, status: 200, durationMilliseconds: 3.25, outcome: "delivered",
        time: event.timestamp)
    Benchmark("encode: new JSONEncoder per record", configuration: perCall) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? JSONEncoder().encode(audit)) }
    }
    Benchmark("encode: shared JSONEncoder", configuration: perCall) { benchmark in
        let encoder = JSONEncoder()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try? encoder.encode(audit)) }
    }
    Benchmark("encode: JSONRendering.encode (sorted keys)", configuration: perCall) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(JSONRendering.encode(audit)) }
    }
}
