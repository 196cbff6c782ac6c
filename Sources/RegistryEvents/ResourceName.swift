/// The one rule for each kind of name the API and the CLI take, with the
/// words that explain it: every route and every CLI command check a name
/// here, so a name the CLI accepts is one the server accepts.
public enum ResourceName: Sendable, CaseIterable {
    /// Letters and digits in runs joined by single `.`, `_` or `-`, 1–63
    /// (a DNS label's length; `BAD..NAME`, `-a`, `a.` refused). Case is kept.
    case registry
    /// ACR's rule: letters and digits, 5–50.
    case webhook
    /// Event Grid's rule: letters, digits and hyphens, 3–64.
    case subscription
    /// Event Grid's rule: letters, digits and hyphens, 3–50.
    case topic

    public func isValid(_ name: String) -> Bool {
        switch self {
        case .registry: OCINames.isValidRegistryName(name)
        case .webhook: Webhook.isValidName(name)
        case .subscription: EventSubscription.isValidName(name)
        case .topic: CustomTopic.isValidName(name)
        }
    }

    /// "webhook", "event subscription", …
    public var noun: String {
        switch self {
        case .registry: "registry"
        case .webhook: "webhook"
        case .subscription: "event subscription"
        case .topic: "topic"
        }
    }

    public var rule: String {
        switch self {
        case .registry: "letters and digits, with single '.', '_' or '-' between them, 1 to 63 characters"
        case .webhook: "letters and digits only, 5 to 50 characters"
        case .subscription: "letters, digits and hyphens, 3 to 64 characters"
        case .topic: "letters, digits and hyphens, 3 to 50 characters"
        }
    }

    /// The error code the API answers a bad name with.
    public var errorCode: String {
        switch self {
        case .registry: "InvalidRegistryName"
        case .webhook: "InvalidWebhookName"
        case .subscription: "InvalidEventSubscriptionName"
        case .topic: "InvalidTopicName"
        }
    }

    /// Why `name` is refused, or `nil`. The name is quoted cut to 64
    /// characters: the message must not grow with the input.
    public func problem(with name: String) -> String? {
        guard !isValid(name) else { return nil }
        let shown = name.count > 64 ? name.prefix(61) + "..." : Substring(name)
        return "\(noun) name \"\(shown)\" is invalid: \(rule)"
    }
}
