import ArgumentParser
import Foundation
import RegistryEvents

/// `regevents topic …`: `az eventgrid topic` for RegistryEvents, a client of
/// the management API. (`regevents topics` reports the Kafka topics.)
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "Manage Event Grid custom topics and their access keys (like az eventgrid topic).",
        subcommands: [Create.self, Delete.self, List.self, Show.self, Key.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var server: ServerOptions

        @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with --admin-token.")
        var adminToken: String?

        var client: APIClient { APIClient(baseURL: server.baseURL, credential: .admin(adminToken)) }

        func path(_ name: String? = nil, _ suffix: String = "") throws -> String {
            if let name { try CLINames.check(.topic, name, flag: "--name") }
            return "/v1/topics\(name.map { "/" + pathSegment($0) } ?? "")\(suffix)"
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a custom topic with fresh keys; on an existing topic only the input schema changes.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long], help: "Topic name: letters, digits and hyphens, 3-50.") var name: String
        @Option(help: "eventgridschema (default) or cloudeventschemav1_0: what publishers send.") var inputSchema: String?
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                var body: Data?
                if let text = inputSchema {
                    guard let schema = EventDeliverySchema(text: text) else {
                        throw CommandFailure(message: "--input-schema: must be eventgridschema or cloudeventschemav1_0, not \(text)", exitCode: 64)
                    }
                    body = try JSONSerialization.data(withJSONObject: ["properties": ["inputSchema": schema.rawValue]])
                }
                let answer = try await target.client.send(method: .PUT, path: try target.path(name), body: body)
                printTopics(answer, output: output)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a custom topic and its event subscriptions.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String

        func run() async throws {
            try await reportingFailures {
                _ = try await target.client.send(method: .DELETE, path: try target.path(name))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the custom topics.")
        @OptionGroup var target: Target
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(method: .GET, path: try target.path())
                printTopics(answer, output: output, list: true)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a custom topic (its publish endpoint; keys: topic key list).")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(method: .GET, path: try target.path(name))
                printTopics(answer, output: output)
            }
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List or regenerate a custom topic's access keys (aeg-sas-key).", subcommands: [List.self, Regenerate.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show key1 and key2.")
            @OptionGroup var target: Target
            @Option(name: [.customShort("n"), .long]) var name: String

            func run() async throws {
                try await reportingFailures {
                    let answer = try await target.client.send(method: .POST, path: try target.path(name, "/listKeys"))
                    printLine(prettyJSON(answer))
                }
            }
        }

        struct Regenerate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Replace one key; the other keeps working. Prints both.")
            @OptionGroup var target: Target
            @Option(name: [.customShort("n"), .long]) var name: String
            @Option(help: "key1 or key2.") var keyName: String

            func run() async throws {
                try await reportingFailures {
                    guard ["key1", "key2"].contains(keyName.lowercased()) else {
                        throw CommandFailure(message: "--key-name: must be key1 or key2, not \(keyName)", exitCode: 64)
                    }
                    let answer = try await target.client.send(
                        method: .POST, path: try target.path(name, "/regenerateKey"),
                        body: try JSONSerialization.data(withJSONObject: ["keyName": keyName.lowercased()]))
                    printLine(prettyJSON(answer))
                }
            }
        }
    }
}

private func printTopics(_ data: Data, output: OutputFormat, list: Bool = false) {
    guard output == .table, let object = try? JSONSerialization.jsonObject(with: data) else {
        printLine(prettyJSON(data))
        return
    }
    let items: [[String: Any]] = list ? ((object as? [String: Any])?["value"] as? [[String: Any]] ?? []) : [object as? [String: Any] ?? [:]]
    var rows = [["NAME", "INPUT SCHEMA", "KAFKA TOPIC", "ENDPOINT"]]
    for item in items {
        let properties = item["properties"] as? [String: Any] ?? [:]
        rows.append([
            item["name"] as? String ?? "", properties["inputSchema"] as? String ?? "", properties["kafkaTopic"] as? String ?? "",
            properties["endpoint"] as? String ?? "",
        ])
    }
    printLine(alignedTable(rows))
}
