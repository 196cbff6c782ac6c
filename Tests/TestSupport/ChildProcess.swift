import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A program the tests start, with its standard output and error going to
/// files. Started with `posix_spawn`, not Foundation's `Process`: on Linux
/// with Swift 6.3.1, `Process.run()` reads past a buffer while it lists
/// /proc/self/fd and crashes now and then in a suite that starts many
/// children (swift-corelibs-foundation#5472, fixed after 6.3.1); and a
/// blocking `Pipe` read traps when a signal interrupts it.
public final class ChildProcess: Sendable {
    public let processIdentifier: pid_t
    /// The exit code, or the number of the signal that ended it; nil while it runs.
    private let status = Mutex<Int32?>(nil)

    /// - Parameters:
    ///   - standardInput: a file to read, or nil for /dev/null.
    ///   - standardError: a file, or nil to share standard output's.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
        standardInput: String? = nil, standardOutput: String, standardError: String?
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, standardInput ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // The test process's own descriptors (sockets, Kafka's) stay with it.
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        // Signals as a fresh program has them: NIO ignores SIGPIPE in this process.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ChildProcessFailure("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        processIdentifier = pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later),
    /// which the Glibc module does not declare.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    public var isRunning: Bool { exitStatus() == nil }

    /// Reaps the child once it ended; nil while it runs.
    public func exitStatus() -> Int32? {
        status.withLock { known in
            if known == nil {
                var raw: Int32 = 0
                let reaped = waitpid(processIdentifier, &raw, WNOHANG)
                if reaped == processIdentifier {
                    // WIFEXITED: the low 7 bits are 0, and the code is in the next byte.
                    known = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
                } else if reaped == -1 && errno != EINTR {
                    known = -1  // not ours to wait for any more (ECHILD): gone
                }
            }
            return known
        }
    }

    public func send(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// The exit code (or ending signal); after `limit`, a failure (and SIGKILL
    /// unless `killWhenLate` is false).
    public func waitForExit(limit: Duration = .seconds(60), killWhenLate: Bool = true) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while true {
            if let status = exitStatus() { return status }
            guard ContinuousClock.now < deadline else {
                if killWhenLate { send(SIGKILL) }
                throw ChildProcessFailure("pid \(processIdentifier) did not exit within \(limit)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Nothing outlives its test: a child still running is killed and reaped.
    deinit {
        if exitStatus() == nil {
            kill(processIdentifier, SIGKILL)
            var raw: Int32 = 0
            while waitpid(processIdentifier, &raw, 0) == -1 && errno == EINTR {}
        }
    }
}

public struct ChildProcessFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
