import AsyncHTTPClient
import Delivery
import Kafka
import Logging
import Metrics
import RegistryEvents
import Store
import Synchronization

/// Puts registry events into Kafka: both records of every kept event, and a
/// dead-letter record for every malformed one, acknowledged by Kafka before
/// anything is reported as accepted.
public final class IngestService: Sendable {
    public struct NotificationResult: Codable, Sendable, Equatable {
        public let received: Int
        public let produced: Int
        public let dropped: Int
        public let rejected: Int

        public init(received: Int, produced: Int, dropped: Int, rejected: Int) {
            self.received = received
            self.produced = produced
            self.dropped = dropped
            self.rejected = rejected
        }
    }

    public struct EventsResult: Codable, Sendable, Equatable {
        public let produced: Int
        public let ids: [String]

        public init(produced: Int, ids: [String]) {
            self.produced = produced
            self.ids = ids
        }
    }

    /// More events in one request than `IngestSettings.maxEventsPerRequest`.
    public struct TooManyEvents: Error, CustomStringConvertible {
        public let count: Int
        public let limit: Int
        public var description: String {
            "the request carries \(count) events; at most \(limit) are accepted per request (serve --max-events-per-request)"
        }
    }

    /// Kafka did not acknowledge; nothing is reported as accepted.
    public struct KafkaUnavailable: Error, CustomStringConvertible {
        public let underlying: any Error
        public var description: String { "Kafka did not acknowledge the events: \(underlying)" }
    }

    /// A digest lookup in a registry (Quay, Docker Hub) found no answer in
    /// time; nothing of the request was produced, and a retry may succeed.
    public struct RegistryUnavailable: Error, CustomStringConvertible {
        public let message: String
        public var description: String { "the registry did not say what the pushed tag points at (\(message)); nothing was accepted, retry" }
    }

    let producer: any EventProducer
    let layout: TopicLayout
    let settings: IngestSettings
    private let renderer: EventRecordRenderer
    private let recent: RecentEvents
    private let chartDigests = ChartDigests()
    private let counters = IngestCounters()
    private let chartConfigReader: ChartConfigReader?
    private let tagEvents: TagEvents
    /// Per adapter route, where to look up the digests its pushes leave out.
    private let digestResolvers: [String: ManifestDigestResolver]
    /// Events produced without their tag details (the index did not answer).
    private let tagIndexMisses = Counter(label: "regevents_tag_index_misses_total")
    /// Whether a registry gets its own metric series (it has a webhook or a
    /// subscription); any other name a caller sends counts as `other`.
    private let isKnownRegistry: @Sendable (String) -> Bool
    private let logger: Logger

    /// - Parameter http: reads chart configs from registries; `nil` leaves
    ///   chart name and version as the repository and tag suggest.
    public init(
        producer: any EventProducer, layout: TopicLayout, settings: IngestSettings, http: GuardedHTTPClient?,
        isKnownRegistry: @escaping @Sendable (String) -> Bool = { _ in true }, tagIndex: (any TagIndexStore)? = nil, logger: Logger
    ) {
        self.isKnownRegistry = isKnownRegistry
        tagEvents = TagEvents(store: tagIndex)
        chartConfigReader = settings.readChartConfigs ? http.map { ChartConfigReader(http: $0, logger: logger) } : nil
        digestResolvers = http.map { http in
            settings.registryAPIs.mapValues { ManifestDigestResolver(configuration: $0, http: http.httpClient, logger: logger) }
        } ?? [:]
        self.producer = producer
        self.layout = layout
        self.settings = settings
        self.logger = logger
        renderer = EventRecordRenderer(layout: layout, cloudEventsMode: settings.cloudEventsMode, topics: settings.registryTopics)
        recent = RecentEvents(window: settings.deduplication)
    }

    /// A Distribution notification envelope.
    public func ingestNotification(body: [UInt8], registry: String, location: String) async throws -> NotificationResult {
        let envelope = try DistributionEnvelope(parsing: body)
        guard envelope.events.count <= settings.maxEventsPerRequest else {
            throw TooManyEvents(count: envelope.events.count, limit: settings.maxEventsPerRequest)
        }
        let chartDigests = self.chartDigests
        let mapper = DistributionEventMapper(
            registry: registry, location: location, ingestUntagged: settings.ingestUntagged,
            knownChart: { chartDigests.chart(for: $0) })
        return try await ingest(envelope.events.map(mapper.map), body: body, registry: registry)
    }

    /// A registry's own webhook body (Harbor, zot, …), through its adapter.
    public func ingest(
        _ adapter: some RegistryAdapter, body: [UInt8], headers: [String: String], registry: String, location: String
    ) async throws -> NotificationResult {
        var outcomes = try adapter.outcomes(body: body, headers: headers, registry: registry, location: location)
        guard outcomes.count <= settings.maxEventsPerRequest else {
            throw TooManyEvents(count: outcomes.count, limit: settings.maxEventsPerRequest)
        }
        if type(of: adapter).resolvesDigests { outcomes = try await resolveDigests(outcomes, adapter: type(of: adapter), registry: registry) }
        return try await ingest(outcomes, body: body, registry: registry)
    }

    /// Looks up the digest of every accepted push that names only a tag
    /// (`DigestLookups`): found, the event is complete and gets its id;
    /// refused (no such tag, no access), it is rejected with the registry's
    /// answer. Unanswered, the whole request fails (503) for a registry that
    /// sends again (Quay); for one that never does (Docker Hub) its events are
    /// rejected instead, so they are dead-lettered rather than lost.
    private func resolveDigests(_ outcomes: [IngestOutcome], adapter: any RegistryAdapter.Type, registry: String) async throws
        -> [IngestOutcome]
    {
        let pending = outcomes.indices.compactMap { index -> (Int, RegistryEvent)? in
            guard case .accepted(let event) = outcomes[index], event.target.digest == nil, event.target.tag != nil else { return nil }
            return (index, event)
        }
        guard !pending.isEmpty else { return outcomes }
        var resolved = outcomes
        func reject(_ index: Int, _ event: RegistryEvent, _ reason: String) {
            resolved[index] = .rejected(reason: reason, repository: event.target.repository)
        }
        guard let resolver = digestResolvers[adapter.route] else {
            for (index, event) in pending { reject(index, event, "no registry API is configured to look up the digest") }
            return resolved
        }
        let key = { (event: RegistryEvent) in DigestLookups.Key(repository: event.target.repository, tag: event.target.tag ?? "") }
        var keys: [DigestLookups.Key] = []
        for (_, event) in pending where !keys.contains(key(event)) { keys.append(key(event)) }
        let looked = Set(keys.prefix(DigestLookups.maxPerRequest))
        let answers = await DigestLookups(resolver: resolver).run(Array(keys.prefix(DigestLookups.maxPerRequest)))
        let unavailable: String? = answers.map { answers in
            answers.values.lazy.compactMap { answer -> String? in
                if case .failure(.unavailable(let message)) = answer { message } else { nil }
            }.first
        } ?? "the lookups did not all finish within \(DigestLookups.deadline)"
        if let unavailable {
            count(registry, "lookup_failed")
            logger.warning(
                "A registry did not answer a digest lookup", metadata: ["route": "\(adapter.route)", "error": "\(unavailable)"])
            guard !adapter.resendsRefusedRequests else { throw RegistryUnavailable(message: unavailable) }
            for (index, event) in pending { reject(index, event, "the registry did not answer the digest lookup: \(unavailable)") }
            return resolved
        }
        for (index, event) in pending {
            guard looked.contains(key(event)) else {
                reject(index, event, "more than \(DigestLookups.maxPerRequest) tags in one notification: only the first ones are looked up")
                continue
            }
            switch answers?[key(event)] {
            case .success(let manifest):
                var complete = event
                complete.target.digest = manifest.digest
                complete.target.mediaType = manifest.mediaType
                complete.target.size = manifest.size
                complete.target.length = manifest.size
                // An adapter that could tell pushes apart gave the id; else the tag and digest make it.
                if complete.id.isEmpty { complete.id = Adapters.resolvedID(route: adapter.route, event: complete) }
                resolved[index] = .accepted(complete)
            case .failure(let failure):
                reject(index, event, "the tag's digest could not be looked up: \(failure)")
            case nil:
                reject(index, event, "the tag's digest was not looked up")
            }
        }
        return resolved
    }

    /// One request's events, mapped: the accepted produced (after the tag
    /// index completed them), the malformed dead-lettered with the body.
    private func ingest(_ outcomes: [IngestOutcome], body: [UInt8], registry: String) async throws -> NotificationResult {
        let traceparent = DeliveryTracing.currentTraceparent()
        var accepted: [RegistryEvent] = []
        var records: [RenderedRecord] = []
        var waiting: [PendingClaim] = []
        var dropped = 0
        var chartReads = 0
        var rejections: [(index: Int, reason: String, repository: String?)] = []
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .accepted(var registryEvent):
                if let chartConfigReader, registryEvent.action == .chartPush, chartReads < ChartConfigReader.maxReadsPerEnvelope {
                    chartReads += 1
                    registryEvent = await chartConfigReader.enrich(registryEvent)
                }
                switch recent.claim(registry: registry, id: registryEvent.id) {
                case .claimed:
                    break
                case .duplicate:
                    dropped += 1
                    count(registry, "duplicate")
                    continue
                case .pending(let first):
                    waiting.append(first)
                    dropped += 1
                    count(registry, "duplicate")
                    continue
                }
                accepted.append(registryEvent)
            case .dropped(let reason):
                dropped += 1
                count(registry, "dropped")
                logger.debug("Dropped registry event", metadata: ["registry": "\(registry)", "reason": "\(reason.rawValue)"])
            case .rejected(let reason, let repository):
                rejections.append((index, reason, repository))
            }
        }
        let derived = await derive(accepted)
        records += derived.events.flatMap { renderer.records(for: $0, traceparent: traceparent) }
        if !rejections.isEmpty {
            // One dead letter and one log line per envelope, however many of
            // its events are bad: Kafka and the log grow with the body, not
            // with the body times its events.
            count(registry, "rejected", by: rejections.count)
            records.append(deadLetter(body: body, registry: registry, rejections: rejections))
            logger.warning(
                "Rejected registry events: dead-lettered",
                metadata: [
                    "registry": "\(registry)", "rejected": "\(rejections.count)", "firstIndex": "\(rejections[0].index)",
                    "firstReason": "\(Self.bounded(rejections[0].reason))",
                ])
        }
        try await produce(records, claimed: accepted)
        await tagEvents.commit(derived.changes, logger: logger)
        try await awaitFirstCopies(waiting)
        for event in accepted { chartDigests.remember(event) }
        if !accepted.isEmpty { count(registry, "produced", by: accepted.count) }
        return NotificationResult(
            received: outcomes.count, produced: accepted.count, dropped: dropped, rejected: rejections.count)
    }

    /// ACR-native events, already validated.
    public func ingestEvents(_ events: [RegistryEvent]) async throws -> EventsResult {
        guard events.count <= settings.maxEventsPerRequest else {
            throw TooManyEvents(count: events.count, limit: settings.maxEventsPerRequest)
        }
        var claimed: [RegistryEvent] = []
        var waiting: [PendingClaim] = []
        for event in events {
            switch recent.claim(registry: event.registry, id: event.id) {
            case .claimed: claimed.append(event)
            case .duplicate: break
            case .pending(let first): waiting.append(first)
            }
        }
        let traceparent = DeliveryTracing.currentTraceparent()
        let derived = await derive(claimed)
        try await produce(derived.events.flatMap { renderer.records(for: $0, traceparent: traceparent) }, claimed: claimed)
        await tagEvents.commit(derived.changes, logger: logger)
        try await awaitFirstCopies(waiting)
        for event in claimed {
            count(event.registry, "produced")
            chartDigests.remember(event)
        }
        return EventsResult(produced: claimed.count, ids: events.map(\.id))
    }

    /// The events completed from the tag index. When it cannot be read, the
    /// events go as they are (without what the index adds), and it is logged
    /// and counted: some registries (GitHub, zot) never send a webhook again,
    /// so failing the request would lose the push itself.
    private func derive(_ claimed: [RegistryEvent]) async -> TagEvents.Derived {
        do {
            return try await tagEvents.derive(claimed)
        } catch {
            logger.error(
                "The tag index did not answer: events go without their tag details", metadata: ["events": "\(claimed.count)", "error": "\(error)"])
            tagIndexMisses.increment(by: claimed.count)
            return TagEvents.Derived(events: claimed, changes: [])
        }
    }

    /// Duplicates of events still on their way to Kafka answer as the first
    /// copy does: 2xx only once it is in Kafka.
    private func awaitFirstCopies(_ waiting: [PendingClaim]) async throws {
        for first in waiting where !(await first.outcome()) {
            throw KafkaUnavailable(underlying: FirstCopyFailed())
        }
    }

    private struct FirstCopyFailed: Error, CustomStringConvertible {
        var description: String { "the first copy of a re-sent event was not acknowledged" }
    }

    private func produce(_ records: [RenderedRecord], claimed: [RegistryEvent]) async throws {
        guard !records.isEmpty else { return }
        do {
            try await producer.produce(records.map(KafkaProducerRecord.init))
            for event in claimed { recent.confirm(registry: event.registry, id: event.id) }
        } catch {
            for event in claimed { recent.release(registry: event.registry, id: event.id) }
            logger.error("Ingest failed: Kafka did not acknowledge", metadata: ["error": "\(error)"])
            throw KafkaUnavailable(underlying: error)
        }
    }

    /// An envelope's malformed events, kept whole: the envelope exactly as
    /// received (once), the index of every bad event in it, and each one's
    /// reason (one reason as it is; several as `[index] reason; …`, each and
    /// the whole bounded so a header stays small).
    private func deadLetter(
        body: [UInt8], registry: String, rejections: [(index: Int, reason: String, repository: String?)]
    ) -> RenderedRecord {
        var reason = rejections.count == 1 ? Self.bounded(rejections[0].reason) : ""
        if rejections.count > 1 {
            for (position, rejection) in rejections.enumerated() {
                let part = "[\(rejection.index)] \(Self.bounded(rejection.reason))"
                guard reason.utf8.count + part.utf8.count < 4096 else {
                    reason += "; and \(rejections.count - position) more"
                    break
                }
                reason += (reason.isEmpty ? "" : "; ") + part
            }
        }
        let repository = rejections.first?.repository
        return RenderedRecord(
            topic: layout.deadLetter, key: repository.map { "\(registry)/\($0)" } ?? registry, value: body,
            headers: DeadLetterHeaders(.ingest(registry: registry, eventIndices: rejections.map(\.index)), reason: reason).headers)
    }

    /// A reason that quotes what the registry sent, cut to 256 bytes.
    static func bounded(_ reason: String) -> String {
        guard reason.utf8.count > 256 else { return reason }
        return String(decoding: reason.utf8.prefix(253), as: UTF8.self) + "..."
    }

    private func count(_ registry: String, _ outcome: String, by amount: Int = 1) {
        counters.counter(isKnownRegistry(registry) ? registry : "other", outcome).increment(by: amount)
    }
}

/// `regevents_ingest_events_total` by registry and outcome, kept once made:
/// a lookup in the metrics factory per event was a lock and a hash of its
/// labels. Bounded; past the bound it starts over (the factory keeps the
/// series).
final class IngestCounters: Sendable {
    private let counters = Mutex<[String: Counter]>([:])

    func counter(_ registry: String, _ outcome: String) -> Counter {
        let key = "\(registry)\u{0}\(outcome)"
        if let counter = counters.withLock({ $0[key] }) { return counter }
        let counter = Counter(label: "regevents_ingest_events_total", dimensions: [("registry", registry), ("outcome", outcome)])
        counters.withLock { counters in
            if counters.count >= 10_000 { counters.removeAll() }
            counters[key] = counter
        }
        return counter
    }
}
