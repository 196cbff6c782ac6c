/// The producer's life: `started → finishing → finished`, the librdkafka
/// handle it produces with now, and the sends that wait for their delivery
/// report. Lives behind a lock; its methods return what the caller must do
/// once the lock is released (never call C or resume a continuation inside).
///
/// The handle is replaced, never mutated: after a fatal error the poll thread
/// builds a new one from the same configuration and installs it here; every
/// send uses whichever handle is current when it registers.
struct ProducerStateMachine {
    typealias Continuation = DeliveryWaiter

    enum State {
        case started
        /// Shutdown began: no new sends; reports still resolve pending ones.
        case finishing
        case finished
    }

    private(set) var state: State = .started
    /// The handle sends go to and the poll thread drains.
    private(set) var handle: ProducerHandle
    /// True from a fatal error on `handle` until a new handle replaces it.
    private var broken = false
    /// Failed attempts to build the replacement, for the poll thread's back-off.
    private var failedRecreations = 0
    /// How many times a fatal error replaced the handle.
    private(set) var recreations = 0
    /// Sends registered and not yet resolved. `handedOver` turns true once
    /// librdkafka took the record: only those are the broken handle's to fail,
    /// a send still being enqueued is refused by it and tried again.
    private var pending: [UInt: (continuation: Continuation, handedOver: Bool)] = [:]
    private var nextID: UInt = 1

    init(handle: ProducerHandle) {
        self.handle = handle
    }

    enum RegisterAction {
        case produce(id: UInt, on: ProducerHandle)
        case reject
    }

    mutating func register(_ continuation: Continuation) -> RegisterAction {
        guard case .started = state else { return .reject }
        let id = nextID
        nextID &+= 1
        if nextID == 0 { nextID = 1 }
        pending[id] = (continuation, false)
        return .produce(id: id, on: handle)
    }

    /// librdkafka took the record of `id`: from now on only its delivery
    /// report, a fatal error or the shutdown resolves it.
    mutating func handedOver(_ id: UInt) {
        pending[id]?.handedOver = true
    }

    /// The continuation waiting for `id`, removed; `nil` if it already resumed.
    mutating func complete(_ id: UInt) -> Continuation? {
        pending.removeValue(forKey: id)?.continuation
    }

    enum PollAction {
        /// Drain this handle's events.
        case poll(ProducerHandle)
        /// The current handle is broken: build a new one (after `failedAttempts`
        /// failures, wait first) and pass it to `recreated(_:)`, or call
        /// `recreationFailed()`.
        case recreate(broken: ProducerHandle, failedAttempts: Int)
        case terminate
    }

    mutating func nextPollAction() -> PollAction {
        switch state {
        case .finished: return .terminate
        case .started where broken: return .recreate(broken: handle, failedAttempts: failedRecreations)
        case .started, .finishing: return .poll(handle)
        }
    }

    enum FatalErrorAction {
        /// Fail these sends with the fatal error (and log it: this happens
        /// once per handle); `recreating` is false while shutting down.
        case fail([Continuation], recreating: Bool)
        /// Already handled (another report of the same error, an old handle).
        case none
    }

    /// A fatal error was raised on the handle of `generation`. Every send
    /// handed to that handle (the current one) can no longer be delivered:
    /// they all fail, once. A send registered but not yet handed over stays:
    /// the broken handle refuses it and its sender tries again. While
    /// started, the poll thread then replaces the handle (`nextPollAction`).
    mutating func fatalErrorRaised(onGeneration generation: Int) -> FatalErrorAction {
        guard handle.generation == generation, !broken else { return .none }
        switch state {
        case .started, .finishing:
            broken = true
            failedRecreations = 0
            let handed = pending.filter { $0.value.handedOver }
            for id in handed.keys { pending[id] = nil }
            return .fail(handed.values.map(\.continuation), recreating: state == .started)
        case .finished:
            return .none
        }
    }

    /// Installs the new handle; returns the old one for the caller to drop.
    mutating func recreated(_ newHandle: ProducerHandle) -> ProducerHandle {
        guard broken else { fatalError("a new producer handle arrived but the current one is not broken (state \(state))") }
        let old = handle
        handle = newHandle
        broken = false
        recreations += 1
        return old
    }

    mutating func recreationFailed() {
        failedRecreations += 1
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
        return takePending()
    }

    private mutating func takePending() -> [Continuation] {
        defer { pending = [:] }
        return pending.values.map(\.continuation)
    }

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    var inFlight: Int { pending.count }
}
