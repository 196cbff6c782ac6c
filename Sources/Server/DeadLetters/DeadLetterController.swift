import Delivery
import Foundation
import Hummingbird
import HummingbirdCore
import Kafka
import Logging
import RegistryEvents
import Store

/// Dead letters as a resource: list and filter them, open one, and send
/// them back to their targets (`/v1/deadletters`, admin token). They are
/// read from the dead-letter topic (or a subscription's own, `?topic=`);
/// nothing is deleted, a redriven dead letter stays where it was.
struct DeadLetterController<Context: RequestContext> {
    let reader: DeadLetterReader
    let settlement: DeliverySettlement
    let store: any ControlPlaneStore
    let layout: TopicLayout
    let logger: Logger

    /// Redrives per request at most: a larger backlog is redriven in several calls.
    static var redriveLimit: Int { 1000 }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("deadletters", use: list)
        group.get("deadletters/:id", use: show)
        group.post("deadletters/redrive", use: redrive)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> DeadLetterList {
        let parameters = request.uri.queryParameters
        let query = try Self.query(from: parameters)
        let topic = try deadLetterTopic(parameters.get("topic"))
        let top = min(max(parameters.get("top", as: Int.self) ?? 50, 1), 500)
        var cursor: DeadLetterReader.Cursor?
        if let token = parameters.get("skipToken") {
            guard let parsed = DeadLetterReader.Cursor(token) else {
                throw APIError.badRequest("skipToken: not one this API gave (<partition>-<offset>)", code: "InvalidSkipToken")
            }
            cursor = parsed
        }
        let page = try await answeringKafkaErrors { try await reader.page(of: topic, matching: query, from: cursor, limit: top) }
        var nextLink: String?
        if let next = page.next {
            // Values as decoded, encoded again: a space or an `&` in a filter stays in its value.
            var items = request.uri.queryParameters.filter { $0.key != "skipToken" }.map { "\($0.key)=\(Self.queryValue($0.value))" }
            items.append("skipToken=\(next)")
            nextLink = "\(request.uri.path)?\(items.joined(separator: "&"))"
        }
        return DeadLetterList(value: page.deadLetters, nextLink: nextLink)
    }

    static func queryValue(_ value: Substring) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:/"))) ?? String(value)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> DeadLetter {
        let id = try context.parameters.require("id")
        guard DeadLetter.location(of: id, defaultTopic: layout.deadLetter) != nil else {
            throw APIError.badRequest("\(id) is not a dead letter id (<partition>-<offset>, or <topic>:<partition>-<offset>)", code: "InvalidDeadLetterId")
        }
        _ = try deadLetterTopic(DeadLetter.location(of: id, defaultTopic: layout.deadLetter)?.topic)
        guard let letter = try await answeringKafkaErrors({ try await reader.deadLetter(id: id) }) else {
            throw APIError(.notFound, code: "DeadLetterNotFound", message: "no dead letter \(id) (never written, or dropped by the topic's retention)")
        }
        return letter
    }

    @Sendable func redrive(_ request: Request, context: Context) async throws -> RedriveResults {
        try await redrive(try await RequestBodies.decode(RedriveRequest.self, request, what: "redrive", limit: 256 * 1024), by: "admin token (API)")
    }

    /// Redrives what `body` names; `actor` goes into each audit record.
    func redrive(_ body: RedriveRequest, by actor: String) async throws -> RedriveResults {
        let letters: [Result<DeadLetter, RedriveOutcome>]
        switch (body.ids, body.filter) {
        case (let ids?, nil):
            guard !ids.isEmpty, ids.count <= Self.redriveLimit else {
                throw APIError.badRequest("ids: give 1 to \(Self.redriveLimit) dead letter ids", code: "InvalidRedrive")
            }
            var found: [Result<DeadLetter, RedriveOutcome>] = []
            var seen = Set<String>()
            // An id given twice is redriven once.
            for id in ids where seen.insert(id).inserted {
                guard let location = DeadLetter.location(of: id, defaultTopic: layout.deadLetter) else {
                    found.append(.failure(RedriveOutcome(id: id, status: .notFound, message: "not a dead letter id")))
                    continue
                }
                _ = try deadLetterTopic(location.topic)
                if let letter = try await answeringKafkaErrors({ try await reader.deadLetter(id: id) }) {
                    found.append(.success(letter))
                } else {
                    found.append(.failure(RedriveOutcome(id: id, status: .notFound, message: "no such dead letter")))
                }
            }
            letters = found
        case (nil, let filter?):
            let topic = try deadLetterTopic(body.topic)
            let page = try await answeringKafkaErrors {
                try await reader.page(of: topic, matching: try filter.query(), limit: Self.redriveLimit, scanLimit: 100_000)
            }
            letters = page.deadLetters.map { .success($0) }
        default:
            throw APIError.badRequest("give either ids or filter", code: "InvalidRedrive")
        }
        var outcomes: [RedriveOutcome] = []
        for letter in letters {
            switch letter {
            case .failure(let outcome): outcomes.append(outcome)
            case .success(let letter): outcomes.append(await redrive(letter, by: actor))
            }
        }
        logger.notice(
            "Dead letters redriven",
            metadata: ["redriven": "\(outcomes.filter { $0.status == .redriven }.count)", "asked": "\(outcomes.count)", "by": "\(actor)"])
        return RedriveResults(value: outcomes)
    }

    /// One dead letter back to its target, if that target still exists.
    private func redrive(_ letter: DeadLetter, by actor: String) async -> RedriveOutcome {
        guard letter.canRedrive, let target = letter.target else {
            return RedriveOutcome(id: letter.id, status: .notRedrivable, message: "an ingest refusal or a pointer has no target to go back to")
        }
        do {
            switch letter.kind {
            case .webhook:
                guard let registry = letter.registry, try await store.webhook(registry: registry, name: target) != nil else {
                    return RedriveOutcome(id: letter.id, status: .targetGone, message: "webhook \(target) no longer exists")
                }
            case .subscription:
                guard let scope = letter.scope.flatMap(SubscriptionScope.init(description:)),
                    try await store.subscription(scope: scope, name: target) != nil
                else {
                    return RedriveOutcome(id: letter.id, status: .targetGone, message: "subscription \(target) no longer exists")
                }
            case .ingest, .undeliverable:
                break
            }
            try await settlement.redrive(letter, by: actor)
            return RedriveOutcome(id: letter.id, status: .redriven, message: nil)
        } catch {
            return RedriveOutcome(id: letter.id, status: .failed, message: "\(error)")
        }
    }

    /// The dead-letter topic to read: the server's, or one a subscription
    /// dead-letters to (any topic outside our own prefix).
    private func deadLetterTopic(_ named: String?) throws -> String {
        guard let named, named != layout.deadLetter else { return layout.deadLetter }
        guard !named.hasPrefix("\(layout.prefix).") && !named.hasPrefix("__"), !named.isEmpty, named.utf8.count <= 249 else {
            throw APIError.badRequest("topic: \(named) is not a dead-letter topic", code: "InvalidTopic")
        }
        return named
    }

    static func query(from parameters: FlatDictionary<Substring, Substring>) throws -> DeadLetterQuery {
        try DeadLetterFilter(
            kind: parameters.get("kind"), scope: parameters.get("scope"), target: parameters.get("target"),
            reason: parameters.get("reason"), since: parameters.get("since"), until: parameters.get("until")
        ).query()
    }
}

/// Runs `body`, answering a missing topic with 404 and any other Kafka
/// failure with 503 `KafkaUnavailable`.
func answeringKafkaErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as TopicWindowError {
        if case .noSuchTopic = error { throw APIError(.notFound, code: "TopicNotFound", message: "\(error)") }
        throw APIError.unavailable("Kafka did not answer: \(error)", code: "KafkaUnavailable")
    } catch let error as APIError {
        throw error
    } catch {
        throw APIError.unavailable("Kafka did not answer: \(error)", code: "KafkaUnavailable")
    }
}

/// A filter as the API takes it (query parameters, or a redrive's `filter`).
struct DeadLetterFilter: Decodable {
    var kind: String?
    var scope: String?
    var target: String?
    var reason: String?
    /// RFC 3339.
    var since: String?
    var until: String?

    func query() throws -> DeadLetterQuery {
        var query = DeadLetterQuery(scope: scope, target: target, reason: reason)
        if let kind {
            guard let parsed = DeadLetter.Kind(rawValue: kind) else {
                throw APIError.badRequest(
                    "kind: \(kind) is not one of \(DeadLetter.Kind.allCases.map(\.rawValue).joined(separator: ", "))", code: "InvalidFilter")
            }
            query.kind = parsed
        }
        if let scope, !(scope.hasPrefix("registry/") || scope.hasPrefix("topic/")) || scope.split(separator: "/").count != 2 {
            throw APIError.badRequest("scope: registry/<name> or topic/<name>, got \(scope)", code: "InvalidFilter")
        }
        query.since = try since.map { try Self.time($0, "since") }
        query.until = try until.map { try Self.time($0, "until") }
        return query
    }

    static func time(_ text: String, _ name: String, code: String = "InvalidFilter") throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var parsed = formatter.date(from: text)
        if parsed == nil {
            formatter.formatOptions = [.withInternetDateTime]
            parsed = formatter.date(from: text)
        }
        guard let date = parsed else {
            throw APIError.badRequest("\(name): an RFC 3339 time (2026-12-01T10:00:00Z), got \(text)", code: code)
        }
        // Kafka's timestamps start at 1970; before it, its search by time has special values.
        guard date.timeIntervalSince1970 >= 0 else {
            throw APIError.badRequest("\(name): a time from 1970 on, got \(text)", code: code)
        }
        return date
    }
}

struct RedriveRequest: Decodable {
    var ids: [String]?
    var filter: DeadLetterFilter?
    /// With `filter`: the dead-letter topic to read (the server's by default).
    var topic: String?
}

struct RedriveOutcome: Codable, Sendable, Error {
    enum Status: String, Codable, Sendable {
        case redriven, notFound, notRedrivable, targetGone, failed
    }

    var id: String
    var status: Status
    var message: String?
}

struct RedriveResults: ResponseCodable {
    var value: [RedriveOutcome]
}

struct DeadLetterList: ResponseCodable, Sendable {
    var value: [DeadLetter]
    var nextLink: String?
}

extension DeadLetter: ResponseEncodable {}
