/// The producer's life: `started → finishing → finished`, and the sends that
/// wait for their delivery report. Lives behind a lock; its methods return what
/// the caller must do once the lock is released.
struct ProducerStateMachine {
    typealias Continuation = CheckedContinuation<KafkaDeliveryReceipt, any Error>

    enum State {
        case started
        /// Shutdown began: no new sends; reports still resolve pending ones.
        case finishing
        case finished
    }

    private(set) var state: State = .started
    private var pending: [UInt: Continuation] = [:]
    private var nextID: UInt = 1

    enum RegisterAction {
        case produce(id: UInt)
        case reject
    }

    mutating func register(_ continuation: Continuation) -> RegisterAction {
        guard case .started = state else { return .reject }
        let id = nextID
        nextID &+= 1
        if nextID == 0 { nextID = 1 }
        pending[id] = continuation
        return .produce(id: id)
    }

    /// The continuation waiting for `id`, removed; `nil` if it already resumed.
    mutating func complete(_ id: UInt) -> Continuation? {
        pending.removeValue(forKey: id)
    }

    /// True when this call started the shutdown.
    mutating func beginShutdown() -> Bool {
        guard case .started = state else { return false }
        state = .finishing
        return true
    }

    /// Ends the producer; returns the sends whose reports never came, to fail.
    mutating func finish() -> [Continuation] {
        state = .finished
        defer { pending = [:] }
        return Array(pending.values)
    }

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    var inFlight: Int { pending.count }
}
