import Synchronization

/// One attempt at a time per key, in the order the turns were taken: how a
/// target with `ordering: perKey` receives one repository's events in order.
///
/// Turns are taken synchronously, in offset order, by the poll loop; the
/// delivery tasks then wait for their turn, whatever order they start in.
/// A turn that ends without a durable outcome (shutdown) stops its key: the
/// turns behind it end the same way, so nothing overtakes an event that will
/// be delivered again after a restart.
final class KeySequencer: Sendable {
    private struct Queue {
        var turns: [UInt64] = []
        var waiting: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var stopped = false
    }

    private struct State {
        var next: UInt64 = 0
        var queues: [String: Queue] = [:]
    }

    private let state = Mutex(State())

    struct Turn: Sendable {
        let key: String
        let id: UInt64
    }

    /// Takes the next turn for `key`; call in the order deliveries must happen.
    func take(_ key: String) -> Turn {
        state.withLock { state in
            state.next += 1
            state.queues[key, default: Queue()].turns.append(state.next)
            return Turn(key: key, id: state.next)
        }
    }

    /// Waits until `turn` is first in its key's line. False when the key was
    /// stopped by a turn before it (then call `finish(_:durable: false)`).
    func wait(_ turn: Turn) async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool? in
                guard let queue = state.queues[turn.key] else { return false }
                if queue.stopped { return false }
                if queue.turns.first == turn.id { return true }
                state.queues[turn.key]?.waiting[turn.id] = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Ends `turn`; the next one in line goes.
    func finish(_ turn: Turn, durable: Bool) {
        let next = state.withLock { state -> (CheckedContinuation<Bool, Never>, Bool)? in
            guard var queue = state.queues[turn.key] else { return nil }
            queue.turns.removeAll { $0 == turn.id }
            if !durable { queue.stopped = true }
            guard let head = queue.turns.first else {
                state.queues[turn.key] = nil
                return nil
            }
            let continuation = queue.waiting.removeValue(forKey: head)
            state.queues[turn.key] = queue
            return continuation.map { ($0, !queue.stopped) }
        }
        if let (continuation, go) = next { continuation.resume(returning: go) }
    }
}
