/// The `data` of a container registry event in Event Grid and CloudEvents
/// schema (ContainerRegistryEventData / ContainerRegistryArtifactEventData).
public struct ContainerRegistryEventData: Codable, Sendable, Hashable {
    public struct ConnectedRegistry: Codable, Sendable, Hashable {
        public var name: String
    }

    public var id: String
    public var timestamp: String
    public var action: String
    public var location: String
    public var target: RegistryEvent.Target
    public var request: RegistryEvent.Request?
    public var actor: RegistryEvent.Actor?
    public var source: RegistryEvent.Source?
    public var connectedRegistry: ConnectedRegistry?
    /// `scan_completed` only (opt-in): the scan's result.
    public var scan: ScanResult?

    public init(_ event: RegistryEvent) {
        id = event.id
        timestamp = event.timestamp
        action = event.action.rawValue
        location = event.location
        let t = event.target
        connectedRegistry = event.connectedRegistry.map(ConnectedRegistry.init(name:))
        if event.action.isChart {
            // Artifact events carry no request, actor or source (as Event Grid documents).
            target = RegistryEvent.Target(
                mediaType: t.mediaType, size: t.size, digest: t.digest, repository: t.repository, tag: t.tag, name: t.name,
                version: t.version)
        } else {
            target = RegistryEvent.Target(
                mediaType: t.mediaType, size: t.size, digest: t.digest, length: t.length, repository: t.repository, url: t.url,
                tag: t.tag)
            target.tags = t.tags
            request = event.request
            actor = event.actor
            source = event.source
            scan = event.scan
        }
    }
}

/// An event in Event Grid schema.
public struct EventGridEvent: Codable, Sendable, Hashable {
    public var id: String
    public var topic: String
    public var subject: String
    public var eventType: String
    public var eventTime: String
    public var data: ContainerRegistryEventData
    public var dataVersion: String
    public var metadataVersion: String

    /// `nil` for actions Event Grid has no type for (quarantine, ping).
    public init?(_ event: RegistryEvent, topic: String) {
        guard let type = event.action.eventGridType else { return nil }
        id = EventIdentity.eventGridID(for: event)
        self.topic = topic
        subject = event.subject
        eventType = type
        eventTime = event.timestamp
        data = ContainerRegistryEventData(event)
        dataVersion = "1.0"
        metadataVersion = "1"
    }
}

/// A CloudEvents 1.0 event whose data is the Event Grid data.
public struct CloudEvent: Codable, Sendable, Hashable {
    public var specversion: String
    public var type: String
    public var source: String
    public var id: String
    public var time: String
    public var subject: String
    public var datacontenttype: String
    public var data: ContainerRegistryEventData
    /// The distributed-tracing extension: the trace of the ingest that
    /// made the event; absent with tracing off.
    public var traceparent: String?

    public init?(_ event: RegistryEvent, source: String) {
        guard let gridEvent = EventGridEvent(event, topic: source) else { return nil }
        self.init(gridEvent)
    }

    public init(_ gridEvent: EventGridEvent) {
        specversion = "1.0"
        type = gridEvent.eventType
        source = gridEvent.topic
        id = gridEvent.id
        time = gridEvent.eventTime
        subject = gridEvent.subject
        datacontenttype = "application/json"
        data = gridEvent.data
    }
}
