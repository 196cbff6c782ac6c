import Delivery
import Foundation
import Logging
import RegistryEvents
import ServiceLifecycle

/// An in-process Event Grid subscriber: every image pushed to a registry,
/// handed to Swift code instead of an HTTP endpoint.
///
///     swift run PushScanner <brokers> <registry> [<repository-prefix>]
///     swift run PushScanner 127.0.0.1:9092 myregistry library/
///
/// `<brokers>` is what `regevents serve` prints after "embedded Kafka" (or
/// your cluster). The scanner keeps its place in its own consumer group
/// (`push-scanner`): stop and start it and it goes on where it left off. A
/// scan that throws is retried on Event Grid's schedule and dead-lettered to
/// `registry-events.deadletter` after 30 attempts or 24 hours.
@main
struct PushScanner {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count >= 2 else {
            print("usage: PushScanner <brokers> <registry> [<repository-prefix>]")
            return
        }
        let brokers = arguments[arguments.startIndex]
        let registry = arguments[arguments.startIndex + 1]
        let prefix = arguments.count > 2 ? arguments[arguments.startIndex + 2] : ""
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "push-scanner")

        let configuration = EventGridConsumer.Configuration(
            brokers: brokers, group: "push-scanner", source: .registry(registry),
            filter: EventFilter(
                includedEventTypes: ["Microsoft.ContainerRegistry.ImagePushed"],
                advancedFilters: prefix.isEmpty
                    ? nil : [AdvancedFilter(operatorType: .stringBeginsWith, key: "data.target.repository", values: [.string(prefix)])]))
        let scanner = EventGridConsumer(configuration: configuration, logger: logger) { event in
            let pushed = try event.decode(EventGridEvent.self)
            let target = pushed.data.target
            // A real scanner would pull `target.digest` and scan it here;
            // throwing makes the event come back later.
            let line = "scan \(target.repository):\(target.tag ?? "-") \(target.digest ?? "") (attempt \(event.deliveryAttempt))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        let group = ServiceGroup(
            configuration: .init(services: [scanner], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
