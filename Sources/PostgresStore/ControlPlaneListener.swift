import Foundation
import Logging
import PostgresNIO
import Store
import Synchronization

/// Follows every node's control-plane changes: `LISTEN` on one pooled
/// connection, each notification handed to the feed. After every (re)connect
/// it announces `.everything`, since changes made while it was not listening
/// were missed. A leased connection gets no keep-alive, so it checks itself:
/// every `pingInterval` it notifies a token through another connection and,
/// if that is not heard back within `pingTimeout`, starts again.
struct ControlPlaneListener: Sendable {
    let client: PostgresClient
    let channel: String
    let feed: StoreChangeBroadcast
    let logger: Logger
    /// Called each time it listens again (after connecting).
    var onListening: @Sendable () -> Void = {}
    var pingInterval: Duration = .seconds(10)
    var pingTimeout: Duration = .seconds(3)

    struct Stalled: Error, CustomStringConvertible {
        var description: String { "the listening connection stopped hearing its own notifications" }
    }

    struct Ended: Error, CustomStringConvertible {
        var description: String { "the listening connection closed" }
    }

    func run() async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        onListening()
                        feed.announce(.everything)
                        try await follow(notifications)
                    }
                }
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning(
                    "Lost the control-plane change listener; reconnecting (directories reload every 5 s meanwhile)",
                    metadata: ["error": "\(error)"])
            }
            // A connection that kept listening a while starts the back-off
            // afresh; one dropped at once (a proxy, a full server) backs off.
            if ContinuousClock.now - started > pingInterval { backoff = .milliseconds(100) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    private func follow(_ notifications: PostgresNotificationSequence) async throws {
        let heard = HeardTokens()
        // Other nodes ping on the same channel: only this listener's own tokens are kept.
        let prefix = "ping \(UUID().uuidString) "
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await notification in notifications {
                    if let change = StoreChange(rawValue: notification.payload) {
                        feed.announce(change)
                    } else if notification.payload.hasPrefix(prefix) {
                        heard.insert(notification.payload)
                    }
                }
                throw Ended()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: pingInterval)
                    let token = prefix + UUID().uuidString
                    // Bounded: a pool that cannot lend a connection is a stall too.
                    _ = try await withDeadline(pingTimeout, "the self-ping could not be sent") {
                        try await client.query("SELECT pg_notify(\(channel), \(token))", logger: logger)
                        return true
                    }
                    let deadline = ContinuousClock.now + pingTimeout
                    while !heard.take(token) {
                        guard ContinuousClock.now < deadline else { throw Stalled() }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}

/// The self-ping tokens the listener heard back.
private final class HeardTokens: Sendable {
    private let tokens = Mutex<Set<String>>([])

    func insert(_ token: String) { _ = tokens.withLock { $0.insert(token) } }

    /// Whether `token` was heard (and forgets it).
    func take(_ token: String) -> Bool { tokens.withLock { $0.remove(token) != nil } }
}
