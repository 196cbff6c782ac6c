import ArgumentParser
import Foundation

/// `regevents deadletter …`: the dead letters of the server's topic (or a
/// subscription's own), a client of `/v1/deadletters`.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadletter",
        abstract: "List, show and redrive dead letters (deliveries given up).",
        subcommands: [List.self, Show.self, Redrive.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var server: ServerOptions

        @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with --admin-token.")
        var adminToken: String?

        var client: APIClient { APIClient(baseURL: server.baseURL, credential: .admin(adminToken)) }
    }

    /// The filter options `list` and `redrive` share.
    struct Filter: ParsableArguments {
        @Option(help: "webhook, subscription, ingest or undeliverable.") var kind: String?
        @Option(help: "registry/<name> or topic/<name>.") var scope: String?
        @Option(name: .customLong("target"), help: "A webhook's or subscription's name.") var targetName: String?
        @Option(help: "Part of the reason, any case (e.g. MaxDeliveryAttemptsExceeded, \"HTTP 500\").") var reason: String?
        @Option(help: "Dead-lettered at or after this RFC 3339 time.") var since: String?
        @Option(help: "Dead-lettered before this RFC 3339 time.") var until: String?
        @Option(help: "A subscription's own dead-letter topic instead of the server's.") var topic: String?

        var fields: [(String, String?)] {
            [("kind", kind), ("scope", scope), ("target", targetName), ("reason", reason), ("since", since), ("until", until)]
        }

        var isEmpty: Bool { fields.allSatisfy { $0.1 == nil } }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, oldest first, filtered.")
        @OptionGroup var target: Target
        @OptionGroup var filter: Filter
        @Option(help: "At most this many (1-500).") var top: Int = 50
        @Option(help: "json or table.") var output: OutputFormat = .table

        func validate() throws {
            guard (1...500).contains(top) else { throw ValidationError("--top must be 1 to 500") }
        }

        func run() async throws {
            try await reportingFailures {
                let items = (filter.fields + [("topic", filter.topic), ("top", String(top))]).compactMap { name, value in
                    value.map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }
                }
                let answer = try await target.client.send(method: .GET, path: "/v1/deadletters?" + items.joined(separator: "&"))
                guard output == .table, let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                    printLine(prettyJSON(answer))
                    return
                }
                var rows = [["ID", "DEAD-LETTERED", "KIND", "TARGET", "EVENT", "STATUS", "REASON"]]
                for letter in object["value"] as? [[String: Any]] ?? [] {
                    rows.append([
                        letter["id"] as? String ?? "", letter["deadLetteredAt"] as? String ?? "", letter["kind"] as? String ?? "",
                        letter["target"] as? String ?? "-", letter["eventID"] as? String ?? "-",
                        (letter["lastHttpStatusCode"] as? Int).map(String.init) ?? "-",
                        String((letter["reason"] as? String ?? "").prefix(60)),
                    ])
                }
                printLine(alignedTable(rows))
                if object["nextLink"] != nil { printLine("(more: narrow the filter or raise --top)") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter, with the event it carries.")
        @OptionGroup var target: Target
        @Option(help: "Its id, as list gives it (<partition>-<offset>).") var id: String

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(method: .GET, path: "/v1/deadletters/\(pathSegment(id))")
                printLine(prettyJSON(answer))
            }
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back to their targets with a fresh attempt count, by id or by filter.")
        @OptionGroup var target: Target
        @Option(name: .customLong("id"), help: "A dead letter's id; repeatable.") var ids: [String] = []
        @OptionGroup var filter: Filter

        func validate() throws {
            guard ids.isEmpty != filter.isEmpty else {
                throw ValidationError("give --id (repeatable) or a filter (--kind, --scope, --target, --reason, --since, --until)")
            }
        }

        func run() async throws {
            try await reportingFailures {
                var body: [String: Any] = [:]
                if ids.isEmpty {
                    body["filter"] = Dictionary(uniqueKeysWithValues: filter.fields.compactMap { name, value in value.map { (name, $0) } })
                    if let topic = filter.topic { body["topic"] = topic }
                } else {
                    body["ids"] = ids
                }
                let answer = try await target.client.send(
                    method: .POST, path: "/v1/deadletters/redrive", body: try JSONSerialization.data(withJSONObject: body))
                printLine(prettyJSON(answer))
            }
        }
    }
}
