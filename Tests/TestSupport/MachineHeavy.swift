import Foundation
import Testing

/// For suites whose tests start `regevents` processes, Kafka clusters or
/// PostgreSQL: at most `MachineHeavyGate.width` of their tests run at once.
///
/// Swift Testing starts every test of the process together. On CI's two
/// cores that was 30 `regevents` processes, 2,000 threads and a load of 38 in
/// the first minute, and tests that do nothing slow (opening a PostgreSQL
/// store) ran past their 60 s deadlines. A test under two gated scopes (a
/// gated test in a gated suite) holds one slot: the inner scope runs through.
/// (It is a `TestTrait` too: Swift Testing gives a recursive suite trait to
/// the suite's test functions, which take only test traits.)
public struct MachineHeavyTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        if MachineHeavyGate.holdsSlot { return try await function() }
        try await MachineHeavyGate.shared.withSlot { try await MachineHeavyGate.$holdsSlot.withValue(true) { try await function() } }
    }
}

extension Trait where Self == MachineHeavyTrait {
    /// Runs each test of the suite in one of the machine's few heavy slots.
    public static var machineHeavy: Self { Self() }
}

/// A counting gate, first come first served.
public actor MachineHeavyGate {
    public static let shared = MachineHeavyGate(width: defaultWidth)
    /// Whether the running task is inside a slot already.
    @TaskLocal static var holdsSlot = false

    /// Two per core, and `REGEVENTS_TEST_HEAVY_WIDTH` overrides it.
    static var defaultWidth: Int {
        if let value = ProcessInfo.processInfo.environment["REGEVENTS_TEST_HEAVY_WIDTH"].flatMap(Int.init), value > 0 {
            return value
        }
        return max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
    }

    public let width: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) { self.width = width }

    public func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    private func acquire() async {
        if running < width {
            running += 1
            return
        }
        // The slot passes straight from the releasing test to this one.
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
