import Synchronization

/// One deadline around a whole piece of outbound work.
///
/// AsyncHTTPClient's own deadline stops at the response head; a body that
/// never ends would hold its caller forever. Here the work and a timer race,
/// and the caller resumes with the first to finish: when the timer wins the
/// caller gets `nil` at once and the work is cancelled (AsyncHTTPClient then
/// drops the connection). The caller never waits for work that is slow to
/// notice its cancellation (a task group would).
public enum Deadline {
    public static func run<T: Sendable>(
        within duration: Duration, _ operation: @escaping @Sendable () async -> T
    ) async -> T? {
        let race = Race<T>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation)
                let work = Task { race.finish(await operation()) }
                let timer = Task {
                    try? await Task.sleep(for: duration)
                    race.finish(nil)
                }
                race.onFinish { work.cancel(); timer.cancel() }
            }
        } onCancel: {
            race.finish(nil)
        }
    }

    /// The first result wins; later ones are dropped.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T?, Never>?
            var result: T??
            var cleanup: (@Sendable () -> Void)?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T?, Never>) {
            let early = state.withLock { state -> T?? in
                guard let result = state.result else {
                    state.continuation = continuation
                    return nil
                }
                return result
            }
            if let early { continuation.resume(returning: early) }
        }

        func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
            let finished = state.withLock { state -> Bool in
                if state.result != nil { return true }
                state.cleanup = cleanup
                return false
            }
            if finished { cleanup() }
        }

        func finish(_ result: T?) {
            let (continuation, cleanup) = state.withLock { state -> (CheckedContinuation<T?, Never>?, (@Sendable () -> Void)?) in
                guard state.result == nil else { return (nil, nil) }
                state.result = .some(result)
                defer {
                    state.continuation = nil
                    state.cleanup = nil
                }
                return (state.continuation, state.cleanup)
            }
            continuation?.resume(returning: result)
            cleanup?()
        }
    }
}
