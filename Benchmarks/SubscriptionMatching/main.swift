// How the subscription path's CPU work scales: parsing an event, matching it
// against N subscriptions' filters, and rendering it in the other schema.
//
// Prints events/s per scenario, measured side by side in one run, and the
// ratios to the first; compare ratios, not absolute numbers, across machines.
// Run: swift run -c release regevents-filter-bench [--events N]
import Foundation
import RegistryEvents

let arguments = CommandLine.arguments
let eventCount = arguments.firstIndex(of: "--events").flatMap { Int(arguments[$0 + 1]) } ?? 20_000

/// A registry push as `.cloudevents` carries it.
let recordValue: [UInt8] = {
    let event = RegistryEvent(
        id: "31c51664-e5bd-416a-a5df-e5206bc47ed0", timestamp: "2026-11-25T10:00:00Z", action: .push, registry: "myregistry",
        location: "westeurope",
        target: .init(
            mediaType: "application/vnd.oci.image.manifest.v1+json", size: 3023,
            digest: "sha256:\(String(repeating: "a", count: 64))", length: 3023, repository: "library/hello", tag: "v1"))
    return EventRecordRenderer(layout: TopicLayout()).records(for: event).first { $0.topic.hasSuffix(".cloudevents") }!.value
}()

/// A typical subscription: one type, a subject prefix, two advanced filters.
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

func measure(_ name: String, _ body: () -> Int) -> (String, Double) {
    let start = ContinuousClock.now
    let matched = body()
    let (seconds, attoseconds) = (ContinuousClock.now - start).components
    let elapsed = Double(seconds) + Double(attoseconds) / 1e18
    print("\(name): \(Int(Double(eventCount) / elapsed)) events/s (\(matched) deliveries)")
    return (name, Double(eventCount) / elapsed)
}

var results: [(String, Double)] = []
results.append(measure("parse only") {
    (0..<eventCount).reduce(0) { count, _ in count + (JSONValue(parsing: recordValue) == nil ? 0 : 1) }
})
for subscriptions in [1, 10, 100] {
    let all = (0..<subscriptions).map(subscription)
    results.append(measure("parse + match \(subscriptions) subscriptions") {
        var deliveries = 0
        for _ in 0..<eventCount {
            guard let envelope = JSONValue(parsing: recordValue) else { continue }
            deliveries += all.filter { $0.matches(envelope) }.count
        }
        return deliveries
    })
}
results.append(measure("parse + render as Event Grid schema") {
    (0..<eventCount).reduce(0) { count, _ in
        guard let envelope = JSONValue(parsing: recordValue) else { return count }
        return count + PublishedEvent(schema: .cloudEvents, envelope: envelope).rendered(as: .eventGrid).jsonBytes.count.signum()
    }
})
let baseline = results[0].1
print("\nratios to \"parse only\":")
for (name, rate) in results { print("  \(name): \(String(format: "%.2f", rate / baseline))") }
