import Logging
import Metrics
import ServiceLifecycle
import Store
import Synchronization

/// Writes delivery-log entries behind the deliveries, in batches: an
/// attempt hands its entry over and goes on to settle; one writer task at a
/// time takes everything waiting and writes it in one transaction (a group
/// commit: the busier the dispatchers, the larger the batches), and trims
/// the touched webhooks' logs to `keep` entries at most once a second.
///
/// The log is an index for `list-events`, not the record of an attempt:
/// that is the attempt's `.deliveries` audit record in Kafka, which
/// settlement waits for. So delivery never waits for SQLite, and when the
/// database cannot keep up the oldest waiting entries are dropped (counted
/// in `regevents_delivery_log_dropped_total`) rather than holding memory.
public final class DeliveryLogWriter: Service, Sendable {
    public struct Settings: Sendable {
        /// Entries kept per webhook.
        public var keep: Int
        /// Entries written per transaction at most.
        public var maxBatch: Int = 1000
        /// Entries waiting at most; past it the oldest are dropped.
        public var maxPending: Int = 100_000
        /// How often a busy writer trims the logs it wrote to.
        public var trimInterval: Duration = .seconds(1)

        public init(keep: Int) {
            self.keep = keep
        }
    }

    private struct State {
        var pending: [DeliveryLogEntry] = []
        /// True while a writer task is draining `pending`.
        var writing = false
        /// Entries appended and entries written (or dropped) so far.
        var appended = 0
        var done = 0
        /// `flush()` callers, each waiting for `done` to reach its mark.
        var waiters: [(mark: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let store: any WebhookStore
    let settings: Settings
    let logger: Logger
    private let state = Mutex(State())
    private let dropped = LazyCounter(label: "regevents_delivery_log_dropped_total")

    public init(store: any WebhookStore, settings: Settings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// Hands `entry` over to be written soon; never waits.
    public func append(_ entry: DeliveryLogEntry) {
        let (startWriter, overflow) = state.withLock { state -> (Bool, Int) in
            state.pending.append(entry)
            state.appended += 1
            var overflow = 0
            if state.pending.count > settings.maxPending {
                overflow = state.pending.count - settings.maxPending
                state.pending.removeFirst(overflow)
                state.done += overflow
            }
            guard !state.writing else { return (false, overflow) }
            state.writing = true
            return (true, overflow)
        }
        if overflow > 0 {
            dropped.increment(by: overflow)
            logger.warning(
                "The delivery log falls behind; dropping its oldest waiting entries (the attempts are on .deliveries)",
                metadata: ["dropped": "\(overflow)"])
        }
        if startWriter { Task { await drain() } }
    }

    /// Returns once every entry appended before the call is written (or
    /// dropped): a ping shows in `list-events` as soon as it answers.
    public func flush() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                guard state.done < state.appended else { return true }
                state.waiters.append((state.appended, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Writes until nothing waits, then trims what it wrote to.
    private func drain() async {
        var touched: Set<WebhookKey> = []
        var lastTrim = ContinuousClock.now
        while true {
            let batch = state.withLock { state -> [DeliveryLogEntry] in
                let batch = Array(state.pending.prefix(settings.maxBatch))
                state.pending.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty {
                await trim(&touched)
                // Stop only if nothing came while trimming.
                let stopped = state.withLock { state -> Bool in
                    guard state.pending.isEmpty else { return false }
                    state.writing = false
                    return true
                }
                if stopped { return }
                continue
            }
            do {
                try await store.appendDeliveryLog(batch)
            } catch {
                dropped.increment(by: batch.count)
                logger.error("Cannot write the delivery log", metadata: ["error": "\(error)", "entries": "\(batch.count)"])
            }
            for entry in batch { touched.insert(WebhookKey(registry: entry.registry, webhook: entry.webhook)) }
            let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.done += batch.count
                let done = state.done
                let ready = state.waiters.filter { $0.mark <= done }.map(\.continuation)
                state.waiters.removeAll { $0.mark <= done }
                return ready
            }
            for continuation in ready { continuation.resume() }
            if ContinuousClock.now - lastTrim >= settings.trimInterval {
                await trim(&touched)
                lastTrim = .now
            }
        }
    }

    private func trim(_ touched: inout Set<WebhookKey>) async {
        guard !touched.isEmpty else { return }
        do {
            try await store.trimDeliveryLog(of: touched, keep: settings.keep)
        } catch {
            logger.error("Cannot trim the delivery log", metadata: ["error": "\(error)"])
        }
        touched.removeAll()
    }

    /// Waits for graceful shutdown, then for what is still waiting to be
    /// written. Run it before the dispatchers in a service group, so it
    /// stops after them.
    public func run() async throws {
        try? await gracefulShutdown()
        await flush()
    }
}
