import RegistryEvents

/// How ingest behaves; set from `regevents serve` flags.
public struct IngestSettings: Sendable {
    /// When set, ingest routes need `Authorization: Bearer <token>`.
    public var token: String?
    /// Largest accepted body, in bytes.
    public var maxBodyBytes: Int
    /// The location events carry unless the request says `?location=`.
    public var defaultLocation: String
    public var cloudEventsMode: CloudEventsMode
    /// Keep Distribution pushes by digest (no tag) as `push` events.
    public var ingestUntagged: Bool
    /// The window within which a re-sent event id is not produced again.
    public var deduplication: RecentEvents.Window
    public var registryTopics: RegistryTopics
    /// Read a pushed chart's name and version from its config blob.
    public var readChartConfigs = true
    /// GitHub's webhook secret: `/github` then checks `X-Hub-Signature-256`
    /// instead of the ingest token (GitHub cannot send one).
    public var githubWebhookSecret: String?
    /// Events one request may carry; more are answered 413.
    public var maxEventsPerRequest = 1000
    /// Per adapter route (`quay`, `dockerhub`), the registry API its pushes'
    /// digests are looked up in.
    public var registryAPIs: [String: ManifestDigestResolver.Configuration] = [
        QuayAdapter.route: .init(baseURL: "https://quay.io"),
        DockerHubAdapter.route: .init(baseURL: "https://registry-1.docker.io"),
    ]

    public init(
        token: String? = nil, maxBodyBytes: Int = 1 << 20, defaultLocation: String = "local",
        cloudEventsMode: CloudEventsMode = .structured, ingestUntagged: Bool = false,
        deduplication: RecentEvents.Window = RecentEvents.Window(), registryTopics: RegistryTopics = RegistryTopics()
    ) {
        self.token = token
        self.maxBodyBytes = maxBodyBytes
        self.defaultLocation = defaultLocation
        self.cloudEventsMode = cloudEventsMode
        self.ingestUntagged = ingestUntagged
        self.deduplication = deduplication
        self.registryTopics = registryTopics
    }
}
