import ArgumentParser
import RegistryEvents

/// A command line ArgumentParser could not parse, said in one line like every
/// other CLI error (`regevents: …`, printed by the caller). ArgumentParser's
/// own report is a block of error, help and usage, and it names a misspelt
/// option only after complaining that the option it was meant to be is
/// missing; here the first unknown command or option is reported first, with
/// the closest valid name of that command.
struct UsageError {
    let message: String
    let exitCode: Int32

    init(_ error: any Error, arguments: [String], root: any ParsableCommand.Type = Regevents.self) {
        exitCode = root.exitCode(for: error).rawValue
        guard let tree = CommandTree.of(root) else {
            message = Self.firstLine(root.message(for: error))
            return
        }
        switch Self.scan(arguments, tree: tree) {
        case .mistake(let mistake):
            message = mistake
        case .command(let command):
            message = Self.rephrase(root.message(for: error), command: command)
        }
    }

    private enum Scan {
        /// An unknown command or option, already said.
        case mistake(String)
        /// The command the arguments reach, where ArgumentParser's error applies.
        case command(CommandTree)
    }

    /// Walks the arguments as ArgumentParser does: words pick subcommands
    /// while the command has some, options must be the command's own.
    private static func scan(_ arguments: [String], tree: CommandTree) -> Scan {
        var command = tree
        var path: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            index += 1
            if word == "--" { break }
            if isOption(word) {
                let spelling = String(word.prefix { $0 != "=" })
                guard command.knows(option: spelling) else {
                    if let suggestion = SpellingSuggestion.closest(to: spelling, among: command.visibleLongOptions) {
                        return .mistake("unknown option \(spelling) (did you mean \(suggestion)?)")
                    }
                    let help = (["regevents"] + path + ["--help"]).joined(separator: " ")
                    return .mistake("unknown option \(spelling) (see \(help))")
                }
                // Its value is not a subcommand name.
                if command.argument(spelled: spelling)?.takesValue == true, !word.contains("="), index < arguments.endIndex,
                    !isOption(arguments[index])
                {
                    index += 1
                }
                continue
            }
            guard !command.subcommandNames.isEmpty else { continue }
            guard let subcommand = command.subcommand(named: word) else {
                let names = command.subcommandNames
                let known = path.map { $0 + " " }.joined()
                if let suggestion = SpellingSuggestion.closest(to: word, among: names) {
                    return .mistake("unknown command \(known)\(word) (did you mean \(known)\(suggestion)?)")
                }
                return .mistake("unknown command \(known)\(word) (commands: \(names.joined(separator: ", ")))")
            }
            path.append(word)
            command = subcommand
        }
        return .command(command)
    }

    /// `-x`, `--name`, `--name=value`; not `-` (standard input) or a negative number.
    private static func isOption(_ word: String) -> Bool {
        word.hasPrefix("-") && word.count > 1 && Double(word) == nil
    }

    /// ArgumentParser's message (as of 1.8) in our words, naming the flag first.
    private static func rephrase(_ text: String, command: CommandTree) -> String {
        let line = firstLine(text)
        // The parts ArgumentParser puts in single quotes, in order.
        let quoted = line.split(separator: "'", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        func flag(_ synopsis: String) -> String { String(synopsis.prefix { $0 != " " }) }
        if line.hasPrefix("Missing value for '"), let synopsis = quoted.first {
            return "\(flag(synopsis)): missing value (expected \(synopsis))"
        }
        if line.hasPrefix("Missing expected argument '"), let synopsis = quoted.first {
            return synopsis.hasPrefix("<") ? "missing required argument \(synopsis)" : "missing required option \(synopsis)"
        }
        if line.hasPrefix("Missing one of: ") {
            return "missing one of the required options \(quoted.joined(separator: ", "))"
        }
        if line.hasPrefix("The value '"), quoted.count >= 2 {
            let (value, synopsis) = (quoted[0], quoted[1])
            let name = flag(synopsis)
            let detail = line.components(separatedBy: "'\(synopsis)'").dropFirst().joined()
            if detail.hasPrefix(": ") { return "\(name): invalid value \"\(value)\"\(detail)" }
            let choices = command.argument(spelled: name)?.allValues ?? []
            let expected = choices.isEmpty ? "" : " (expected \(choices.joined(separator: " or ")))"
            return "\(name): invalid value \"\(value)\"\(expected)"
        }
        if line.hasPrefix("The option '"), quoted.count >= 2 {
            return "\(quoted[0]): takes no value, got \"\(quoted[1])\""
        }
        if line.hasPrefix("Unexpected argument '") || line.contains(" unexpected arguments: ") {
            return "unexpected argument\(quoted.count > 1 ? "s" : "") \(quoted.joined(separator: " "))"
        }
        if line.hasPrefix("Unknown option '"), let name = quoted.first {
            return "unknown option \(name)"
        }
        return line
    }

    private static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: true).first ?? "invalid command line")
    }
}
