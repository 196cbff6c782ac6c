import ArgumentParser
import Foundation
import Logging
import RegistryEvents

/// Values from `REGEVENTS_*` environment variables, used where a flag was not given.
enum EnvironmentDefaults {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// A failure reported as one line on standard error, exit status 1 (64 for
/// usage errors), with no stack trace.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var exitCode: Int32 = 1

    var description: String { message }
}

/// Runs a command body, printing any failure as one `regevents: …` line.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CommandFailure {
        printError(error.message)
        throw ExitCode(error.exitCode)
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("regevents: \(message)\n".utf8))
}

/// Prints a line to standard output and flushes it, so a reader on a pipe
/// (a test, a supervisor) sees it at once.
func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Logs go to standard error so standard output stays for results.
enum LoggingSetup {
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case json, table

    /// Table for a terminal, JSON for a pipe.
    static var automatic: OutputFormat { isatty(STDOUT_FILENO) != 0 ? .table : .json }
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Base URL of a running `regevents serve` (env REGEVENTS_SERVER; default http://127.0.0.1:8080).")
    var server: String?

    var baseURL: String {
        let url = server ?? EnvironmentDefaults.value("REGEVENTS_SERVER") ?? "http://127.0.0.1:8080"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}

/// The CLI checks names by the server's rules before it sends anything.
enum CLINames {
    static func check(_ kind: ResourceName, _ name: String, flag: String) throws {
        if let problem = kind.problem(with: name) { throw CommandFailure(message: "\(flag): \(problem)", exitCode: 64) }
    }
}
