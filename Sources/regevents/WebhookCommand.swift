import ArgumentParser
import Foundation

/// `regevents webhook …`: `az acr webhook` for RegistryEvents, a client of
/// the management API.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Manage ACR-style webhooks (like az acr webhook).",
        subcommands: [Create.self, Update.self, Delete.self, List.self, Show.self, Ping.self, ListEvents.self, GetConfig.self, RotateSecret.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var server: ServerOptions

        @Option(name: [.customShort("r"), .long], help: "Registry name.")
        var registry: String

        @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with --admin-token.")
        var adminToken: String?

        var client: APIClient { APIClient(baseURL: server.baseURL, credential: .admin(adminToken)) }

        /// Checks the names by the server's own rules first (`ResourceName`).
        func path(_ name: String? = nil, _ suffix: String = "") throws -> String {
            try CLINames.check(.registry, registry, flag: "--registry")
            if let name { try CLINames.check(.webhook, name, flag: "--name") }
            let registryPart = registry.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? registry
            let namePart = name.map { "/" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0) } ?? ""
            return "/v1/registries/\(registryPart)/webhooks\(namePart)\(suffix)"
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (or replace) a webhook.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long], help: "Webhook name: letters and digits, 5-50.") var name: String
        @Option(help: "The service URI events are POSTed to.") var uri: String
        @Option(parsing: .upToNextOption, help: "Space-separated: push delete quarantine chart_push chart_delete; beyond ACR, opt-in: tag_added tag_removed scan_completed.")
        var actions: [String]
        @Option(parsing: .upToNextOption, help: "Space-separated key=value headers sent with every delivery.")
        var headers: [String] = []
        @Option(help: "repo:tag, repo:* (all tags), repo (= repo:latest); empty: the whole registry.") var scope: String?
        @Option(help: "enabled or disabled.") var status: String?
        @Option(help: "The replica whose events it receives (default: the server's --location).") var location: String?
        @Option(parsing: .upToNextOption, help: "Space-separated key=value tags.") var tags: [String] = []
        @Option(help: "Sign deliveries (Standard Webhooks): generate, or a whsec_ secret. Off by default, as in ACR.")
        var signingSecret: String?
        @Option(help: "Attempts in flight at once, 1-1000 (default: the server's --delivery-concurrency).")
        var maxConcurrentDeliveries: Int?
        @Option(help: "unordered (default) or perKey: one repository's events in order, one attempt at a time.") var ordering: String?
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                var properties: [String: Any] = ["serviceUri": uri, "actions": actions]
                properties["signingSecret"] = signingSecret
                properties["maxConcurrentDeliveries"] = maxConcurrentDeliveries
                properties["ordering"] = ordering
                properties["customHeaders"] = try keyValues(headers, flag: "--headers")
                properties["scope"] = scope
                properties["status"] = status
                var body: [String: Any] = ["properties": properties]
                body["location"] = location
                if !tags.isEmpty { body["tags"] = try keyValues(tags, flag: "--tags") }
                let answer = try await target.client.send(
                    method: .PUT, path: try target.path(name), body: try JSONSerialization.data(withJSONObject: body))
                printWebhooks(answer, output: output)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change what is given; keep the rest. --headers {} clears headers.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option var uri: String?
        @Option(parsing: .upToNextOption) var actions: [String] = []
        @Option(parsing: .upToNextOption) var headers: [String] = []
        @Option var scope: String?
        @Option var status: String?
        @Option(parsing: .upToNextOption) var tags: [String] = []
        @Option(help: "generate, a whsec_ secret, or \"\" to stop signing.") var signingSecret: String?
        @Option(help: "Attempts in flight at once, 1-1000; 0: the server's default.") var maxConcurrentDeliveries: Int?
        @Option(help: "unordered or perKey.") var ordering: String?
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                var properties: [String: Any] = [:]
                properties["signingSecret"] = signingSecret
                properties["maxConcurrentDeliveries"] = maxConcurrentDeliveries
                properties["ordering"] = ordering
                properties["serviceUri"] = uri
                if !actions.isEmpty { properties["actions"] = actions }
                if headers == ["{}"] {
                    properties["customHeaders"] = [String: String]()
                } else if !headers.isEmpty {
                    properties["customHeaders"] = try keyValues(headers, flag: "--headers")
                }
                properties["scope"] = scope
                properties["status"] = status
                var body: [String: Any] = ["properties": properties]
                if !tags.isEmpty { body["tags"] = try keyValues(tags, flag: "--tags") }
                let answer = try await target.client.send(
                    method: .PATCH, path: try target.path(name), body: try JSONSerialization.data(withJSONObject: body))
                printWebhooks(answer, output: output)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a webhook.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String

        func run() async throws {
            try await reportingFailures {
                _ = try await target.client.send(method: .DELETE, path: try target.path(name))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a registry's webhooks.")
        @OptionGroup var target: Target
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(method: .GET, path: try target.path())
                printWebhooks(answer, output: output, list: true)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a webhook (header values are never shown), with its recent operational events.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let path = try target.path(name)
                let answer = try await target.client.send(method: .GET, path: path)
                let events = await OperationalEvents.of(path: path, client: target.client)
                printWebhooks(OperationalEvents.adding(events, to: answer), output: output)
                if output == .table, !events.isEmpty { printLine("\n" + OperationalEvents.table(events)) }
            }
        }
    }

    struct Ping: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "POST the ping payload to the webhook now; list-events shows the answer.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(method: .POST, path: try target.path(name, "/ping"))
                printLine(prettyJSON(answer))
            }
        }
    }

    struct ListEvents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-events", abstract: "The webhook's recent deliveries, newest first, with request and response.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option(help: "How many (1-500).") var top: Int = 50
        @Option(help: "json or table.") var output: OutputFormat = .json

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(
                    method: .GET, path: try target.path(name, "/events?top=\(top)"))
                guard output == .table, let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
                    printLine(prettyJSON(answer))
                    return
                }
                var lines = ["EVENT ID                              ACTION        STATUS  REASON"]
                for item in object["value"] as? [[String: Any]] ?? [] {
                    let request = item["eventRequestMessage"] as? [String: Any] ?? [:]
                    let response = item["eventResponseMessage"] as? [String: Any] ?? [:]
                    let action = (request["content"] as? [String: Any])?["action"] as? String ?? ""
                    let status = response["statusCode"] as? String ?? ""
                    let id = (item["id"] as? String ?? "").padding(toLength: 38, withPad: " ", startingAt: 0)
                    lines.append("\(id)\(action.padding(toLength: 14, withPad: " ", startingAt: 0))\(status.padding(toLength: 8, withPad: " ", startingAt: 0))\(response["reasonPhrase"] as? String ?? "")")
                }
                printLine(lines.joined(separator: "\n"))
            }
        }
    }

    struct GetConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get-config", abstract: "Reveal the service URI and custom headers of a webhook.")
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String

        func run() async throws {
            try await reportingFailures {
                let answer = try await target.client.send(
                    method: .POST, path: try target.path(name, "/getCallbackConfig"))
                printLine(prettyJSON(answer))
            }
        }
    }
}

extension WebhookCommand {
    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Give a signed webhook a new signing secret; the old one keeps signing for a grace period.",
            discussion: """
                During the grace period every delivery carries both signatures (Standard Webhooks), so the \
                receiver can switch to the new secret without rejecting a delivery. Prints the new secret.
                """)
        @OptionGroup var target: Target
        @Option(name: [.customShort("n"), .long]) var name: String
        @Option(help: "The new secret: generate (default) or whsec_<base64>.") var signingSecret: String = "generate"
        @Option(help: "How long the old secret keeps signing: 0 to 168h (default 24h; 0 stops it at once).") var grace: String = "24h"

        func run() async throws {
            try await reportingFailures {
                let hours: Double
                if grace == "0" {
                    hours = 0
                } else if let duration = DurationText.parse(grace) {
                    hours = Double(duration.components.seconds) / 3600
                } else {
                    throw CommandFailure(message: "--grace: expected a duration like 24h or 90m, got \"\(grace)\"", exitCode: 64)
                }
                let body = try JSONSerialization.data(withJSONObject: ["signingSecret": signingSecret, "gracePeriodInHours": hours])
                let answer = try await target.client.send(
                    method: .POST, path: try target.path(name, "/rotateSigningSecret"), body: body)
                printLine(prettyJSON(answer))
            }
        }
    }
}

private func keyValues(_ pairs: [String], flag: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw CommandFailure(message: "\(flag): expected key=value, got \"\(pair)\"", exitCode: 64)
        }
        result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return result
}

private func printWebhooks(_ data: Data, output: OutputFormat, list: Bool = false) {
    guard output == .table, let object = try? JSONSerialization.jsonObject(with: data) else {
        printLine(prettyJSON(data))
        return
    }
    let items: [[String: Any]] = list ? ((object as? [String: Any])?["value"] as? [[String: Any]] ?? []) : [object as? [String: Any] ?? [:]]
    var rows = [["NAME", "LOCATION", "STATUS", "SCOPE", "ACTIONS"]]
    for item in items {
        let properties = item["properties"] as? [String: Any] ?? [:]
        rows.append([
            item["name"] as? String ?? "", item["location"] as? String ?? "", properties["status"] as? String ?? "",
            properties["scope"] as? String ?? "", (properties["actions"] as? [String] ?? []).joined(separator: " "),
        ])
    }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    printLine(
        rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n"))
}
