/// One deadline around a whole piece of outbound work.
///
/// AsyncHTTPClient's own deadline stops at the response head; a body that
/// never ends would hold its caller forever. Racing the work against a
/// timer and cancelling the loser bounds everything: when the timer wins,
/// the work's task is cancelled (AsyncHTTPClient then drops the
/// connection) and the caller gets `nil` at once, without waiting for the
/// work to notice.
public enum Deadline {
    public static func run<T: Sendable>(
        within duration: Duration, _ operation: @escaping @Sendable () async -> T
    ) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                try? await Task.sleep(for: duration)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
