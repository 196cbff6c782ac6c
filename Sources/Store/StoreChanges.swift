import Synchronization

/// What changed in the control plane, as far as the in-memory directories
/// care: they reload the part named.
public enum StoreChange: String, Sendable, Hashable {
    case webhooks
    /// Event subscriptions or custom topics.
    case subscriptions
    /// Anything may have changed (a listener reconnected and missed some).
    case everything

    /// Whether a directory of `part` must reload.
    public func concerns(_ part: StoreChange) -> Bool { self == part || self == .everything }
}

/// Where a store announces its changes. Directories follow it so a change
/// made through any node sharing the store is used everywhere at once; the
/// periodic reload stays as the safety net.
public protocol StoreChangeFeed: Sendable {
    /// A new stream of the changes that concern `part`. It keeps one pending
    /// change, so a slow reader reloads once for a burst.
    func changes(of part: StoreChange) -> AsyncStream<StoreChange>
}

/// What a directory needs to follow a store: its announcements, which are
/// prompt, and its count of changes, which is exact.
public protocol FollowableStore: StoreChangeFeed {
    /// How many changes of `part` (`.webhooks` or `.subscriptions`) have
    /// been committed, through any node: counted in each write's own
    /// transaction. A directory loaded at a version at least this high has
    /// every change committed before the call; announcements may arrive
    /// later than a record ingested right after the change.
    func changeVersion(of part: StoreChange) async throws -> Int64
}

/// Hands every change to every current reader (one process's own writes, or
/// what a PostgreSQL listener heard).
public final class StoreChangeBroadcast: StoreChangeFeed {
    private struct Reader {
        var part: StoreChange
        var continuation: AsyncStream<StoreChange>.Continuation
    }

    private let readers = Mutex<[Int: Reader]>([:])
    private let nextReader = Atomic<Int>(0)

    public init() {}

    public func changes(of part: StoreChange) -> AsyncStream<StoreChange> {
        let id = nextReader.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: StoreChange.self, bufferingPolicy: .bufferingNewest(1))
        continuation.onTermination = { [weak self] _ in _ = self?.readers.withLock { $0.removeValue(forKey: id) } }
        readers.withLock { $0[id] = Reader(part: part, continuation: continuation) }
        return stream
    }

    public func announce(_ change: StoreChange) {
        for reader in readers.withLock({ Array($0.values) }) where change.concerns(reader.part) {
            reader.continuation.yield(change)
        }
    }

    /// Ends every stream (the store closed).
    public func finish() {
        for reader in readers.withLock({ Array($0.values) }) { reader.continuation.finish() }
    }
}
