import ArgumentParser
import Foundation

/// `regevents operations list`: recent operational events (endpoint
/// disabled, recovered, dead-lettered, …), newest first, a client of
/// `/v1/operations`. `webhook show` and `subscription show` add a target's own.
struct OperationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operations",
        abstract: "List operational events: endpoints disabled and recovered, dead letters, rotations.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent operational events, newest first.")
        @OptionGroup var target: DeadLetterCommand.Target
        @Option(help: "A target's path or a prefix of it, e.g. /registries/myregistry or /registries/myregistry/webhooks/hook1.")
        var source: String?
        @Option(help: "EndpointDisabled, EndpointRecovered, SubscriptionValidationFailed, SigningSecretRotated or DeadLettered.")
        var type: String?
        @Option(help: "At or after this RFC 3339 time.") var since: String?
        @Option(help: "Before this RFC 3339 time.") var until: String?
        @Option(help: "At most this many (1-500).") var top: Int = 50
        @Option(help: "json or table.") var output: OutputFormat = .table

        func validate() throws {
            guard (1...500).contains(top) else { throw ValidationError("--top must be 1 to 500") }
        }

        func run() async throws {
            try await reportingFailures {
                let query = OperationalEvents.query([("source", source), ("type", type), ("since", since), ("until", until), ("top", String(top))])
                let answer = try await target.client.send(method: .GET, path: "/v1/operations?" + query)
                guard output == .table, let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                    printLine(prettyJSON(answer))
                    return
                }
                printLine(OperationalEvents.table(object["value"] as? [[String: Any]] ?? []))
            }
        }
    }
}

/// A target's operational events, as `show` prints them.
enum OperationalEvents {
    /// How many `show` adds.
    static let shown = 10

    static func query(_ fields: [(String, String?)]) -> String {
        fields.compactMap { name, value in
            value.map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }
        }.joined(separator: "&")
    }

    /// The recent events of the target at API path `path` (`/v1/registries/r/webhooks/h`),
    /// newest first; empty when the server cannot say (Kafka down): `show` never fails for them.
    static func of(path: String, client: APIClient) async -> [[String: Any]] {
        let source = String(path.dropFirst("/v1".count))
        guard let answer = try? await client.send(method: .GET, path: "/v1/operations?" + query([("source", source), ("top", String(shown))])),
            let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any]
        else { return [] }
        return object["value"] as? [[String: Any]] ?? []
    }

    /// `resource` (a webhook or subscription as the API answered) with its
    /// events under `operationalEvents`.
    static func adding(_ events: [[String: Any]], to resource: Data) -> Data {
        guard var object = try? JSONSerialization.jsonObject(with: resource) as? [String: Any],
            let merged = try? JSONSerialization.data(withJSONObject: { object["operationalEvents"] = events; return object }())
        else { return resource }
        return merged
    }

    static func table(_ events: [[String: Any]]) -> String {
        var rows = [["TIME", "TYPE", "SOURCE", "DETAIL"]]
        for event in events {
            let data = event["data"] as? [String: Any] ?? [:]
            let detail = ["lastOutcome", "message", "reason", "attempts", "failuresBefore"].compactMap { key in
                data[key].map { "\(key)=\($0)" }
            }.joined(separator: " ")
            rows.append([
                event["time"] as? String ?? "",
                (event["type"] as? String ?? "").replacingOccurrences(of: "RegistryEvents.Operations.", with: ""),
                event["source"] as? String ?? "", String(detail.prefix(80)),
            ])
        }
        return alignedTable(rows)
    }
}
