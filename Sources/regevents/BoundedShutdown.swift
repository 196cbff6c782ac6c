import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the application so that a graceful shutdown (SIGTERM, SIGINT)
/// takes at most `timeout`: past it, the services are cancelled, in-flight
/// attempts are abandoned with their records uncommitted (they are
/// delivered again after a restart), and the process exits 0; should
/// anything still hang, a watchdog exits 0 a few seconds later. Under
/// Kubernetes' 30 s grace period by default (25 s).
enum BoundedShutdown {
    /// - Parameter services: started in order, shut down in reverse.
    static func run(_ services: [any Service], timeout: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.maximumGracefulShutdownDuration = timeout
        // No cancellation deadline: ServiceGroup would trap; the watchdog
        // below exits 0 instead if cancellation is slow.
        configuration.maximumCancellationDuration = nil
        let group = ServiceGroup(configuration: configuration)
        let requested = Atomic<Bool>(false)
        // One owner of the signals: it starts the graceful shutdown and arms the watchdog.
        let queue = DispatchQueue(label: "regevents.shutdown")
        let grace = Double(timeout.components.seconds) + 4
        let sources = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                guard !requested.exchange(true, ordering: .relaxed) else { return }
                logger.info("Shutting down", metadata: ["signal": "\(number)", "timeout": "\(timeout)"])
                Task { await group.triggerGracefulShutdown() }
                queue.asyncAfter(deadline: .now() + grace) {
                    logger.warning("Shutdown took too long; exiting now (uncommitted records are delivered again after a restart)")
                    exit(0)
                }
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        do {
            try await group.run()
        } catch where requested.load(ordering: .relaxed) {
            // The shutdown outlasted its timeout and was cancelled: expected, not a failure.
            logger.notice("Shutdown cut short at --shutdown-timeout", metadata: ["reason": "\(error)"])
        }
    }
}
