import Foundation
import Synchronization
import TestSupport
import Testing

/// The real `regevents` binary, started as a child process, with its standard
/// output read line by line so a test can wait for what it announces.
final class RegeventsProcess: Sendable {
    private let process: ChildProcess
    /// Standard output and error go to files, read as they grow: pipes read by
    /// handlers lost tails under load, and files are complete once the process exits.
    private let outputFile: URL
    private let errorFile: URL

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["REGEVENTS_BINARY"] { return URL(fileURLWithPath: path) }
        // The test bundle sits next to the products of the same build.
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let sibling = bundle.appendingPathComponent("regevents")
        if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/regevents")
    }

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        var env = ProcessInfo.processInfo.environment
        env["REGEVENTS_LOG_LEVEL"] = env["REGEVENTS_LOG_LEVEL"] ?? "warning"
        for (key, value) in environment { env[key] = value }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-process-\(UUID().uuidString)")
        outputFile = scratch.appendingPathExtension("out")
        errorFile = scratch.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process = try ChildProcess(
            Self.binary.path, arguments, environment: env, standardOutput: outputFile.path, standardError: errorFile.path)
    }

    deinit {
        process.send(SIGTERM)
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// The complete lines written to standard output so far.
    var output: [String] {
        let text = String(decoding: (try? Data(contentsOf: outputFile)) ?? Data(), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // after the last newline: empty, or a line still being written
        return lines
    }

    var standardError: String { String(decoding: (try? Data(contentsOf: errorFile)) ?? Data(), as: UTF8.self) }
    var isRunning: Bool { process.isRunning }
    var processIdentifierForCleanup: Int32 { process.processIdentifier }

    /// Waits for a line of standard output containing `text`.
    func waitForLine(containing text: String, limit: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let line = output.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning, output.first(where: { $0.contains(text) }) == nil {
                throw ProcessFailure("regevents exited (\(process.exitStatus() ?? -1)) before printing \"\(text)\"; stderr: \(standardError)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("no line containing \"\(text)\" within \(limit); output: \(output); stderr: \(standardError)")
    }

    /// Sends `signal` and waits for the exit; returns the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, limit: Duration = .seconds(30)) async throws -> Int32 {
        process.send(signal)
        return try await waitForExit(limit: limit)
    }

    func waitForExit(limit: Duration = .seconds(60)) async throws -> Int32 {
        do {
            return try await process.waitForExit(limit: limit)
        } catch let failure as ChildProcessFailure {
            throw ProcessFailure("regevents did not exit: \(failure)")
        }
    }

    /// Runs a short command to completion and returns (status, stdout lines, stderr).
    static func run(_ arguments: [String], environment: [String: String] = [:], limit: Duration = .seconds(60))
        async throws -> (status: Int32, output: [String], errors: String)
    {
        let process = try RegeventsProcess(arguments, environment: environment)
        let status = try await process.waitForExit(limit: limit)
        return (status, process.output, process.standardError)
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A running `regevents serve` on the embedded cluster, on a free port.
struct RunningServer {
    let process: RegeventsProcess
    let baseURL: String
    let bootstrapServers: String
    let dataDirectory: URL

    static func start(extraArguments: [String] = [], environment: [String: String] = [:]) async throws -> RunningServer {
        var dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-e2e-\(UUID().uuidString)")
        var arguments = extraArguments
        if let index = arguments.firstIndex(of: "--data-dir"), index + 1 < arguments.count {
            dataDirectory = URL(fileURLWithPath: arguments[index + 1])
            arguments.removeSubrange(index...(index + 1))
        }
        // A node on PostgreSQL has no data directory (serve refuses both).
        let onPostgres = arguments.contains("--database-url") || environment.keys.contains { $0.hasPrefix("REGEVENTS_DATABASE_URL") }
        let store = onPostgres ? [] : ["--data-dir", dataDirectory.path]
        let process = try RegeventsProcess(["serve", "--listen", "127.0.0.1:0"] + store + arguments, environment: environment)
        let listening = try await process.waitForLine(containing: "listening on http://")
        let baseURL = String(listening[listening.range(of: "http://")!.lowerBound...])
        let kafkaLine = try await process.waitForLine(containing: "Kafka")
        let bootstrap = String(kafkaLine.split(separator: " ").last ?? "")
        return RunningServer(process: process, baseURL: baseURL, bootstrapServers: bootstrap, dataDirectory: dataDirectory)
    }
}

/// Runs a program other than regevents (kcat) to completion.
func runTool(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> (status: Int32, output: String) {
    let candidates = ["/usr/bin/\(executable)", "/usr/local/bin/\(executable)", "/bin/\(executable)"]
    guard let path = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
        throw ProcessFailure("\(executable) is not installed (.ci/run installs it: apt-get install -y \(executable))")
    }
    let result = try await runToCompletion(path, arguments, input: input)
    return (result.status, result.output)
}


/// Reads a topic from the beginning (with `regevents tail`) until it holds
/// `text`; "" if it never does within 30 s.
func tailUntil(_ server: RunningServer, topic: String, containing text: String) async throws -> String {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let result = try await RegeventsProcess.run([
            "tail", "--server", server.baseURL, "--topic", topic, "--from-beginning", "--exit-at-end",
        ])
        let output = result.output.joined(separator: "\n")
        if output.contains(text) { return output }
        try await Task.sleep(for: .milliseconds(200))
    }
    return ""
}
