import Foundation

/// Where an event subscription listens: a registry (Event Grid's system
/// topic of the registry) or a custom topic.
public struct SubscriptionScope: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable { case registry, topic }

    public var kind: Kind
    public var name: String

    public init(_ kind: Kind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    public static func registry(_ name: String) -> Self { Self(.registry, name) }
    public static func topic(_ name: String) -> Self { Self(.topic, name) }

    /// The resource path of the scope in our API (`/v1/registries/r`, `/v1/topics/t`).
    public var apiPath: String { kind == .registry ? "/v1/registries/\(name)" : "/v1/topics/\(name)" }

    /// One string per scope, used for Kafka keys and headers.
    public var description: String { "\(kind.rawValue)/\(name)" }

    public init?(description: String) {
        let parts = description.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0]) else { return nil }
        self.init(kind, parts[1])
    }
}

/// The schema events are delivered in (`properties.eventDeliverySchema`).
public enum EventDeliverySchema: String, Codable, Sendable, CaseIterable {
    case eventGrid = "EventGridSchema"
    case cloudEvents = "CloudEventSchemaV1_0"

    /// Accepts Event Grid's values and az's lower-case spellings.
    public init?(text: String) {
        guard let schema = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = schema
    }
}

/// Event Grid's `provisioningState`, as far as it applies here.
public enum ProvisioningState: String, Codable, Sendable {
    case succeeded = "Succeeded"
    case awaitingManualAction = "AwaitingManualAction"
    case failed = "Failed"
}

/// A custom header on every delivery (`deliveryAttributeMappings[]`): a fixed
/// value (possibly secret) or a field of the event.
public struct DeliveryAttributeMapping: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable, NamedCases { case `static` = "Static", dynamic = "Dynamic" }

    public struct Properties: Codable, Sendable, Hashable {
        public var value: String?
        public var isSecret: Bool?
        public var sourceField: String?

        public init(value: String? = nil, isSecret: Bool? = nil, sourceField: String? = nil) {
            self.value = value
            self.isSecret = isSecret
            self.sourceField = sourceField
        }
    }

    public var name: String
    public var type: Kind
    public var properties: Properties

    public init(name: String, type: Kind, properties: Properties) {
        self.name = name
        self.type = type
        self.properties = properties
    }

    public static func fixed(_ name: String, _ value: String, secret: Bool = false) -> Self {
        Self(name: name, type: .static, properties: .init(value: value, isSecret: secret))
    }

    public static func field(_ name: String, _ sourceField: String) -> Self {
        Self(name: name, type: .dynamic, properties: .init(sourceField: sourceField))
    }

    public var isSecret: Bool { type == .static && properties.isSecret == true }

    /// The header value for `event`; `nil` when a dynamic field is missing or
    /// not a string, number or bool (Event Grid then sends no header).
    public func value(for event: JSONValue) -> String? {
        switch type {
        case .static: properties.value
        case .dynamic:
            // A value that cannot be a header (line breaks, control characters) is dropped, as Event Grid drops it.
            properties.sourceField.flatMap { event.value(at: $0.split(separator: ".").map(String.init))?.scalarText }
                .flatMap { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } || $0.utf8.count > 4096 ? nil : $0 }
        }
    }
}

/// Where undeliverable events go besides `<prefix>.deadletter`: a Kafka
/// topic of their own, or an HTTP endpoint they are POSTed to.
public struct DeadLetterDestination: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable, NamedCases { case webHook = "WebHook", kafkaTopic = "KafkaTopic" }

    public struct Properties: Codable, Sendable, Hashable {
        public var endpointUrl: String?
        public var topic: String?

        public init(endpointUrl: String? = nil, topic: String? = nil) {
            self.endpointUrl = endpointUrl
            self.topic = topic
        }
    }

    public var endpointType: Kind
    public var properties: Properties

    public init(endpointType: Kind, properties: Properties) {
        self.endpointType = endpointType
        self.properties = properties
    }

    public static func webHook(_ url: String) -> Self { Self(endpointType: .webHook, properties: .init(endpointUrl: url)) }
    public static func kafkaTopic(_ topic: String) -> Self { Self(endpointType: .kafkaTopic, properties: .init(topic: topic)) }
}

/// An Event Grid–style event subscription: which events of a registry or
/// custom topic go to which endpoint, in which schema, batched how, retried
/// how long.
public struct EventSubscription: Codable, Sendable, Hashable {
    public static let maxDeliveryAttemptsRange = 1...30
    public static let eventTimeToLiveRange = 1...1440
    public static let maxEventsPerBatchRange = 1...5000
    public static let preferredBatchSizeRange = 1...1024
    public static let maxDeliveryAttributes = 10

    public var scope: SubscriptionScope
    public var name: String
    public var endpointURL: String
    public var maxEventsPerBatch: Int
    public var preferredBatchSizeInKilobytes: Int
    public var deliveryAttributeMappings: [DeliveryAttributeMapping]
    public var filter: EventFilter
    public var eventDeliverySchema: EventDeliverySchema
    public var maxDeliveryAttempts: Int
    public var eventTimeToLiveInMinutes: Int
    public var deadLetterDestination: DeadLetterDestination?
    public var labels: [String]
    public var provisioningState: ProvisioningState
    /// Why provisioning failed or what it waits for.
    public var provisioningMessage: String?
    /// The code a manual (validation URL) handshake must present.
    public var validationCode: String?
    /// When the pending handshake started: a manual one expires 10 minutes later.
    public var validationStartedAt: Date?
    /// Attempts in flight to this subscription at once; `nil`: the server's
    /// default (`--delivery-concurrency`).
    public var maxConcurrentDeliveries: Int?
    /// `nil` is `unordered`.
    public var ordering: DeliveryOrdering?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        scope: SubscriptionScope, name: String, endpointURL: String, maxEventsPerBatch: Int = 1,
        preferredBatchSizeInKilobytes: Int = 64, deliveryAttributeMappings: [DeliveryAttributeMapping] = [],
        filter: EventFilter = EventFilter(), eventDeliverySchema: EventDeliverySchema = .eventGrid,
        maxDeliveryAttempts: Int = 30, eventTimeToLiveInMinutes: Int = 1440, deadLetterDestination: DeadLetterDestination? = nil,
        labels: [String] = [], provisioningState: ProvisioningState = .awaitingManualAction, provisioningMessage: String? = nil,
        validationCode: String? = nil, validationStartedAt: Date? = nil, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.scope = scope
        self.name = name
        self.endpointURL = endpointURL
        self.maxEventsPerBatch = maxEventsPerBatch
        self.preferredBatchSizeInKilobytes = preferredBatchSizeInKilobytes
        self.deliveryAttributeMappings = deliveryAttributeMappings
        self.filter = filter
        self.eventDeliverySchema = eventDeliverySchema
        self.maxDeliveryAttempts = maxDeliveryAttempts
        self.eventTimeToLiveInMinutes = eventTimeToLiveInMinutes
        self.deadLetterDestination = deadLetterDestination
        self.labels = labels
        self.provisioningState = provisioningState
        self.provisioningMessage = provisioningMessage
        self.validationCode = validationCode
        self.validationStartedAt = validationStartedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var isActive: Bool { provisioningState == .succeeded }

    /// The endpoint without its query or fragment, which may carry a secret:
    /// what reads, logs and error messages show.
    public var endpointBaseURL: String { Self.baseURL(endpointURL) }

    public static func baseURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(an invalid URL)" }
        components.query = nil
        components.fragment = nil
        components.user = nil
        components.password = nil
        return components.string ?? "(an invalid URL)"
    }

    /// Whether `event` (its envelope as JSON) passes this subscription's filter.
    /// A registry's opt-in event types (`RegistryEvents.ContainerRegistry.*`)
    /// pass only when `includedEventTypes` names them.
    public func matches(_ event: JSONValue) -> Bool {
        if scope.kind == .registry, let type = EventKeyPath("eventType").value(in: event)?.stringValue,
            RegistryAction.isOptInEventType(type), !filter.names(eventType: type)
        {
            return false
        }
        return filter.matches(event)
    }

    /// Subscription names as Event Grid allows: 3–64 letters, digits and hyphens.
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: #/[A-Za-z0-9-]{3,64}/#) != nil
    }

    /// The first value outside Event Grid's limits, as (property, message).
    public func limitViolation() -> (property: String, message: String)? {
        let destination = "properties.destination.properties"
        if !Self.maxDeliveryAttemptsRange.contains(maxDeliveryAttempts) {
            return ("properties.retryPolicy.maxDeliveryAttempts", "must be between 1 and 30, not \(maxDeliveryAttempts)")
        }
        if !Self.eventTimeToLiveRange.contains(eventTimeToLiveInMinutes) {
            return ("properties.retryPolicy.eventTimeToLiveInMinutes", "must be between 1 and 1440 minutes, not \(eventTimeToLiveInMinutes)")
        }
        if !Self.maxEventsPerBatchRange.contains(maxEventsPerBatch) {
            return ("\(destination).maxEventsPerBatch", "must be between 1 and 5000, not \(maxEventsPerBatch)")
        }
        if !Self.preferredBatchSizeRange.contains(preferredBatchSizeInKilobytes) {
            return ("\(destination).preferredBatchSizeInKilobytes", "must be between 1 and 1024, not \(preferredBatchSizeInKilobytes)")
        }
        if deliveryAttributeMappings.count > Self.maxDeliveryAttributes {
            return ("\(destination).deliveryAttributeMappings", "at most 10 delivery attributes, not \(deliveryAttributeMappings.count)")
        }
        for (index, mapping) in deliveryAttributeMappings.enumerated() {
            let property = "\(destination).deliveryAttributeMappings[\(index)]"
            if mapping.name.isEmpty || mapping.name.lowercased().hasPrefix("aeg-") {
                return ("\(property).name", "must be a header name not starting with aeg- (reserved)")
            }
            if !HeaderField.isValidName(mapping.name) {
                return ("\(property).name", "'\(mapping.name)' is not a valid header name")
            }
            switch mapping.type {
            case .static:
                guard let value = mapping.properties.value else { return ("\(property).properties.value", "a static attribute needs a value") }
                if value.utf8.count > 4096 { return ("\(property).properties.value", "at most 4096 bytes") }
                if !HeaderField.isValidValue(value) {
                    return ("\(property).properties.value", "must not contain line breaks or control characters")
                }
            case .dynamic:
                guard let field = mapping.properties.sourceField, !field.isEmpty else {
                    return ("\(property).properties.sourceField", "a dynamic attribute needs a sourceField")
                }
            }
        }
        do {
            try filter.validate()
        } catch {
            return (error.property, error.message)
        }
        return nil
    }
}

/// String enums that refuse an unknown value with a message naming the
/// values they take (not Swift's "Cannot initialize Kind from invalid String value").
public protocol NamedCases: RawRepresentable<String>, CaseIterable, Decodable {}

extension NamedCases {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be \(Self.allCases.map(\.rawValue).joined(separator: " or ")), not \(text)")
        }
        self = value
    }
}
