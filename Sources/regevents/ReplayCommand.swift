import ArgumentParser
import Foundation

/// `regevents replay`: the events of a time window delivered once more to
/// one webhook or subscription, with their original ids, at a bounded rate.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Deliver the events of a time window once more to one webhook or event subscription.",
        discussion: """
            Reads .acr (webhooks), .cloudevents or the custom topic (subscriptions) between --since and --until \
            (default: now), keeps what the target matches now, and schedules each event as a delivery with a fresh \
            attempt count and its original id, --rate a second; the target's lane, breaker and retries apply.
            """
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Admin token (env REGEVENTS_ADMIN_TOKEN), when the server was started with --admin-token.")
    var adminToken: String?

    @Option(help: "webhook/<name> or subscription/<name>.") var target: String
    @Option(help: "The registry of the webhook, or of the subscription.") var registry: String?
    @Option(help: "The custom topic of the subscription (instead of --registry).") var topic: String?
    @Option(help: "RFC 3339 start of the window (e.g. 2026-12-01T10:00:00Z).") var since: String
    @Option(help: "RFC 3339 end of the window (default: now).") var until: String?
    @Option(help: "Deliveries a second, 1-10000.") var rate: Int = 100
    @Flag(help: "Return once the replay is scheduled, without following it until its last delivery is due.") var noWait = false

    func validate() throws {
        let parts = target.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["webhook", "subscription"].contains(parts[0]), !parts[1].isEmpty else {
            throw ValidationError("--target: webhook/<name> or subscription/<name>, got \(target)")
        }
        guard (registry == nil) != (topic == nil) else { throw ValidationError("give --registry or --topic") }
        guard parts[0] == "subscription" || topic == nil else { throw ValidationError("--topic: a webhook belongs to a registry; give --registry") }
        guard (1...10_000).contains(rate) else { throw ValidationError("--rate must be 1 to 10000") }
    }

    func run() async throws {
        try await reportingFailures {
            let parts = target.split(separator: "/", maxSplits: 1).map(String.init)
            let scope = registry.map { "/v1/registries/\(pathSegment($0))" } ?? "/v1/topics/\(pathSegment(topic ?? ""))"
            let path = "\(scope)/\(parts[0] == "webhook" ? "webhooks" : "eventSubscriptions")/\(pathSegment(parts[1]))/replay"
            var window: [String: Any] = ["since": since, "ratePerSecond": rate]
            if let until { window["until"] = until }
            let answer = try await APIClient(baseURL: server.baseURL, credential: .admin(adminToken))
                .send(method: .POST, path: path, body: try JSONSerialization.data(withJSONObject: window))
            let outcome = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] ?? [:]
            let replayed = outcome["replayed"] as? Int ?? 0
            var line = "replayed \(replayed) events to \(target) (\(outcome["scanned"] as? Int ?? 0) records read)"
            if replayed > 0, let last = outcome["lastDueAt"] as? String { line += "; sent \(rate) a second, the last due at \(last)" }
            printLine(line)
            if outcome["complete"] as? Bool == false { printLine("stopped at the limit: replay the rest of the window separately") }
            if !noWait, replayed > 0, let last = (outcome["lastDueAt"] as? String).flatMap(Self.date) {
                try await follow(replayed: replayed, lastDue: last)
            }
        }
    }

    /// Progress until the last delivery is due: the deliveries come due one
    /// after another at the rate, so how many are due is known from the
    /// clock. (Each is then attempted by the retry dispatcher, through the
    /// target's lane and breaker; `webhook list-events` shows the answers.)
    private func follow(replayed: Int, lastDue: Date) async throws {
        let first = lastDue.addingTimeInterval(-Double(replayed - 1) / Double(rate))
        var reported = -1
        while true {
            let due = min(replayed, max(0, Int(Date().timeIntervalSince(first) * Double(rate)) + 1))
            if due != reported {
                printLine("due: \(due) of \(replayed) (\(due * 100 / replayed) %)")
                reported = due
            }
            if due >= replayed { return }
            try await Task.sleep(for: .seconds(min(2, max(0.2, lastDue.timeIntervalSinceNow))))
        }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
