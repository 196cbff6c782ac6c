import ArgumentParser
import Foundation

/// Parses and runs `regevents` as `AsyncParsableCommand.main()` would, except
/// that a command line that does not parse gets one `regevents: …` line on
/// standard error (exit 64) instead of ArgumentParser's block of error, help
/// and usage. `--help` and `--version` print as ArgumentParser prints them.
@main
enum EntryPoint {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try await Regevents.asyncParseAsRoot(arguments)
        } catch {
            // Help and version requests arrive as errors that exit 0.
            guard Regevents.exitCode(for: error) != .success else { Regevents.exit(withError: error) }
            let usage = UsageError(error, arguments: arguments)
            printError(usage.message)
            exit(usage.exitCode)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // Commands print their own failures (`reportingFailures`) and
            // throw the exit code; a parent command without `run` throws its help.
            Regevents.exit(withError: error)
        }
    }
}
