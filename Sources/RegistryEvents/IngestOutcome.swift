/// What became of one event of an ingested envelope.
public enum IngestOutcome: Sendable, Hashable {
    /// To be produced to the event topics.
    case accepted(RegistryEvent)
    /// Not an event we publish (a blob push, a pull, a mount, …), with why.
    case dropped(reason: DropReason)
    /// Malformed: produced to the dead-letter topic with the reason, never lost.
    case rejected(reason: String, repository: String?)

    public enum DropReason: String, Sendable, Hashable, Codable {
        case blobEvent = "blob event"
        case pull = "pull (GET or HEAD)"
        case mount = "cross-repository blob mount"
        case untaggedPush = "push by digest without a tag"
        case unknownAction = "unknown action"
        /// A registry's event with no ACR action and no opt-in one (a scan, a quota, a replication, …).
        case notMapped = "an event with no ACR or opt-in action"
        /// A registry's "test notification" dressed as a real event (Quay's sample push).
        case testNotification = "a registry's test notification"
        case duplicate = "already ingested (same registry and event id)"
    }
}

/// What is remembered of a pushed chart, to describe its later delete.
public struct KnownChart: Sendable, Hashable {
    public var name: String
    public var version: String
    public var mediaType: String

    public init(name: String, version: String, mediaType: String) {
        self.name = name
        self.version = version
        self.mediaType = mediaType
    }

    /// The chart a chart event describes, when it names one.
    public init?(_ event: RegistryEvent) {
        guard event.action.isChart, let name = event.target.name, let version = event.target.version,
            let mediaType = event.target.mediaType
        else { return nil }
        self.init(name: name, version: version, mediaType: mediaType)
    }
}
