import Foundation
import Hummingbird
import Delivery
import RegistryEvents

/// The ARM shapes of the ACR webhook API (`Microsoft.ContainerRegistry/registries/webhooks`).
enum WebhookResource {
    static let type = "Microsoft.ContainerRegistry/registries/webhooks"

    /// The properties of PUT and PATCH bodies, and those of a response sent
    /// back (a GET, edited, then PUT), against which a misspelt one is refused.
    static let knownProperties = KnownProperties(names: [
        "": ["location", "tags", "properties", "id", "name", "type", "systemData"],
        "properties": [
            "serviceUri", "customHeaders", "status", "scope", "actions", "signingSecret", "maxConcurrentDeliveries", "ordering",
            "provisioningState", "delivery",
        ],
    ])

    /// PUT body (`WebhookCreateParameters`).
    struct CreateParameters: Decodable {
        struct Properties: Decodable {
            var serviceUri: String
            var customHeaders: [String: String]?
            var status: String?
            var scope: String?
            var actions: [String]
            /// Standard Webhooks signing: `generate` or a `whsec_` secret (an extension to ACR).
            var signingSecret: String?
            /// Attempts in flight at once (1–1000; an extension to ACR).
            var maxConcurrentDeliveries: Int?
            /// `unordered` (default) or `perKey` (an extension to ACR).
            var ordering: String?
        }
        var location: String?
        var tags: [String: String]?
        var properties: Properties
    }

    /// PATCH body (`WebhookUpdateParameters`): everything optional.
    struct UpdateParameters: Decodable {
        struct Properties: Decodable {
            var serviceUri: String?
            var customHeaders: [String: String]?
            var status: String?
            var scope: String?
            var actions: [String]?
            /// `generate`, a `whsec_` secret, or "" to stop signing.
            var signingSecret: String?
            /// 0 returns to the server's default.
            var maxConcurrentDeliveries: Int?
            var ordering: String?
        }
        var tags: [String: String]?
        var properties: Properties?
    }

    /// What show/list/create answer. `serviceUri` and `customHeaders` are
    /// not in it (as ARM): get-config reveals them.
    struct Response: ResponseCodable {
        struct Properties: Codable {
            var status: String
            var scope: String
            var actions: [String]
            var provisioningState: String
            var maxConcurrentDeliveries: Int?
            var ordering: String
            /// The webhook's lane now: attempts in flight, the limit, the
            /// circuit breaker (an extension to ACR).
            var delivery: DeliveryLanes.Snapshot?
        }
        var id: String
        var name: String
        var type: String
        var location: String
        var tags: [String: String]
        var properties: Properties

        init(_ webhook: Webhook, id: String, lane: DeliveryLanes.Snapshot? = nil) {
            self.id = id
            name = webhook.name
            type = WebhookResource.type
            location = webhook.location
            tags = webhook.tags
            properties = Properties(
                status: webhook.status.rawValue, scope: webhook.scope.text, actions: webhook.actions.map(\.rawValue),
                provisioningState: "Succeeded", maxConcurrentDeliveries: webhook.maxConcurrentDeliveries,
                ordering: webhook.ordering.rawValue, delivery: lane)
        }
    }

    struct List: ResponseCodable {
        var value: [Response]
    }

    /// getCallbackConfig (`CallbackConfig`): the one place header values are revealed.
    struct CallbackConfig: ResponseCodable {
        var serviceUri: String
        var customHeaders: [String: String]
        var signingSecret: String?
    }

    static func validate(serviceURI: String) throws -> String {
        guard let components = URLComponents(string: serviceURI), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw APIError.badRequest(
                "properties.serviceUri \"\(serviceURI)\" must be an absolute http or https URL", code: "InvalidServiceUri")
        }
        return serviceURI
    }

    static func validateActions(_ texts: [String]) throws -> [RegistryAction] {
        switch Webhook.parseActions(texts) {
        case .success(let actions): return actions
        case .failure(let error): throw APIError.badRequest("properties.actions: \(error)", code: "InvalidActions")
        }
    }

    static func validateScope(_ text: String) throws -> WebhookScope {
        let scope = WebhookScope(text)
        if let problem = scope.problem { throw APIError.badRequest("properties.scope: \(problem)", code: "InvalidScope") }
        return scope
    }

    static func validateStatus(_ text: String) throws -> WebhookStatus {
        guard let status = WebhookStatus(rawValue: text.lowercased()) else {
            throw APIError.badRequest("properties.status must be enabled or disabled, got \"\(text)\"", code: "InvalidStatus")
        }
        return status
    }

    /// `generate` makes a new secret; "" means none.
    static func signingSecret(_ text: String?) throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        if text == "generate" { return WebhookSigner.generateSecret() }
        guard WebhookSigner.key(of: text) != nil else {
            throw APIError.badRequest(
                "properties.signingSecret must be \"generate\" or whsec_ followed by base64 of 24 to 64 bytes", code: "InvalidSigningSecret")
        }
        return text
    }

    static func validateConcurrency(_ value: Int?, allowZero: Bool = false) throws -> Int? {
        guard let value else { return nil }
        if allowZero, value == 0 { return nil }
        guard (1...1000).contains(value) else {
            throw APIError.badRequest(
                "properties.maxConcurrentDeliveries must be 1 to 1000, got \(value)", code: "InvalidMaxConcurrentDeliveries")
        }
        return value
    }

    static func validateOrdering(_ text: String?) throws -> DeliveryOrdering? {
        guard let text else { return nil }
        guard let ordering = DeliveryOrdering.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw APIError.badRequest("properties.ordering must be unordered or perKey, got \"\(text)\"", code: "InvalidOrdering")
        }
        return ordering
    }

    static func validateHeaders(_ headers: [String: String]) throws -> [String: String] {
        for (name, value) in headers {
            guard HeaderField.isValidName(name), name.utf8.count <= 256 else {
                throw APIError.badRequest("properties.customHeaders: \"\(name.prefix(64))\" is not a header name", code: "InvalidHeaders")
            }
            // The value is never echoed: it is usually a secret.
            guard HeaderField.isValidValue(value) else {
                throw APIError.badRequest(
                    "properties.customHeaders: the value of \(name) has a line break or another control character", code: "InvalidHeaders")
            }
            guard value.utf8.count <= 4096 else {
                throw APIError.badRequest("properties.customHeaders: the value of \(name) is longer than 4096 bytes", code: "InvalidHeaders")
            }
        }
        return headers
    }
}
