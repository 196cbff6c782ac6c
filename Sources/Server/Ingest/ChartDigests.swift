import RegistryEvents
import Synchronization

/// Charts recently pushed, by digest. Distribution's delete event carries
/// only `{digest, repository}`, so this is how a delete is known to be a
/// `chart_delete`, with the chart's name and version. Bounded; forgotten on
/// restart (a chart deleted after a restart is reported as a plain `delete`,
/// as the docs say).
final class ChartDigests: Sendable {
    private let capacity: Int
    private let state = Mutex<(charts: [String: KnownChart], order: [String])>(([:], []))

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func remember(_ event: RegistryEvent) {
        guard event.action == .chartPush, let digest = event.target.digest, let chart = KnownChart(event) else { return }
        state.withLock { state in
            if state.charts.updateValue(chart, forKey: digest) == nil { state.order.append(digest) }
            if state.order.count > capacity {
                state.charts[state.order.removeFirst()] = nil
            }
        }
    }

    func chart(for digest: String) -> KnownChart? { state.withLock { $0.charts[digest] } }
}
