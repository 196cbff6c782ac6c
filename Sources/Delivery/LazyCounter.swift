import Metrics
import Synchronization

/// A counter looked up once, on its first increment: the hot path pays no
/// factory lookup per event, and `/metrics` lists a series only once it
/// counted something (as when the counter was made at each increment).
final class LazyCounter: Sendable {
    private let label: String
    private let dimensions: [(String, String)]
    private let counter = Mutex<Counter?>(nil)

    init(label: String, dimensions: [(String, String)] = []) {
        self.label = label
        self.dimensions = dimensions
    }

    func increment(by amount: Int = 1) {
        let counter = counter.withLock { counter in
            if let counter { return counter }
            let made = Counter(label: label, dimensions: dimensions)
            counter = made
            return made
        }
        counter.increment(by: amount)
    }
}
