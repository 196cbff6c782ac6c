import AsyncHTTPClient
import Synchronization

/// HTTP clients that connect to the address the target guard checked, not
/// to whatever the name resolves to when the connection is made.
///
/// A host keeps its client (and its pooled connections) while its checked
/// answer still contains the pinned address (round-robin DNS reorders, it
/// does not move). Clients are bounded: at most `capacity` pinned, and at
/// most `capacity` retiring; past that a retired client is shut down at once.
///
/// AsyncHTTPClient resolves names itself, at connect time, with no hook to
/// see the answer; its `dnsOverride` connects a host name to a given
/// address while keeping the name for `Host` and TLS (SNI and certificate
/// checks). It is per client, so this keeps one client per host, pinned to
/// that host's checked address, built from the shared configuration and
/// event loops. When a host's address changes (its DNS answer did), the
/// next attempt gets a new client and the old one is shut down once the
/// attempts that may still use it are over (`retireAfter`, longer than any
/// attempt's deadline). At most `capacity` hosts are kept; the least
/// recently used one is retired first.
public final class PinnedHTTPClients: Sendable {
    private struct Entry {
        let address: IPAddress
        let client: HTTPClient
        var lastUsed: ContinuousClock.Instant
    }

    private let configuration: HTTPClient.Configuration
    private let retireAfter: Duration
    private let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])
    /// Clients waiting out their grace before shutdown.
    private let retiring = Atomic<Int>(0)

    public init(configuration: HTTPClient.Configuration, retireAfter: Duration, capacity: Int = 1024) {
        self.configuration = configuration
        self.retireAfter = retireAfter
        self.capacity = capacity
    }

    /// The client for `target`: `fallback` when nothing is pinned (an
    /// address literal, or the guard is off).
    func client(for target: TargetGuard.CheckedTarget, fallback: HTTPClient) -> HTTPClient {
        guard let address = target.pinnedAddress else { return fallback }
        // As written: it must be the key AsyncHTTPClient looks up.
        let host = target.host
        let now = ContinuousClock.now
        var retired: [HTTPClient] = []
        let client = entries.withLock { entries -> HTTPClient in
            if var entry = entries[host], entry.address == address || target.checkedAddresses.contains(entry.address) {
                entry.lastUsed = now
                entries[host] = entry
                return entry.client
            }
            if let stale = entries.removeValue(forKey: host) { retired.append(stale.client) }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                entries.removeValue(forKey: oldest.key)
                retired.append(oldest.value.client)
            }
            var pinned = configuration
            pinned.dnsOverride = [host: address.description]
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: pinned)
            entries[host] = Entry(address: address, client: client, lastUsed: now)
            return client
        }
        for old in retired { retire(old) }
        return client
    }

    /// Shuts every client down (at process shutdown, after the dispatchers).
    public func shutdown() async {
        let clients = entries.withLock { entries in
            defer { entries = [:] }
            return entries.values.map(\.client)
        }
        for client in clients { try? await client.shutdown() }
    }

    private func retire(_ client: HTTPClient) {
        // Many hosts churning (names a caller made up): no grace past the bound.
        let grace = retiring.add(1, ordering: .relaxed).newValue > capacity ? Duration.zero : retireAfter
        Task {
            try? await Task.sleep(for: grace)
            try? await client.shutdown()
            retiring.subtract(1, ordering: .relaxed)
        }
    }
}
