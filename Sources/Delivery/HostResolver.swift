import Foundation
import NIOPosix
import Synchronization

/// Resolves host names for the target guard off Swift's cooperative pool.
///
/// `getaddrinfo` blocks; run on the cooperative pool, one slow resolver
/// would stall every task in the process (ingest included). Here it runs on
/// a small dedicated thread pool, one lookup per name at a time (concurrent
/// callers for the same name share it), and answers are cached for a TTL.
/// A name that resolved before keeps its last answer while it is looked up
/// again. A slow resolver therefore delays only new names, and a caller can
/// give up (its attempt deadline) without waiting for the lookup.
public final class HostResolver: Sendable {
    public static let shared = HostResolver()

    private enum Entry {
        case resolving([UInt64: CheckedContinuation<[IPAddress], any Error>])
        case resolved([IPAddress], expires: ContinuousClock.Instant, refreshing: Bool)
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let nextWaiter = Atomic<UInt64>(0)
    private let pool: NIOThreadPool
    /// How long an answer is reused (names with addresses).
    let positiveTTL: Duration
    /// How long "no such name" is reused.
    let negativeTTL: Duration
    /// The blocking lookup (the system's `getaddrinfo`; tests give their own
    /// resolver, e.g. one that answers differently each time).
    private let lookUpBlocking: @Sendable (String) -> [IPAddress]

    public init(
        threads: Int = 16, positiveTTL: Duration = .seconds(30), negativeTTL: Duration = .seconds(5),
        lookUp: @escaping @Sendable (String) -> [IPAddress] = HostResolver.getaddrinfo
    ) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.positiveTTL = positiveTTL
        self.negativeTTL = negativeTTL
        lookUpBlocking = lookUp
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// The addresses of `host` (a literal resolves to itself); empty when
    /// the name does not resolve. Throws `CancellationError` when the
    /// calling task is cancelled while waiting.
    public func resolve(_ host: String, now: ContinuousClock.Instant = .now) async throws -> [IPAddress] {
        if let literal = IPAddress(parsing: host) { return [literal] }
        let waiter = nextWaiter.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enum Step { case answer([IPAddress]), answerAndRefresh([IPAddress]), wait, lookUp }
                let step = entries.withLock { entries -> Step in
                    switch entries[host] {
                    case .resolved(let addresses, let expires, _) where expires > now:
                        return .answer(addresses)
                    case .resolved(let addresses, let expires, let refreshing) where !addresses.isEmpty:
                        // Stale while refreshing: a name that resolved keeps
                        // its last answer, so a slow resolver costs it nothing.
                        if refreshing { return .answer(addresses) }
                        entries[host] = .resolved(addresses, expires: expires, refreshing: true)
                        return .answerAndRefresh(addresses)
                    case .resolving(var waiters):
                        waiters[waiter] = continuation
                        entries[host] = .resolving(waiters)
                        return .wait
                    default:
                        entries[host] = .resolving([waiter: continuation])
                        return .lookUp
                    }
                }
                switch step {
                case .answer(let addresses): continuation.resume(returning: addresses)
                case .answerAndRefresh(let addresses):
                    continuation.resume(returning: addresses)
                    lookUp(host)
                case .wait: break
                case .lookUp: lookUp(host)
                }
            }
        } onCancel: {
            let cancelled = entries.withLock { entries -> CheckedContinuation<[IPAddress], any Error>? in
                guard case .resolving(var waiters) = entries[host], let continuation = waiters.removeValue(forKey: waiter) else {
                    return nil
                }
                entries[host] = .resolving(waiters)
                return continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    private func lookUp(_ host: String) {
        pool.submit { [self] _ in
            let addresses = lookUpBlocking(host)
            let ttl = addresses.isEmpty ? negativeTTL : positiveTTL
            let waiters = entries.withLock { entries -> [CheckedContinuation<[IPAddress], any Error>] in
                defer { entries[host] = .resolved(addresses, expires: .now + ttl, refreshing: false) }
                guard case .resolving(let waiters) = entries[host] else { return [] }
                return Array(waiters.values)
            }
            for waiter in waiters { waiter.resume(returning: addresses) }
        }
    }

    /// The blocking lookup; only ever called on the pool's threads.
    public static func getaddrinfo(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard Glibc.getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = IPAddress(sockaddr: info.pointee.ai_addr), !addresses.contains(address) { addresses.append(address) }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
