import Foundation
import Logging
import ServiceLifecycle

/// Runs the application so that a graceful shutdown (SIGTERM, SIGINT)
/// takes at most `timeout`: past it, the services are cancelled, in-flight
/// attempts are abandoned with their records uncommitted (they are
/// delivered again after a restart), and should anything still hang, the
/// process exits 0 a few seconds later. Under Kubernetes' 30 s grace
/// period by default (25 s).
enum BoundedShutdown {
    static func run(_ app: some Service, timeout: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = timeout
        configuration.maximumCancellationDuration = .seconds(3)
        let watchdog = ShutdownWatchdog.arm(after: timeout + .seconds(4), on: [SIGTERM, SIGINT], logger: logger)
        try await ServiceGroup(configuration: configuration).run()
        withExtendedLifetime(watchdog) {}
    }
}

/// The last resort: once a shutdown signal arrived, exits 0 after `after`
/// even if something ignored cancellation. Nothing acknowledged is lost by
/// it: what was not committed is read again.
enum ShutdownWatchdog {
    /// Keep the returned sources alive while the watchdog should work.
    static func arm(after: Duration, on signals: [Int32], logger: Logger) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "regevents.shutdown-watchdog")
        let seconds = Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18
        return signals.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                queue.asyncAfter(deadline: .now() + seconds) {
                    logger.warning("Shutdown took too long; exiting now (uncommitted records are delivered again after a restart)")
                    exit(0)
                }
            }
            source.resume()
            return source
        }
    }
}
