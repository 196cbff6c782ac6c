import Foundation
import RegistryEvents

/// Proves an endpoint wants the events before a subscription delivers
/// (Event Grid's endpoint validation). Event Grid schema: a
/// `Microsoft.EventGrid.SubscriptionValidationEvent` POSTed with
/// `aeg-event-type: SubscriptionValidation`, answered by 200 and
/// `{"validationResponse": code}`, or later by a GET on the validation URL.
/// CloudEvents: the abuse-protection OPTIONS request, answered with
/// `WebHook-Allowed-Origin`.
public struct SubscriptionValidator: Sendable {
    public enum Verdict: Sendable, Equatable {
        case validated
        /// The endpoint answered 200 without the code: it must GET the URL in time.
        case awaitingManualAction(code: String, message: String)
        case failed(String)
    }

    /// How long a manual validation may take (Event Grid: 10 minutes).
    public static let manualValidationWindow: TimeInterval = 600

    let sender: WebhookSender
    /// Where validation URLs point (the server's public base URL, known
    /// only once the server listens when it picked its port).
    let publicBaseURL: @Sendable () -> String
    /// `WebHook-Request-Origin` of the CloudEvents handshake.
    let origin: String
    /// The Event Grid topic of a scope (the validation event's `topic`).
    let topic: @Sendable (SubscriptionScope) -> String

    public init(
        sender: WebhookSender, origin: String = "eventgrid.azure.net", topic: @escaping @Sendable (SubscriptionScope) -> String,
        publicBaseURL: @escaping @Sendable () -> String
    ) {
        self.sender = sender
        self.topic = topic
        self.publicBaseURL = publicBaseURL
        self.origin = origin
    }

    public func validate(_ subscription: EventSubscription) async -> Verdict {
        switch subscription.eventDeliverySchema {
        case .eventGrid: await handshake(subscription)
        case .cloudEvents: await abuseProtection(subscription)
        }
    }

    /// The validation URL of a subscription waiting for a manual handshake.
    public func validationURL(for subscription: EventSubscription, code: String) -> String {
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "scope", value: subscription.scope.description), URLQueryItem(name: "name", value: subscription.name),
            URLQueryItem(name: "code", value: code),
        ]
        var base = publicBaseURL()
        if base.hasSuffix("/") { base.removeLast() }
        return "\(base)/v1/eventSubscriptions/validate?\(components.percentEncodedQuery ?? "")"
    }

    private func handshake(_ subscription: EventSubscription) async -> Verdict {
        let code = UUID().uuidString.lowercased()
        let event: JSONValue = [
            "id": .string(UUID().uuidString.lowercased()), "topic": .string(topic(subscription.scope)), "subject": "",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": .string(DeadLetterFields.timestamp(Date())),
            "metadataVersion": "1", "dataVersion": "1",
            "data": ["validationCode": .string(code), "validationUrl": .string(validationURL(for: subscription, code: code))],
        ]
        let request = OutboundRequest(
            url: subscription.endpointURL,
            headers: [
                ("Content-Type", "application/json"), ("aeg-event-type", "SubscriptionValidation"),
                ("aeg-subscription-name", subscription.name.uppercased()), ("aeg-delivery-count", "0"),
                ("aeg-metadata-version", "1"),
            ],
            body: String(decoding: JSONValue.array([event]).jsonBytes, as: UTF8.self))
        let outcome = await sender.send(request)
        // Event Grid accepts only 200 (not 202) for the synchronous handshake.
        guard outcome.statusCode == 200 else {
            return .failed(Self.failure(subscription, outcome: outcome, method: "POST"))
        }
        if JSONValue(parsing: Array(outcome.responseBody.utf8))?.value(at: ["validationResponse"])?.stringValue == code {
            return .validated
        }
        return .awaitingManualAction(
            code: code,
            message: "The endpoint answered 200 without the validationResponse; it has 10 minutes to GET the validationUrl it was sent")
    }

    private func abuseProtection(_ subscription: EventSubscription) async -> Verdict {
        await abuseProtection(url: subscription.endpointURL, shownAs: subscription.endpointBaseURL)
    }

    /// An HTTP dead-letter endpoint consents as a CloudEvents endpoint does
    /// (OPTIONS, `WebHook-Allowed-Origin`), whatever the subscription's
    /// schema: it is sent dead letters unasked otherwise. `nil` when it
    /// consents, else why not.
    public func validateDeadLetterEndpoint(_ url: String) async -> String? {
        let shown = URLComponents(string: url).map { "\($0.scheme ?? "https")://\($0.host ?? "")\($0.path)" } ?? url
        guard case .failed(let message) = await abuseProtection(url: url, shownAs: shown) else { return nil }
        return message
    }

    private func abuseProtection(url: String, shownAs shown: String) async -> Verdict {
        let request = OutboundRequest(
            method: "OPTIONS", url: url, headers: [("WebHook-Request-Origin", origin), ("WebHook-Request-Rate", "120")], body: "")
        let outcome = await sender.send(request)
        guard let status = outcome.statusCode, (200...204).contains(status) else {
            return .failed(Self.failure(shown, outcome: outcome, method: "OPTIONS"))
        }
        let allowed = outcome.responseHeaders.first { $0.key.lowercased() == "webhook-allowed-origin" }?.value
        guard let allowed, allowed == "*" || allowed.lowercased() == origin.lowercased() else {
            return .failed(
                "Webhook validation handshake failed for \(shown): the OPTIONS answer did not allow origin \(origin) (WebHook-Allowed-Origin: \(allowed.map { String($0.prefix(64)) } ?? "missing"))")
        }
        return .validated
    }

    static func failure(_ subscription: EventSubscription, outcome: AttemptOutcome, method: String) -> String {
        failure(subscription.endpointBaseURL, outcome: outcome, method: method)
    }

    static func failure(_ shown: String, outcome: AttemptOutcome, method: String) -> String {
        let answer = outcome.statusCode.map { "response code \($0)" } ?? "no response: \(outcome.error ?? "unknown error")"
        return "Webhook validation handshake failed for \(shown). Http \(method) request failed with \(answer)."
    }
}
