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
/// record were most of a busy producer's cost).
final class BatchDelivery: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReceipt, any Error>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReceipt, any Error>], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    /// Records slot `index`'s outcome (only its first counts).
    func complete(_ index: Int, with result: Result<KafkaDeliveryReceipt, any Error>) {
        let ready = state.withLock { state -> (CheckedContinuation<[Result<KafkaDeliveryReceipt, any Error>], Never>, [Result<KafkaDeliveryReceipt, any Error>])? in
            guard state.results[index] == nil else { return nil }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.results.map { $0! })
        }
        if let (waiter, results) = ready { waiter.resume(returning: results) }
    }

    /// Empties slot `index` again (a fatal error failed it before
    /// librdkafka took its record, which is now sent again).
    func reopen(_ index: Int) {
        state.withLock { state in
            guard state.results[index] != nil else { return }
            state.results[index] = nil
            state.remaining += 1
        }
    }

    /// Every slot's outcome, in order, once all are known.
    func results() async -> [Result<KafkaDeliveryReceipt, any Error>] {
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
