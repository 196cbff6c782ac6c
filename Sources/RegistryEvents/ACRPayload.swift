/// The exact JSON body an ACR webhook receives, per action, as the ACR
/// webhook reference gives it: `push`/`quarantine` carry target
/// {mediaType, size, digest, length, repository, tag} and request {id, host,
/// method, useragent}; `delete` carries target {mediaType, digest, repository}
/// and request; chart events carry target {mediaType, size, digest,
/// repository, tag, name, version} and no request; `ping` only id, timestamp
/// and action. Fields ACR does not send are never added.
public struct ACRPayload: Codable, Sendable, Hashable {
    public struct Target: Codable, Sendable, Hashable {
        public var mediaType: String?
        public var size: Int64?
        public var digest: String?
        public var length: Int64?
        public var repository: String
        public var tag: String?
        /// Our one addition to ACR's target: every tag (see `RegistryEvent.Target.tags`).
        public var tags: [String]?
        public var name: String?
        public var version: String?
    }

    public struct Request: Codable, Sendable, Hashable {
        public var id: String
        public var host: String
        public var method: String
        public var useragent: String
    }

    public var id: String
    public var timestamp: String
    public var action: String
    public var target: Target?
    public var request: Request?
    /// Our addition for `scan_completed` (opt-in): the scan's result.
    public var scan: ScanResult?

    public init(_ event: RegistryEvent) {
        id = event.id
        timestamp = event.timestamp
        action = event.action.rawValue
        let source = event.target
        let request = event.request.map {
            Request(id: $0.id ?? "", host: $0.host ?? "", method: $0.method ?? "", useragent: $0.useragent ?? "")
        }
        switch event.action {
        case .push, .quarantine, .tagAdded, .scanCompleted:
            // tag_added and scan_completed are a push's shape: the digest and its tag.
            target = Target(
                mediaType: source.mediaType ?? "", size: source.size ?? 0, digest: source.digest, length: source.length ?? source.size ?? 0,
                repository: source.repository, tag: source.tag, tags: source.tags)
            self.request = request ?? Request(id: "", host: "", method: "", useragent: "")
            scan = event.scan
        case .delete, .tagRemoved:
            // tag_removed is a delete's shape with the tag (the digest when known).
            target = Target(
                mediaType: source.mediaType, digest: source.digest, repository: source.repository, tag: source.tag, tags: source.tags)
            self.request = request ?? Request(id: "", host: "", method: "", useragent: "")
        case .chartPush, .chartDelete:
            target = Target(
                mediaType: source.mediaType, size: source.size, digest: source.digest, repository: source.repository,
                tag: source.tag, name: source.name, version: source.version)
            self.request = nil
        case .ping:
            target = nil
            self.request = nil
        }
    }

    /// A ping: a new id, the current time, nothing else.
    public static func ping(id: String, timestamp: String) -> ACRPayload {
        ACRPayload(
            RegistryEvent(id: id, timestamp: timestamp, action: .ping, registry: "", location: "", target: .init(repository: "")))
    }
}
