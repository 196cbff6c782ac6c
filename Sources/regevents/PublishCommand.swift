import ArgumentParser
import Foundation

/// Posts one ACR-native event through the API, as a registry integration
/// would, and prints the server's answer (the produced ids).
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish one registry event (ACR schema) through the server and print its id."
    )

    @OptionGroup var serverOptions: ServerOptions

    @Option(name: [.customShort("r"), .long], help: "Registry name.")
    var registry: String

    @Option(help: "push, delete, chart_push, chart_delete or quarantine.")
    var action: String

    @Option(help: "Repository, e.g. library/hello.")
    var repository: String

    @Option(help: "Tag, e.g. v1.")
    var tag: String?

    @Option(help: "Manifest digest, e.g. sha256:… (required by the ACR payload).")
    var digest: String?

    @Option(help: "Manifest media type.")
    var mediaType: String?

    @Option(help: "Manifest size in bytes.")
    var size: Int64?

    @Option(help: "Chart name (chart events; default: the repository's last component).")
    var chartName: String?

    @Option(help: "Chart version (chart events; default: the tag).")
    var chartVersion: String?

    @Option(help: "Location (replica) of the event; default: the server's --location.")
    var location: String?

    @Option(help: "Event id; default: a new UUID chosen by the server.")
    var id: String?

    @Option(help: "Ingest token (env REGEVENTS_INGEST_TOKEN), sent as Authorization: Bearer.")
    var ingestToken: String?

    func run() async throws {
        try await reportingFailures {
            var target: [String: Any] = ["repository": repository]
            target["tag"] = tag
            target["digest"] = digest
            target["mediaType"] = mediaType
            target["size"] = size
            target["name"] = chartName
            target["version"] = chartVersion
            var event: [String: Any] = ["action": action, "target": target]
            event["id"] = id
            event["location"] = location
            let body = try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])
            let path = "/v1/registries/\(registry.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? registry)/events"
            let answer = try await APIClient(baseURL: serverOptions.baseURL, credential: .ingest(ingestToken))
                .send(method: .POST, path: path, body: body)
            printLine(String(decoding: answer, as: UTF8.self))
        }
    }
}
