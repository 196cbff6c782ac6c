import Foundation

/// An ACR-style webhook: where to POST which registry events.
public struct Webhook: Sendable, Hashable, Codable {
    public var registry: String
    public var name: String
    public var serviceURI: String
    /// Sent with every delivery. Write-only in the API: revealed only by get-config.
    public var customHeaders: [String: String]
    public var actions: [RegistryAction]
    public var scope: WebhookScope
    public var status: WebhookStatus
    /// The replica whose events this webhook receives.
    public var location: String
    public var tags: [String: String]
    /// Standard Webhooks signing secret (`whsec_…`); `nil` sends exactly
    /// ACR's request. Write-only in the API like the headers.
    public var signingSecret: String?
    /// The secret a rotation replaced, still signed with until
    /// `previousSigningSecretValidUntil` (Standard Webhooks: both signatures
    /// are sent, so receivers switch without a gap).
    public var previousSigningSecret: String?
    public var previousSigningSecretValidUntil: Date?
    /// Attempts in flight to this webhook at once; `nil`: the server's
    /// default (`--delivery-concurrency`).
    public var maxConcurrentDeliveries: Int?
    public var ordering: DeliveryOrdering
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        registry: String, name: String, serviceURI: String, customHeaders: [String: String] = [:],
        actions: [RegistryAction], scope: WebhookScope = WebhookScope(), status: WebhookStatus = .enabled,
        location: String, tags: [String: String] = [:], signingSecret: String? = nil, maxConcurrentDeliveries: Int? = nil,
        ordering: DeliveryOrdering = .unordered, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.maxConcurrentDeliveries = maxConcurrentDeliveries
        self.ordering = ordering
        self.signingSecret = signingSecret
        self.registry = registry
        self.name = name
        self.serviceURI = serviceURI
        self.customHeaders = customHeaders
        self.actions = actions
        self.scope = scope
        self.status = status
        self.location = location
        self.tags = tags
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether `event` is delivered to this webhook: enabled, one of its
    /// actions, its location, within its scope.
    public func matches(_ event: RegistryEvent) -> Bool {
        status == .enabled && event.registry == registry && actions.contains(event.action) && event.location == location
            && scope.matches(repository: event.target.repository, tag: event.target.tag)
    }

    /// The secrets a delivery at `now` is signed with: the current one, and
    /// the one a rotation replaced while its grace period lasts.
    public func signingSecrets(at now: Date = Date()) -> [String] {
        guard let signingSecret else { return [] }
        guard let previous = previousSigningSecret, let until = previousSigningSecretValidUntil, now < until else {
            return [signingSecret]
        }
        return [signingSecret, previous]
    }

    /// Webhook names: letters and digits, 5 to 50 characters (as ACR).
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: #/[A-Za-z0-9]{5,50}/#) != nil
    }

    /// Parses actions case-insensitively (as az does); `nil` names the bad one.
    public static func parseActions(_ texts: [String]) -> Result<[RegistryAction], ActionError> {
        var actions: [RegistryAction] = []
        for text in texts {
            guard let action = RegistryAction(rawValue: text.lowercased()), RegistryAction.webhookActions.contains(action) else {
                return .failure(ActionError(value: text))
            }
            if !actions.contains(action) { actions.append(action) }
        }
        guard !actions.isEmpty else { return .failure(ActionError(value: "")) }
        return .success(actions)
    }

    public struct ActionError: Error, Equatable, CustomStringConvertible {
        public let value: String
        public var description: String {
            value.isEmpty
                ? "at least one action is required: push, delete, quarantine, chart_push, chart_delete"
                : "\"\(value)\" is not an action: use push, delete, quarantine, chart_push or chart_delete (or, beyond ACR, tag_added, tag_removed or scan_completed)"
        }
    }
}

public enum WebhookStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case enabled, disabled
}

/// Which repositories and tags a webhook hears, with `az acr webhook`'s
/// rules: empty = the whole registry; `repo:tag` = that tag; `repo:*` = every
/// tag of repo; `repo` = `repo:latest`. As an extension, a repository ending
/// in `/*` covers every repository under that path (`team/*:*`).
public struct WebhookScope: Sendable, Hashable, Codable, CustomStringConvertible {
    public let text: String

    public init(_ text: String = "") {
        self.text = text
    }

    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        text = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    private var parts: (repository: String, tag: String) {
        guard let colon = text.lastIndex(of: ":") else { return (text, "latest") }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// Checks the syntax; returns why it is wrong, or nil.
    public var problem: String? {
        guard !text.isEmpty else { return nil }
        let (repository, tag) = parts
        let repositoryOK = repository.hasSuffix("/*")
            ? OCINames.isValidRepository(String(repository.dropLast(2)))
            : OCINames.isValidRepository(repository)
        guard repositoryOK else { return "scope \"\(text)\": \"\(repository)\" is not a repository name" }
        guard tag == "*" || OCINames.isValidTag(tag) else { return "scope \"\(text)\": \"\(tag)\" is not a tag or *" }
        return nil
    }

    public func matches(repository: String, tag: String?) -> Bool {
        guard !text.isEmpty else { return true }
        let (scopeRepository, scopeTag) = parts
        let repositoryMatches = scopeRepository.hasSuffix("/*")
            ? repository.hasPrefix(String(scopeRepository.dropLast(1)))
            : repository == scopeRepository
        guard repositoryMatches else { return false }
        if scopeTag == "*" { return true }
        // An event without a tag (a delete by digest) is in a repository-wide scope only.
        return tag == scopeTag
    }
}
