import Foundation
import Synchronization

/// Remembers recently ingested event ids per registry, so an envelope a
/// registry re-sends (it retries whatever it believes failed) is not produced
/// twice. Bounded in size and age; an id is claimed before producing and
/// released if producing fails, so a retry after a failure still goes through.
///
/// A duplicate that arrives while the first copy is still waiting for Kafka
/// gets a `PendingClaim`: it waits for that outcome and answers the same way
/// (2xx only once the event is in Kafka), so a registry never holds a 2xx
/// for an event whose only produce then failed.
///
/// Guarantee: within the window (both its size and its age), one process
/// produces an event id at most once. Not guaranteed: across restarts, across
/// several servers, or after the window has moved on.
public final class RecentEvents: Sendable {
    public enum Claim: Sendable {
        /// Not seen: produce it, then `confirm` or `release`.
        case claimed
        /// Already in Kafka: drop it.
        case duplicate
        /// The first copy is still being produced: wait for its outcome.
        case pending(PendingClaim)
    }

    public struct Window: Sendable, Hashable {
        public var capacity: Int
        public var maxAge: Duration
        public init(capacity: Int = 100_000, maxAge: Duration = .seconds(3600)) {
            self.capacity = capacity
            self.maxAge = maxAge
        }
    }

    private struct Entry {
        var at: ContinuousClock.Instant
        /// Set while the first copy waits for Kafka.
        var pending: PendingClaim?
    }

    private struct State {
        var seen: [String: Entry] = [:]
        var order: [String] = []
        var head = 0
    }

    private let window: Window
    private let state = Mutex(State())

    public init(window: Window = Window()) {
        self.window = window
    }

    /// Claims the id when it was not seen within the window.
    public func claim(registry: String, id: String, now: ContinuousClock.Instant = .now) -> Claim {
        let key = Self.key(registry, id)
        return state.withLock { state in
            evict(&state, now: now)
            if let entry = state.seen[key], now - entry.at < window.maxAge {
                return entry.pending.map(Claim.pending) ?? .duplicate
            }
            state.seen[key] = Entry(at: now, pending: PendingClaim())
            state.order.append(key)
            return .claimed
        }
    }

    /// The claimed id is in Kafka: later copies are duplicates, and copies
    /// waiting on it answer 2xx.
    public func confirm(registry: String, id: String) {
        let pending = state.withLock { state -> PendingClaim? in
            let key = Self.key(registry, id)
            defer { state.seen[key]?.pending = nil }
            return state.seen[key]?.pending
        }
        pending?.resolve(inKafka: true)
    }

    /// Gives a claimed id back (its produce failed): copies waiting on it
    /// fail the same way, and a retry goes through.
    public func release(registry: String, id: String) {
        let entry = state.withLock { $0.seen.removeValue(forKey: Self.key(registry, id)) }
        entry?.pending?.resolve(inKafka: false)
    }

    private static func key(_ registry: String, _ id: String) -> String { "\(registry)\u{0}\(id)" }

    public var count: Int { state.withLock { $0.seen.count } }

    private func evict(_ state: inout State, now: ContinuousClock.Instant) {
        while state.head < state.order.count {
            let key = state.order[state.head]
            guard let entry = state.seen[key] else {
                state.head += 1
                continue
            }
            // A claim still waiting for Kafka is never evicted.
            guard entry.pending == nil, state.seen.count > window.capacity || now - entry.at >= window.maxAge else { break }
            state.seen[key] = nil
            state.head += 1
        }
        if state.head > 1024 && state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}

/// The first copy of an event on its way to Kafka; later copies wait here.
public final class PendingClaim: Sendable {
    private struct State {
        var inKafka: Bool?
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private let state = Mutex(State())

    /// True once the first copy is in Kafka, false when its produce failed.
    public func outcome() async -> Bool {
        await withCheckedContinuation { continuation in
            let known = state.withLock { state -> Bool? in
                if state.inKafka == nil { state.waiters.append(continuation) }
                return state.inKafka
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    func resolve(inKafka: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard state.inKafka == nil else { return [] }
            state.inKafka = inKafka
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: inKafka) }
    }
}
