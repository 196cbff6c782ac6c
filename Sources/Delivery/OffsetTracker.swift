/// Out-of-order completion, in-order commit, for one partition.
///
/// Records start in offset order and may complete in any order; the offset
/// that may be committed is the lowest one not yet complete (or one past the
/// highest started when all are complete) — never the highest seen. So a
/// crash redelivers what was in flight instead of dropping it.
public struct OffsetTracker: Sendable, Equatable {
    private var inFlight: Set<Int64> = []
    private var nextAfterHighest: Int64?

    public init() {}

    public mutating func start(_ offset: Int64) {
        inFlight.insert(offset)
        nextAfterHighest = max(nextAfterHighest ?? offset + 1, offset + 1)
    }

    public mutating func complete(_ offset: Int64) {
        inFlight.remove(offset)
    }

    /// What to commit: the next offset to read after a restart; `nil` before
    /// anything started.
    public var committable: Int64? {
        if let lowest = inFlight.min() { return lowest }
        return nextAfterHighest
    }

    public var inFlightCount: Int { inFlight.count }
}
