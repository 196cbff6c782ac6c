import ArgumentParser
import Foundation
import RegistryEvents

/// `regevents subscription …`: `az eventgrid event-subscription` for
/// RegistryEvents, a client of the management API. A subscription listens on
/// a registry (its system topic) or on a custom topic.
struct SubscriptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscription",
        abstract: "Manage Event Grid event subscriptions of a registry or custom topic (like az eventgrid event-subscription).",
        subcommands: [Create.self, Update.self, Delete.self, List.self, Show.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var server: ServerOptions

        @Option(name: [.customShort("r"), .long], help: "Registry whose events it receives (give this or --topic).")
        var registry: String?

        @Option(help: "Custom topic whose events it receives (give this or --registry).")
        var topic: String?

        @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with --admin-token.")
        var adminToken: String?

        var client: APIClient { APIClient(baseURL: server.baseURL, credential: .admin(adminToken)) }

        /// `/v1/registries/{r}/eventSubscriptions[/{name}]{suffix}`, or the same under `/v1/topics/{t}`.
        func path(_ name: String? = nil, _ suffix: String = "") throws -> String {
            let scope: String
            if let name { try CLINames.check(.subscription, name, flag: "--name") }
            switch (registry, topic) {
            case (let registry?, nil):
                try CLINames.check(.registry, registry, flag: "--registry")
                scope = "/v1/registries/\(pathSegment(registry))"
            case (nil, let topic?):
                try CLINames.check(.topic, topic, flag: "--topic")
                scope = "/v1/topics/\(pathSegment(topic))"
            case (nil, nil):
                throw CommandFailure(message: "give --registry or --topic: whose events the subscription receives", exitCode: 64)
            case (.some, .some):
                throw CommandFailure(message: "give --registry or --topic, not both", exitCode: 64)
            }
            return "\(scope)/eventSubscriptions\(name.map { "/" + pathSegment($0) } ?? "")\(suffix)"
        }
    }

    /// The settings create and update share. All are optional: update sends
    /// only what was given.
    struct Settings: ParsableArguments {
        @Option(parsing: .upToNextOption, help: "Space-separated event types, e.g. Microsoft.ContainerRegistry.ImagePushed (default: all).")
        var includedEventTypes: [String] = []

        @Option(help: "Only events whose subject begins with this (literal, no wildcards).")
        var subjectBeginsWith: String?

        @Option(help: "Only events whose subject ends with this (literal, no wildcards).")
        var subjectEndsWith: String?

        @Option(
            defaultAsFlag: "true", parsing: .next,
            help: ArgumentHelp("Compare the subject filters case-sensitively: true or false.", valueName: "true|false"))
        var subjectCaseSensitive: String?

        @Option(
            parsing: .upToNextOption,
            help: ArgumentHelp(
                "KEY OPERATOR [VALUE...], e.g. data.target.repository StringIn hello world. Repeatable: each occurrence is one filter, all must pass. Ranges are lo,hi.",
                valueName: "key operator value"))
        var advancedFilter: [String] = []

        @Option(
            defaultAsFlag: "true", parsing: .next,
            help: ArgumentHelp("Apply advanced filters to each element of an array value: true or false.", valueName: "true|false"))
        var enableAdvancedFilteringOnArrays: String?

        @Option(parsing: .upToNextOption, help: "Space-separated labels.")
        var labels: [String] = []

        @Option(help: "Attempts in flight at once, 1-1000 (0 or unset: the server's --delivery-concurrency). A RegistryEvents extension.")
        var maxConcurrentDeliveries: Int?

        @Option(help: "unordered (default) or perKey: one repository's (key's) events in order, one attempt at a time. A RegistryEvents extension.")
        var ordering: String?

        @Option(help: "eventgridschema (default) or cloudeventschemav1_0.")
        var eventDeliverySchema: String?

        @Option(help: "Delivery attempts before an event is dead-lettered, 1-30 (default 30).")
        var maxDeliveryAttempts: Int?

        @Option(help: "Minutes an event is retried, 1-1440 (default 1440).")
        var eventTtl: Int?

        @Option(help: "Most events in one delivery, 1-5000 (default 1).")
        var maxEventsPerBatch: Int?

        @Option(
            name: [.customLong("preferred-batch-size-in-kilobytes"), .customLong("pref-batch-size-kb")],
            help: "Preferred size of one delivery in KB, 1-1024 (default 64).")
        var preferredBatchSizeInKilobytes: Int?

        @Option(
            parsing: .upToNextOption,
            help: ArgumentHelp(
                "A header on every delivery: NAME static VALUE [true|false] (true: a secret, never shown) or NAME dynamic SOURCEFIELD (e.g. data.target.repository). Repeatable.",
                valueName: "name type value"))
        var deliveryAttributeMapping: [String] = []

        @Option(help: "Dead letters: an http(s) URL they are also POSTed to (besides the deadletter topic), or the Kafka topic they go to instead of it.")
        var deadletterEndpoint: String?

        /// Whether a filter flag was given (update then merges into the current filter).
        var changesFilter: Bool {
            !includedEventTypes.isEmpty || subjectBeginsWith != nil || subjectEndsWith != nil || subjectCaseSensitive != nil
                || !advancedFilter.isEmpty || enableAdvancedFilteringOnArrays != nil
        }

        /// Sets the members of `filter` that flags were given for; leaves the rest.
        func apply(to filter: inout EventFilter) throws {
            if !includedEventTypes.isEmpty { filter.includedEventTypes = includedEventTypes }
            if let subjectBeginsWith { filter.subjectBeginsWith = subjectBeginsWith }
            if let subjectEndsWith { filter.subjectEndsWith = subjectEndsWith }
            if let text = subjectCaseSensitive { filter.isSubjectCaseSensitive = try boolean(text, flag: "--subject-case-sensitive") }
            if let text = enableAdvancedFilteringOnArrays {
                filter.enableAdvancedFilteringOnArrays = try boolean(text, flag: "--enable-advanced-filtering-on-arrays")
            }
            if !advancedFilter.isEmpty {
                var filters: [AdvancedFilter] = []
                for words in try RepeatedOption.occurrences(of: "advanced-filter", parsed: advancedFilter) {
                    do {
                        filters.append(try AdvancedFilter(cliArguments: words))
                    } catch {
                        throw CommandFailure(message: error.description, exitCode: 64)
                    }
                }
                filter.advancedFilters = filters
            }
        }

        /// The `properties` of a PUT or PATCH body: `endpoint` when given,
        /// `filter` when given, and what the other flags set.
        func properties(endpoint: String?, filter: EventFilter?) throws -> [String: Any] {
            try checkRange(maxDeliveryAttempts, EventSubscription.maxDeliveryAttemptsRange, flag: "--max-delivery-attempts")
            try checkRange(eventTtl, EventSubscription.eventTimeToLiveRange, flag: "--event-ttl", unit: " minutes")
            try checkRange(maxEventsPerBatch, EventSubscription.maxEventsPerBatchRange, flag: "--max-events-per-batch")
            try checkRange(
                preferredBatchSizeInKilobytes, EventSubscription.preferredBatchSizeRange, flag: "--preferred-batch-size-in-kilobytes")

            var destination: [String: Any] = [:]
            destination["endpointUrl"] = endpoint
            destination["maxEventsPerBatch"] = maxEventsPerBatch
            destination["preferredBatchSizeInKilobytes"] = preferredBatchSizeInKilobytes
            if !deliveryAttributeMapping.isEmpty {
                let mappings = try RepeatedOption.occurrences(of: "delivery-attribute-mapping", parsed: deliveryAttributeMapping)
                    .map(Self.deliveryAttribute)
                destination["deliveryAttributeMappings"] = try jsonFragment(mappings)
            }

            var properties: [String: Any] = [:]
            if !destination.isEmpty { properties["destination"] = ["endpointType": "WebHook", "properties": destination] }
            if let filter { properties["filter"] = try jsonFragment(filter) }
            if let text = eventDeliverySchema {
                guard let schema = EventDeliverySchema(text: text) else {
                    throw CommandFailure(
                        message: "--event-delivery-schema: must be eventgridschema or cloudeventschemav1_0, not \(text)", exitCode: 64)
                }
                properties["eventDeliverySchema"] = schema.rawValue
            }
            var retryPolicy: [String: Any] = [:]
            retryPolicy["maxDeliveryAttempts"] = maxDeliveryAttempts
            retryPolicy["eventTimeToLiveInMinutes"] = eventTtl
            if !retryPolicy.isEmpty { properties["retryPolicy"] = retryPolicy }
            if let target = deadletterEndpoint {
                let lowered = target.lowercased()
                let destination: DeadLetterDestination =
                    lowered.hasPrefix("http://") || lowered.hasPrefix("https://") ? .webHook(target) : .kafkaTopic(target)
                properties["deadLetterDestination"] = try jsonFragment(destination)
            }
            if !labels.isEmpty { properties["labels"] = labels }
            properties["maxConcurrentDeliveries"] = maxConcurrentDeliveries
            properties["ordering"] = ordering
            return properties
        }

        /// az's `NAME static VALUE [IS-SECRET]` or `NAME dynamic SOURCEFIELD`.
        /// Errors never repeat the value: it may be a secret.
        static func deliveryAttribute(_ words: [String]) throws -> DeliveryAttributeMapping {
            let flag = "--delivery-attribute-mapping"
            let usage = "expected NAME static VALUE [true|false] or NAME dynamic SOURCEFIELD"
            guard words.count >= 3 else {
                throw CommandFailure(message: "\(flag): \(usage); got \(words.count) value\(words.count == 1 ? "" : "s")", exitCode: 64)
            }
            let name = words[0]
            switch words[1].lowercased() {
            case "static":
                guard words.count <= 4 else {
                    throw CommandFailure(message: "\(flag) \(name): static takes VALUE [true|false]; got \(words.count - 2) values", exitCode: 64)
                }
                let secret = words.count == 4 ? try boolean(words[3], flag: "\(flag) \(name) (is-secret)") : false
                return .fixed(name, words[2], secret: secret)
            case "dynamic":
                guard words.count == 3 else {
                    throw CommandFailure(message: "\(flag) \(name): dynamic takes one SOURCEFIELD; got \(words.count - 2) values", exitCode: 64)
                }
                return .field(name, words[2])
            default:
                throw CommandFailure(message: "\(flag) \(name): the type must be static or dynamic, not \(words[1])", exitCode: 64)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (or replace) an event subscription; the endpoint must pass the validation handshake.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long], help: "Subscription name: letters, digits and hyphens, 3-64.") var name: String
        @Option(help: "The webhook URL events are POSTed to (a query is kept secret).") var endpoint: String
        @OptionGroup var settings: Settings
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                var filter = EventFilter()
                try settings.apply(to: &filter)
                let properties = try settings.properties(endpoint: endpoint, filter: settings.changesFilter ? filter : nil)
                let answer = try await target.client.send(
                    method: .PUT, path: try target.path(name),
                    body: try JSONSerialization.data(withJSONObject: ["properties": properties]))
                printSubscriptions(answer, output: output)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change what is given; keep the rest. A filter flag changes that part of the filter only.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option(help: "The webhook URL events are POSTed to (a query is kept secret).") var endpoint: String?
        @OptionGroup var settings: Settings
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let path = try target.path(name)
                // The server replaces the filter as a whole, so the flags
                // given are merged into the current one here, as az does.
                var filter: EventFilter?
                if settings.changesFilter {
                    var current = try await currentFilter(path)
                    try settings.apply(to: &current)
                    filter = current
                }
                let properties = try settings.properties(endpoint: endpoint, filter: filter)
                guard !properties.isEmpty else {
                    throw CommandFailure(message: "nothing to update: give at least one setting, e.g. --endpoint or --labels", exitCode: 64)
                }
                let answer = try await target.client.send(
                    method: .PATCH, path: path, body: try JSONSerialization.data(withJSONObject: ["properties": properties]))
                printSubscriptions(answer, output: output)
            }
        }

        private func currentFilter(_ path: String) async throws -> EventFilter {
            struct Shown: Decodable {
                struct Properties: Decodable { var filter: EventFilter? }
                var properties: Properties
            }
            let data = try await target.client.send(method: .GET, path: path)
            do {
                return try JSONDecoder().decode(Shown.self, from: data).properties.filter ?? EventFilter()
            } catch {
                throw CommandFailure(message: "unexpected answer from \(target.server.baseURL)\(path): \(error)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an event subscription.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String

        func run() async throws {
            try await reportingFailures {
                _ = try await target.client.send(method: .DELETE, path: try target.path(name))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the event subscriptions of a registry or custom topic.")
        @OptionGroup var target: Target
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(method: .GET, path: try target.path())
                printSubscriptions(answer, output: output, list: true)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an event subscription (the endpoint without its query, secret delivery attributes without value), with its recent operational events.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option(
            defaultAsFlag: "true", parsing: .next,
            help: ArgumentHelp("Show the endpoint URL with its query: true or false.", valueName: "true|false"))
        var includeFullEndpointUrl: String?
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let full = try includeFullEndpointUrl.map { try boolean($0, flag: "--include-full-endpoint-url") } ?? false
                let path = try target.path(name)
                var answer = try await target.client.send(method: .GET, path: path)
                if full {
                    let url = try await target.client.send(method: .POST, path: try target.path(name, "/getFullUrl"))
                    answer = try withFullEndpoint(answer, url)
                }
                let events = await OperationalEvents.of(path: path, client: target.client)
                printSubscriptions(OperationalEvents.adding(events, to: answer), output: output)
                if output == .table, !events.isEmpty { printLine("\n" + OperationalEvents.table(events)) }
            }
        }

        /// The subscription with `properties.destination.properties.endpointUrl`
        /// set to the full URL getFullUrl answered, as az shows it.
        private func withFullEndpoint(_ subscription: Data, _ fullURL: Data) throws -> Data {
            guard var object = try? JSONSerialization.jsonObject(with: subscription) as? [String: Any],
                var properties = object["properties"] as? [String: Any],
                var destination = properties["destination"] as? [String: Any],
                let url = (try? JSONSerialization.jsonObject(with: fullURL) as? [String: Any])?["endpointUrl"] as? String
            else { throw CommandFailure(message: "unexpected answer from \(target.server.baseURL): no endpoint URL") }
            var destinationProperties = destination["properties"] as? [String: Any] ?? [:]
            destinationProperties["endpointUrl"] = url
            destination["properties"] = destinationProperties
            properties["destination"] = destination
            object["properties"] = properties
            return try JSONSerialization.data(withJSONObject: object)
        }
    }
}

/// Every occurrence of a repeatable multi-value option, kept apart.
///
/// `@Option(parsing: .upToNextOption)` appends the values of every
/// occurrence to one flat array, so `--advanced-filter a StringIn x
/// --advanced-filter b StringIn y` arrives as six strings with no boundary.
/// The boundaries are read again from the command line by ArgumentParser's
/// own rule (a value is an element that does not start with "-", or is "-";
/// "--" ends the options), and the result must flatten to exactly what
/// ArgumentParser parsed, so the two readings cannot silently disagree.
enum RepeatedOption {
    static func occurrences(
        of longName: String, parsed: [String], arguments: [String] = Array(CommandLine.arguments.dropFirst())
    ) throws -> [[String]] {
        let option = "--" + longName
        var groups: [[String]] = []
        var open: [String]?
        for argument in arguments {
            if argument == "--" { break }
            if !argument.hasPrefix("-") || argument == "-" {
                open?.append(argument)
                continue
            }
            if let values = open { groups.append(values) }
            open = nil
            if argument == option {
                open = []
            } else if argument.hasPrefix(option + "=") {
                open = [String(argument.dropFirst(option.count + 1))]
            }
        }
        if let values = open { groups.append(values) }
        guard groups.joined().elementsEqual(parsed) else {
            throw CommandFailure(
                message: "\(option): cannot tell its occurrences apart on this command line; give each as \(option) followed by its values",
                exitCode: 64)
        }
        return groups
    }
}

/// `true`/`false` in any case, as az's three-state flags take them.
private func boolean(_ text: String, flag: String) throws -> Bool {
    switch text.lowercased() {
    case "true": return true
    case "false": return false
    default: throw CommandFailure(message: "\(flag): expected true or false, not \(text)", exitCode: 64)
    }
}

private func checkRange(_ value: Int?, _ range: ClosedRange<Int>, flag: String, unit: String = "") throws {
    guard let value, !range.contains(value) else { return }
    throw CommandFailure(message: "\(flag): must be between \(range.lowerBound) and \(range.upperBound)\(unit), not \(value)", exitCode: 64)
}

/// One path segment, with "/" escaped too.
func pathSegment(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
}

/// A Codable value as a JSONSerialization object, to sit in a `[String: Any]` body.
func jsonFragment(_ value: some Encodable) throws -> Any {
    try JSONSerialization.jsonObject(with: try JSONEncoder().encode(value), options: .fragmentsAllowed)
}

/// The server's JSON as az prints it, or a table: one row per subscription.
private func printSubscriptions(_ data: Data, output: OutputFormat, list: Bool = false) {
    guard output == .table, let object = try? JSONSerialization.jsonObject(with: data) else {
        printLine(prettyJSON(data))
        return
    }
    let items: [[String: Any]] = list ? ((object as? [String: Any])?["value"] as? [[String: Any]] ?? []) : [object as? [String: Any] ?? [:]]
    var rows = [["NAME", "STATE", "SCHEMA", "ENDPOINT", "EVENT TYPES"]]
    for item in items {
        let properties = item["properties"] as? [String: Any] ?? [:]
        let destination = (properties["destination"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
        let filter = properties["filter"] as? [String: Any] ?? [:]
        rows.append([
            item["name"] as? String ?? "", properties["provisioningState"] as? String ?? "",
            properties["eventDeliverySchema"] as? String ?? "",
            destination["endpointUrl"] as? String ?? destination["endpointBaseUrl"] as? String ?? "",
            (filter["includedEventTypes"] as? [String]).map { $0.joined(separator: " ") } ?? "All",
        ])
    }
    printLine(alignedTable(rows))
}

/// Rows as left-aligned columns two spaces apart; the last column unpadded.
func alignedTable(_ rows: [[String]]) -> String {
    let widths = (rows.first ?? []).indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell.padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0)
        }.joined()
    }.joined(separator: "\n")
}
