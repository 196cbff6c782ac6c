import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL server of the tests' own: a fresh cluster in
/// /tmp/regevents-pg-XXXXXX on a free loopback port, without fsync, and gone
/// after `stop()`. initdb takes about a second and a database a fifth of one,
/// so tests share a cluster and each makes its own database: a suite's
/// (`.postgresCluster`, then `PostgresCluster.current`), or one a process
/// starts on first use and gives to `removeAtExit()`.
///
/// As root it runs initdb and postgres as the postgres user through setpriv
/// (both refuse root); setpriv execs, so the process it starts is the
/// postmaster itself.
public final class PostgresCluster: Sendable {
    /// The loopback port it listens on (unix sockets are off).
    public let port: Int
    /// Holds owner.pid, postgres.log (the server's output) and data/.
    public let directory: String
    private let installation: Installation
    /// The postmaster; nil while the server is stopped.
    private let server: Mutex<ChildProcess?>
    private let removed = Atomic<Bool>(false)

    private init(port: Int, directory: String, installation: Installation, server: ChildProcess) {
        self.port = port
        self.directory = directory
        self.installation = installation
        self.server = Mutex(server)
    }

    /// Whether initdb, postgres and psql are there (and, as root, setpriv and
    /// a postgres user).
    public static var isAvailable: Bool {
        if case .success = installation { true } else { false }
    }

    /// For `.enabled(if: PostgresCluster.shouldRun)`: without PostgreSQL a
    /// test is skipped, except under CI (CI set), where it runs and fails in
    /// `start()`, so a missing install cannot pass unnoticed.
    public static var shouldRun: Bool { isAvailable || isCI }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    /// Starts a throwaway cluster on a free loopback port, after removing
    /// those that test processes now gone left behind.
    public static func start() async throws -> PostgresCluster {
        try await start(tryingPortFirst: nil)
    }

    /// `firstPort` lets a test make the first attempt collide.
    static func start(tryingPortFirst firstPort: Int?) async throws -> PostgresCluster {
        let installation = try installation.get()
        sweepStaleClusters()
        let directory = try makeDirectory(ownedBy: installation.serverUser)
        do {
            let (program, arguments) = installation.command(
                "initdb",
                ["-D", directory + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=\(locale)", "--no-sync"])
            let initdb = try await runToCompletion(program, arguments, environment: childEnvironment, limit: .seconds(120))
            guard initdb.status == 0 else {
                throw PostgresClusterFailure("initdb failed (exit \(initdb.status)):\n\(initdb.output)")
            }
            // The port is free when chosen but may be taken before postgres
            // binds it; then postgres exits, and another port is tried.
            var attempt = 1
            while true {
                let port = try (attempt == 1 ? firstPort : nil) ?? unusedLoopbackPort()
                do {
                    let server = try await launch(installation, directory: directory, port: port)
                    return PostgresCluster(port: port, directory: directory, installation: installation, server: server)
                } catch is PortInUse where attempt < 10 {
                    attempt += 1
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// A fresh, empty database; its URL.
    public func createDatabase() async throws -> String {
        let name = "t_" + String(UInt64.random(in: .min ... .max), radix: 16)
        _ = try await psql("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// postgres://postgres@127.0.0.1:PORT/DATABASE?sslmode=disable
    public func url(database: String) -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs SQL through psql (a script: several statements, each on its own,
    /// the first error ends it and throws), for tests that poke at the server
    /// behind a client's back: pg_terminate_backend and the like.
    /// - Parameter database: a name, or a URL `createDatabase()` returned.
    /// - Returns: what it printed, unaligned, without headers or the final
    ///   newline: "1" for `SELECT 1`, one line a row, columns split by "|".
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        var environment = Self.childEnvironment
        environment["PGCONNECT_TIMEOUT"] = "10"
        let result = try await runToCompletion(
            installation.binaries + "/psql",
            ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres",
             "-d", database, "-f", "-"],
            input: sql, separateErrors: true, environment: environment, limit: .seconds(120))
        guard result.status == 0 else {
            throw PostgresClusterFailure("psql on \(database) failed (exit \(result.status)): \(result.errors)for: \(sql)")
        }
        var output = Substring(result.output)
        while output.last?.isNewline == true { output.removeLast() }
        return String(output)
    }

    /// Stops the server (fast shutdown) and keeps the data, for tests of
    /// what clients do while it is down; `startServer()` brings it back.
    public func stopServer() async {
        let running = server.withLock { current in
            defer { current = nil }
            return current
        }
        if let running { await Self.shutDown(running) }
    }

    /// Starts the stopped server again, with the same data on the same port.
    public func startServer() async throws {
        guard server.withLock({ $0 == nil }) else { return }
        guard !removed.load(ordering: .acquiring) else {
            throw PostgresClusterFailure("the cluster in \(directory) is stopped for good")
        }
        let started: ChildProcess
        do {
            started = try await Self.launch(installation, directory: directory, port: port)
        } catch is PortInUse {
            throw PostgresClusterFailure("port \(port) was taken while the server was down")
        }
        let kept = server.withLock { current in
            guard current == nil, !removed.load(ordering: .acquiring) else { return false }
            current = started
            return true
        }
        if !kept { await Self.shutDown(started) }
    }

    /// `stopServer()`, then `startServer()`: same port, same data.
    public func restart() async throws {
        await stopServer()
        try await startServer()
    }

    /// Fast shutdown, then the directory removed. Calls after the first
    /// return at once.
    public func stop() async {
        guard !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `stop()` for where nothing can be awaited (deinit): immediate shutdown
    /// (SIGQUIT, which ends the backends too; SIGKILL after 5 s), then the
    /// directory removed.
    public func stopImmediately() {
        guard !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let running = server.withLock { current in
            defer { current = nil }
            return current
        }
        if let running {
            running.send(SIGQUIT)
            let deadline = ContinuousClock.now + .seconds(5)
            while running.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
            // Still running, ChildProcess's deinit kills and reaps it.
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// For a cluster a whole test process shares and no test stops:
    /// `stopImmediately()` when the process exits normally (after a crash,
    /// the next run's sweep removes it).
    public func removeAtExit() {
        let isFirst = clustersRemovedAtExit.withLock { clusters in
            clusters.append(self)
            return clusters.count == 1
        }
        if isFirst {
            atexit { for cluster in clustersRemovedAtExit.withLock({ $0 }) { cluster.stopImmediately() } }
        }
    }

    /// A test that forgot `stop()` leaves no server behind.
    deinit { stopImmediately() }
}

private let clustersRemovedAtExit = Mutex<[PostgresCluster]>([])

public struct PostgresClusterFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// postgres could not bind its port: another process took it first.
private struct PortInUse: Error {}

// MARK: - The server process

extension PostgresCluster {
    /// Starts postgres on `port` and waits until it accepts connections.
    private static func launch(_ installation: Installation, directory: String, port: Int) async throws -> ChildProcess {
        let dataDirectory = directory + "/data"
        let log = directory + "/postgres.log"
        let logStart = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let (program, arguments) = installation.command(
            "postgres",
            ["-D", dataDirectory, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=300"])
        let server = try ChildProcess(program, arguments, environment: childEnvironment, standardOutput: log, standardError: nil)
        let printed = {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return String(text.utf8.dropFirst(logStart)) ?? text
        }
        let deadline = ContinuousClock.now + .seconds(60)
        do {
            while !isReady(dataDirectory: dataDirectory, postmaster: server.processIdentifier) {
                if !server.isRunning {
                    let output = printed()
                    if output.contains("could not bind") || output.contains("Address already in use") { throw PortInUse() }
                    throw PostgresClusterFailure("postgres on port \(port) exited before it was ready:\n\(output)")
                }
                guard ContinuousClock.now < deadline else {
                    throw PostgresClusterFailure("postgres on port \(port) was not ready within 60 s:\n\(printed())")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            return server
        } catch {
            await shutDown(server)
            throw error
        }
    }

    /// The eighth line of postmaster.pid turns "ready" once the server accepts
    /// connections (PostgreSQL 10 and later): cheaper than running pg_isready
    /// every few milliseconds.
    private static func isReady(dataDirectory: String, postmaster: pid_t) -> Bool {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else { return false }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.count >= 8 && lines[0] == "\(postmaster)" && lines[7].trimmingCharacters(in: .whitespaces) == "ready"
    }

    /// Fast shutdown (SIGINT: ends the sessions, checkpoints, exits); if it
    /// hangs, immediate shutdown (SIGQUIT), then SIGKILL.
    private static func shutDown(_ server: ChildProcess) async {
        for (signal, patience) in [(SIGINT, Duration.seconds(30)), (SIGQUIT, .seconds(5)), (SIGKILL, .seconds(5))] {
            server.send(signal)
            if await waitForExit(server, limit: patience) { return }
        }
    }

    /// Keeps waiting in a cancelled task too (sleeping without the task's
    /// help): a server left running outlives the test.
    private static func waitForExit(_ server: ChildProcess, limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while server.isRunning {
            guard ContinuousClock.now < deadline else { return false }
            do { try await Task.sleep(for: .milliseconds(5)) } catch { usleep(5_000) }
        }
        return true
    }

    /// A port nothing listens on now: the kernel's pick for a socket bound to
    /// port 0, closed again.
    private static func unusedLoopbackPort() throws -> Int {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw PostgresClusterFailure("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw PostgresClusterFailure("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The C.UTF-8 locale glibc always has; macOS has none by that name.
    private static var locale: String {
        #if os(Linux)
            "C.UTF-8"
        #else
            "C"
        #endif
    }

    /// The test process's environment without PGDATA, PGPORT, PGHOST and
    /// the like, which would point the programs elsewhere.
    private static let childEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
}

// MARK: - Cluster directories, and sweeping those left behind

extension PostgresCluster {
    /// All clusters live here (not in TMPDIR): the postgres user must reach
    /// them, and the sweep must find those of other test processes.
    private static let parentDirectory = "/tmp"
    private static let directoryPrefix = "regevents-pg-"

    /// A new directory with owner.pid, the test process's pid and start
    /// time, which tells `sweepStaleClusters()` whether its owner is gone.
    private static func makeDirectory(ownedBy serverUser: (uid: uid_t, gid: gid_t)?) throws -> String {
        var template = Array("\(parentDirectory)/\(directoryPrefix)XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PostgresClusterFailure("mkdtemp: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        do {
            let pid = getpid()
            try "\(pid)\n\(startTime(of: pid) ?? "")\n".write(toFile: directory + "/owner.pid", atomically: true, encoding: .utf8)
            // initdb, run as the postgres user, makes data/ in it (mode 700 from mkdtemp).
            if let serverUser, chown(directory, serverUser.uid, serverUser.gid) != 0 {
                throw PostgresClusterFailure("chown \(directory): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        return directory
    }

    /// Removes the clusters whose test process is gone. A postmaster
    /// outlives a test process that crashed or was killed (a death signal
    /// does not survive setpriv's change of user), and test processes run
    /// side by side, so only clusters whose owner is gone are touched.
    static func sweepStaleClusters() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parentDirectory) else { return }
        for name in names where name.hasPrefix(directoryPrefix) {
            let directory = "\(parentDirectory)/\(name)"
            if let alive = ownerIsAlive(directory) {
                if alive { continue }
            } else if age(of: directory) < 60 {
                continue  // no owner.pid yet: made a moment ago
            }
            stopStalePostmaster(dataDirectory: directory + "/data")
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Whether the process in owner.pid runs (nil without a readable
    /// owner.pid). A pid since given to a process with another start time
    /// counts as gone.
    private static func ownerIsAlive(_ directory: String) -> Bool? {
        guard let text = try? String(contentsOfFile: directory + "/owner.pid", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let pid = pid_t(lines[0]), pid > 0 else { return nil }
        if kill(pid, 0) == -1 && errno == ESRCH { return false }
        if lines.count > 1, !lines[1].isEmpty, let started = startTime(of: pid), started != lines[1] { return false }
        return true  // EPERM too: it runs, as another user
    }

    /// Ends a swept cluster's postmaster: immediate shutdown (SIGQUIT, which
    /// ends its backends too), SIGKILL after 5 s. Only while the pid's working
    /// directory is that data directory (the postmaster changes into it), as
    /// the pid may now be another process's. Without /proc (macOS) no signal:
    /// a postmaster whose postmaster.pid is gone shuts itself down within a
    /// minute.
    private static func stopStalePostmaster(dataDirectory: String) {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let pid = pid_t(text.prefix { $0 != "\n" }), pid > 0
        else { return }
        let runsThere = { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == dataDirectory }
        guard runsThere() else { return }
        kill(pid, SIGQUIT)
        let deadline = ContinuousClock.now + .seconds(5)
        while runsThere() && ContinuousClock.now < deadline { usleep(5_000) }
        if runsThere() { kill(pid, SIGKILL) }
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks
    /// since boot (nil without /proc).
    private static func startTime(of pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let endOfName = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: endOfName)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// Seconds since the directory last changed.
    private static func age(of directory: String) -> TimeInterval {
        guard let changed = (try? FileManager.default.attributesOfItem(atPath: directory))?[.modificationDate] as? Date
        else { return .infinity }
        return Date().timeIntervalSince(changed)
    }
}

// MARK: - Finding the binaries

extension PostgresCluster {
    /// Where the binaries are, and how to run the server's as its user.
    struct Installation: Sendable {
        let binaries: String
        /// setpriv and its options when root; empty otherwise.
        let asServerUser: [String]
        /// The postgres user, which must own the directory, when root.
        let serverUser: (uid: uid_t, gid: gid_t)?

        func command(_ program: String, _ arguments: [String]) -> (String, [String]) {
            let binary = "\(binaries)/\(program)"
            guard let setpriv = asServerUser.first else { return (binary, arguments) }
            return (setpriv, Array(asServerUser.dropFirst()) + [binary] + arguments)
        }
    }

    /// Looked for once: REGEVENTS_TEST_PG_BIN, else `pg_config --bindir`,
    /// else the newest /usr/lib/postgresql/*/bin (Debian's).
    static let installation: Result<Installation, PostgresClusterFailure> = {
        let chosen = ProcessInfo.processInfo.environment["REGEVENTS_TEST_PG_BIN"] ?? ""
        let candidates = chosen.isEmpty ? [pgConfigBinaries()].compactMap { $0 } + debianBinaries() : [chosen]
        let needed = ["initdb", "postgres", "psql"]
        guard let binaries = candidates.first(where: { directory in needed.allSatisfy { isExecutable("\(directory)/\($0)") } })
        else {
            return .failure(
                PostgresClusterFailure(
                    "PostgreSQL's \(needed.joined(separator: ", ")) are not in \(candidates.isEmpty ? "pg_config --bindir or /usr/lib/postgresql/*/bin" : candidates.joined(separator: " or ")): install the server (apt-get install postgresql) or set REGEVENTS_TEST_PG_BIN"
                ))
        }
        guard geteuid() == 0 else { return .success(Installation(binaries: binaries, asServerUser: [], serverUser: nil)) }
        guard let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first(where: isExecutable), let user = getpwnam("postgres")
        else {
            return .failure(
                PostgresClusterFailure("as root, initdb and postgres need setpriv (util-linux) and a postgres user to run as"))
        }
        return .success(
            Installation(
                binaries: binaries, asServerUser: [setpriv, "--reuid=postgres", "--regid=postgres", "--init-groups"],
                serverUser: (user.pointee.pw_uid, user.pointee.pw_gid)))
    }()

    /// What the pg_config on PATH says; waited for in place, since
    /// `.enabled(if:)` asks without awaiting.
    private static func pgConfigBinaries() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let pgConfig = path.split(separator: ":").map({ "\($0)/pg_config" }).first(where: isExecutable) else { return nil }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pg_config-\(UUID().uuidString)").path
        defer { unlink(output) }
        guard let child = try? ChildProcess(pgConfig, ["--bindir"], standardOutput: output, standardError: "/dev/null")
        else { return nil }
        let deadline = ContinuousClock.now + .seconds(10)
        while child.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        guard child.exitStatus() == 0, let printed = try? String(contentsOfFile: output, encoding: .utf8) else { return nil }
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// /usr/lib/postgresql/<version>/bin, newest first.
    private static func debianBinaries() -> [String] {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return versions.sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            .map { "/usr/lib/postgresql/\($0)/bin" }
    }

    private static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }
}

// MARK: - One cluster a suite

extension PostgresCluster {
    /// The cluster of the suite the test runs in, when the suite has the
    /// `.postgresCluster` trait.
    @TaskLocal public static var current: PostgresCluster?
}

/// Gives a suite one cluster for all its tests, `PostgresCluster.current`:
/// started before the first test and stopped after the last; each test makes
/// its own database with `createDatabase()`. On a single test, a cluster for
/// that test. Where PostgreSQL is not installed the suite is skipped, except
/// under CI (see `PostgresCluster.shouldRun`).
public struct PostgresClusterTrait: SuiteTrait, TestTrait, TestScoping {
    /// Once around the suite, not once a test.
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard PostgresCluster.shouldRun else {
            try Test.cancel("PostgreSQL is not installed (set REGEVENTS_TEST_PG_BIN to its bin directory)")
        }
        let cluster = try await PostgresCluster.start()
        do {
            try await PostgresCluster.$current.withValue(cluster) { try await function() }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// A PostgreSQL cluster the suite's tests share: `PostgresCluster.current`.
    public static var postgresCluster: Self { Self() }
}
