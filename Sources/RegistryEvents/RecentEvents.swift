import Foundation
import Synchronization

/// Remembers recently ingested event ids per registry, so an envelope a
/// registry re-sends (it retries whatever it believes failed) is not produced
/// twice. Bounded in size and age; an id is claimed before producing and
/// released if producing fails, so a retry after a failure still goes through.
///
/// Guarantee: within the window (both its size and its age), one process
/// produces an event id at most once. Not guaranteed: across restarts, across
/// several servers, or after the window has moved on.
public final class RecentEvents: Sendable {
    public struct Window: Sendable, Hashable {
        public var capacity: Int
        public var maxAge: Duration
        public init(capacity: Int = 100_000, maxAge: Duration = .seconds(3600)) {
            self.capacity = capacity
            self.maxAge = maxAge
        }
    }

    private struct State {
        var seen: [String: ContinuousClock.Instant] = [:]
        var order: [String] = []
        var head = 0
    }

    private let window: Window
    private let state = Mutex(State())

    public init(window: Window = Window()) {
        self.window = window
    }

    /// True when the id was not seen within the window; it is then claimed.
    public func claim(registry: String, id: String, now: ContinuousClock.Instant = .now) -> Bool {
        let key = "\(registry)\u{0}\(id)"
        return state.withLock { state in
            evict(&state, now: now)
            if let seenAt = state.seen[key], now - seenAt < window.maxAge { return false }
            state.seen[key] = now
            state.order.append(key)
            return true
        }
    }

    /// Gives a claimed id back (its produce failed).
    public func release(registry: String, id: String) {
        _ = state.withLock { $0.seen.removeValue(forKey: "\(registry)\u{0}\(id)") }
    }

    public var count: Int { state.withLock { $0.seen.count } }

    private func evict(_ state: inout State, now: ContinuousClock.Instant) {
        while state.head < state.order.count {
            let key = state.order[state.head]
            guard let seenAt = state.seen[key] else {
                state.head += 1
                continue
            }
            guard state.seen.count > window.capacity || now - seenAt >= window.maxAge else { break }
            state.seen[key] = nil
            state.head += 1
        }
        if state.head > 1024 && state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
