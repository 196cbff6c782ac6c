import Synchronization

/// Digests recently pushed as Helm charts. Distribution's delete event
/// carries only `{digest, repository}`, so this is how a delete is known to be
/// a `chart_delete`. Bounded; forgotten on restart (a chart deleted after a
/// restart is reported as a plain `delete`, as the docs say).
final class ChartDigests: Sendable {
    private let capacity: Int
    private let state = Mutex<(set: Set<String>, order: [String])>(([], []))

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func insert(_ digest: String) {
        state.withLock { state in
            guard state.set.insert(digest).inserted else { return }
            state.order.append(digest)
            if state.order.count > capacity {
                state.set.remove(state.order.removeFirst())
            }
        }
    }

    func contains(_ digest: String) -> Bool { state.withLock { $0.set.contains(digest) } }
}
