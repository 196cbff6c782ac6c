import Synchronization

/// Who waits for a produced record's delivery report: one `send`, or one
/// slot of a `send(contentsOf:)` batch.
enum DeliveryWaiter: Sendable {
    case single(CheckedContinuation<KafkaDeliveryReceipt, any Error>)
    case batch(BatchDelivery, index: Int)

    func resume(with result: Result<KafkaDeliveryReceipt, any Error>) {
        switch self {
        case .single(let continuation): continuation.resume(with: result)
        case .batch(let batch, let index): batch.complete(index, with: result)
        }
    }

    func resume(throwing error: any Error) {
        resume(with: .failure(error))
    }
}

/// The reports of a batch of records, gathered: its sender waits once for
/// all of them instead of once per record (a task and a continuation per
/// record were most of a busy producer's cost), or is called back when the
/// last one arrives, without waiting at all (`whenComplete`).
public final class BatchDelivery: Sendable {
    public typealias Results = [Result<KafkaDeliveryReceipt, any Error>]

    private struct State {
        var results: [Result<KafkaDeliveryReceipt, any Error>?]
        var remaining: Int
        var waiter: CheckedContinuation<Results, Never>?
        var observers: [@Sendable (Results) -> Void] = []
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    /// Records slot `index`'s outcome (only its first counts).
    func complete(_ index: Int, with result: Result<KafkaDeliveryReceipt, any Error>) {
        let ready = state.withLock { state -> (CheckedContinuation<Results, Never>?, [@Sendable (Results) -> Void], Results)? in
            guard state.results[index] == nil else { return nil }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, state.waiter != nil || !state.observers.isEmpty else { return nil }
            defer { (state.waiter, state.observers) = (nil, []) }
            return (state.waiter, state.observers, state.results.map { $0! })
        }
        // Called outside the lock: an observer may do work of its own.
        if let (waiter, observers, results) = ready {
            waiter?.resume(returning: results)
            for observer in observers { observer(results) }
        }
    }

    /// Calls `observer` with every slot's outcome, in order, once all are
    /// known: at once if they are, otherwise on the thread that delivers the
    /// last report (keep it short).
    public func whenComplete(_ observer: @escaping @Sendable (Results) -> Void) {
        let done = state.withLock { state -> Results? in
            guard state.remaining > 0 else { return state.results.map { $0! } }
            state.observers.append(observer)
            return nil
        }
        if let done { observer(done) }
    }

    /// Every slot's outcome, in order, once all are known.
    public func results() async -> Results {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> [Result<KafkaDeliveryReceipt, any Error>]? in
                guard state.remaining > 0 else { return state.results.map { $0! } }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}
