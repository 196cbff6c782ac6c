import Delivery
import Foundation
import Hummingbird
import Logging
import RegistryEvents
import Store

/// `POST …/webhooks/{name}/replay` and `POST …/eventSubscriptions/{name}/replay`
/// (admin token): the events of a time window delivered once more to one
/// target, with their original ids, at a bounded rate (`Replayer`).
struct ReplayController<Context: RequestContext> {
    let replayer: Replayer
    let store: any ControlPlaneStore
    let logger: Logger

    func addRoutes(registries: RouterGroup<Context>, topics: RouterGroup<Context>) {
        registries.post("webhooks/:name/replay", use: replayWebhook)
        registries.post("eventSubscriptions/:name/replay", use: replaySubscriptionOfRegistry)
        topics.post("eventSubscriptions/:name/replay", use: replaySubscriptionOfTopic)
    }

    struct Window: Decodable {
        /// RFC 3339.
        var since: String
        var until: String?
        var ratePerSecond: Int?
    }

    @Sendable func replayWebhook(_ request: Request, context: Context) async throws -> Replayer.Outcome {
        let registry = try context.parameters.require("registry")
        let name = try context.parameters.require("name")
        guard let webhook = try await store.webhook(registry: registry, name: name) else {
            throw APIError.notFound("no webhook \(name) in registry \(registry)")
        }
        return try await replay(.webhook(webhook), request, what: "webhook \(registry)/\(name)")
    }

    @Sendable func replaySubscriptionOfRegistry(_ request: Request, context: Context) async throws -> Replayer.Outcome {
        try await replaySubscription(.registry(try context.parameters.require("registry")), request, context)
    }

    @Sendable func replaySubscriptionOfTopic(_ request: Request, context: Context) async throws -> Replayer.Outcome {
        try await replaySubscription(.topic(try context.parameters.require("topic")), request, context)
    }

    private func replaySubscription(_ scope: SubscriptionScope, _ request: Request, _ context: Context) async throws -> Replayer.Outcome {
        let name = try context.parameters.require("name")
        guard let subscription = try await store.subscription(scope: scope, name: name) else {
            throw APIError.notFound("no event subscription \(name) in \(scope)")
        }
        guard subscription.isActive else {
            throw APIError(.conflict, code: "SubscriptionNotActive", message: "event subscription \(name) is not validated; nothing is delivered to it")
        }
        return try await replay(.subscription(subscription), request, what: "event subscription \(scope)/\(name)")
    }

    private func replay(_ target: Replayer.Target, _ request: Request, what: String) async throws -> Replayer.Outcome {
        let window = try await RequestBodies.decode(Window.self, request, what: "replay", code: "InvalidReplay")
        let since = try DeadLetterFilter.time(window.since, "since", code: "InvalidReplay")
        let until = try window.until.map { try DeadLetterFilter.time($0, "until", code: "InvalidReplay") }
        if let until, until <= since { throw APIError.badRequest("until must be after since", code: "InvalidReplay") }
        let rate = window.ratePerSecond ?? 100
        guard (1...10_000).contains(rate) else {
            throw APIError.badRequest("ratePerSecond: 1 to 10000, got \(rate)", code: "InvalidReplay")
        }
        let outcome = try await answeringKafkaErrors {
            try await replayer.replay(target, since: since, until: until, ratePerSecond: rate)
        }
        logger.notice(
            "Replay scheduled",
            metadata: ["target": "\(what)", "replayed": "\(outcome.replayed)", "scanned": "\(outcome.scanned)", "rate": "\(rate)"])
        return outcome
    }
}

extension Replayer.Outcome: ResponseEncodable {}
