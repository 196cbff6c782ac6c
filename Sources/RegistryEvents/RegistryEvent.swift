import Foundation

/// What happened in a registry, once: the one domain value every payload is
/// rendered from (ACR webhook body, Event Grid event, CloudEvent). Never kept
/// in two hand-maintained copies.
public struct RegistryEvent: Sendable, Hashable {
    /// The longest event id accepted: ids are kept for the dedupe window.
    public static let maxIDBytes = 256

    /// The registry's own event id (Distribution's `id`), or a new UUID.
    public var id: String
    /// RFC 3339 text as the registry wrote it (Distribution gives nanoseconds,
    /// which `Date` would lose).
    public var timestamp: String
    public var action: RegistryAction
    /// The registry's name in RegistryEvents (the `{registry}` of the ingest URL).
    public var registry: String
    /// The replica that received the event (ACR geo-replication location).
    public var location: String
    public var target: Target
    public var request: Request?
    public var actor: Actor?
    public var source: Source?
    /// Name of the connected registry that generated the event, when known.
    public var connectedRegistry: String?
    /// The scan's result, on `scan_completed` only.
    public var scan: ScanResult?

    public init(
        id: String, timestamp: String, action: RegistryAction, registry: String, location: String, target: Target,
        request: Request? = nil, actor: Actor? = nil, source: Source? = nil, connectedRegistry: String? = nil,
        scan: ScanResult? = nil
    ) {
        self.id = id
        self.timestamp = timestamp
        self.action = action
        self.registry = registry
        self.location = location
        self.target = target
        self.request = request
        self.actor = actor
        self.source = source
        self.connectedRegistry = connectedRegistry
        self.scan = scan
    }

    public struct Target: Sendable, Hashable, Codable {
        public var mediaType: String?
        public var size: Int64?
        public var digest: String?
        public var length: Int64?
        public var repository: String
        public var url: String?
        public var tag: String?
        /// Every tag the manifest carries: on a `delete`, the tags it had (from
        /// the tag index); on a `push`, the tags one envelope pushed it under.
        /// `nil` when unknown or just `tag`.
        public var tags: [String]?
        /// Chart name (chart events).
        public var name: String?
        /// Chart version (chart events).
        public var version: String?
        /// Digest of the manifest's config blob, when the registry said
        /// (Distribution's `references`); used to read a chart's metadata,
        /// never rendered.
        public var configDigest: String?

        // configDigest is internal bookkeeping: never rendered, never read from input.
        private enum CodingKeys: String, CodingKey {
            case mediaType, size, digest, length, repository, url, tag, tags, name, version
        }

        public init(
            mediaType: String? = nil, size: Int64? = nil, digest: String? = nil, length: Int64? = nil,
            repository: String, url: String? = nil, tag: String? = nil, name: String? = nil, version: String? = nil
        ) {
            self.mediaType = mediaType
            self.size = size
            self.digest = digest
            self.length = length
            self.repository = repository
            self.url = url
            self.tag = tag
            self.name = name
            self.version = version
        }
    }

    public struct Request: Sendable, Hashable, Codable {
        public var id: String?
        public var addr: String?
        public var host: String?
        public var method: String?
        public var useragent: String?

        public init(id: String? = nil, addr: String? = nil, host: String? = nil, method: String? = nil, useragent: String? = nil) {
            self.id = id
            self.addr = addr
            self.host = host
            self.method = method
            self.useragent = useragent
        }
    }

    public struct Actor: Sendable, Hashable, Codable {
        public var name: String?
        public init(name: String? = nil) { self.name = name }
    }

    public struct Source: Sendable, Hashable, Codable {
        public var addr: String?
        public var instanceID: String?
        public init(addr: String? = nil, instanceID: String? = nil) {
            self.addr = addr
            self.instanceID = instanceID
        }
    }

    /// The Kafka record key: `<registry>/<repository>`, so each repository's
    /// events stay in order on one partition.
    public var recordKey: String { "\(registry)/\(target.repository)" }

    /// Event Grid / CloudEvents subject: `repository:tag`, or the repository
    /// when there is no tag.
    public var subject: String {
        if let tag = target.tag, !tag.isEmpty { return "\(target.repository):\(tag)" }
        return target.repository
    }
}

public enum RegistryAction: String, Sendable, Hashable, Codable, CaseIterable {
    case push
    case delete
    case chartPush = "chart_push"
    case chartDelete = "chart_delete"
    case quarantine
    case ping
    /// An existing digest got another tag (a retag, a promotion): opt-in.
    case tagAdded = "tag_added"
    /// A tag was removed (untag, or with its manifest): opt-in.
    case tagRemoved = "tag_removed"
    /// A registry finished scanning a digest (Harbor's scans): opt-in.
    case scanCompleted = "scan_completed"

    /// ACR's actions a webhook can subscribe to (ping is a test, not an event).
    public static let subscribable: [RegistryAction] = [.push, .delete, .quarantine, .chartPush, .chartDelete]
    /// Actions beyond ACR's: delivered only to webhooks that list them and
    /// subscriptions whose `includedEventTypes` name them, so an ACR
    /// receiver never sees an action it does not know.
    public static let optIn: [RegistryAction] = [.tagAdded, .tagRemoved, .scanCompleted]
    /// Every action a webhook may list.
    public static let webhookActions: [RegistryAction] = subscribable + optIn

    public var isOptIn: Bool { Self.optIn.contains(self) }

    /// Whether `type` is the Event Grid type of an opt-in action.
    public static func isOptInEventType(_ type: String) -> Bool {
        optIn.contains { $0.eventGridType?.caseInsensitiveCompare(type) == .orderedSame }
    }

    public var isChart: Bool { self == .chartPush || self == .chartDelete }

    /// The Event Grid event type; quarantine and ping have none.
    public var eventGridType: String? {
        switch self {
        case .push: "Microsoft.ContainerRegistry.ImagePushed"
        case .delete: "Microsoft.ContainerRegistry.ImageDeleted"
        case .chartPush: "Microsoft.ContainerRegistry.ChartPushed"
        case .chartDelete: "Microsoft.ContainerRegistry.ChartDeleted"
        // Our own namespace: Event Grid has no such types.
        case .tagAdded: "RegistryEvents.ContainerRegistry.TagAdded"
        case .tagRemoved: "RegistryEvents.ContainerRegistry.TagRemoved"
        case .scanCompleted: "RegistryEvents.ContainerRegistry.ScanCompleted"
        case .quarantine, .ping: nil
        }
    }
}

extension RegistryEvent {
    /// The `tag_added` a push by tag of a known digest also is: the push's
    /// target, request and actor; its own id, derived from the push's, so a
    /// re-sent envelope gives the same one.
    public func tagAdded() -> RegistryEvent {
        var event = self
        event.id = "\(id)-tag_added"
        event.action = .tagAdded
        event.target.tags = nil
        event.target.name = nil
        event.target.version = nil
        return event
    }
}
