import ArgumentParser
import Foundation

/// The commands and options of `regevents` as ArgumentParser describes them
/// (its `--experimental-dump-help` JSON), read only when a command line fails
/// to parse: the names its errors are checked against and suggestions come from.
struct CommandTree: Decodable {
    struct Argument: Decodable {
        struct Name: Decodable {
            let kind: String
            let name: String

            /// How it is typed: `--name`, `-n` or `-name`.
            var spelling: String { kind == "long" ? "--\(name)" : "-\(name)" }
            var isShort: Bool { kind == "short" }
        }

        let kind: String
        let names: [Name]?
        let shouldDisplay: Bool
        let valueName: String?
        let allValues: [String]?

        /// A flag stands alone; an option takes the next word as its value.
        var takesValue: Bool { kind == "option" }
    }

    let commandName: String
    let aliases: [String]?
    let subcommands: [CommandTree]?
    let arguments: [Argument]?

    /// The whole command tree, from the root command's description of itself.
    static func of(_ root: any ParsableCommand.Type) -> CommandTree? {
        try? JSONDecoder().decode(Description.self, from: Data(root._dumpHelp().utf8)).command
    }

    private struct Description: Decodable {
        let command: CommandTree
    }

    /// Options ArgumentParser handles itself, on every command, without listing them.
    private static let builtInOptions: Set<String> = ["--experimental-dump-help", "--generate-completion-script"]

    func subcommand(named word: String) -> CommandTree? {
        subcommands?.first { $0.commandName == word || ($0.aliases ?? []).contains(word) }
    }

    func argument(spelled spelling: String) -> Argument? {
        arguments?.first { ($0.names ?? []).contains { $0.spelling == spelling } }
    }

    func knows(option spelling: String) -> Bool {
        if Self.builtInOptions.contains(spelling) || argument(spelled: spelling) != nil { return true }
        // Short flags run together (`-abc`) when each is a flag.
        guard !spelling.hasPrefix("--"), spelling.count > 2 else { return false }
        return spelling.dropFirst().allSatisfy { letter in
            argument(spelled: "-\(letter)").map { !$0.takesValue } ?? false
        }
    }

    /// The long names shown in help: what a misspelt option is compared with.
    var visibleLongOptions: [String] {
        (arguments ?? []).filter(\.shouldDisplay).flatMap { ($0.names ?? []).filter { !$0.isShort }.map(\.spelling) }
    }

    var subcommandNames: [String] { (subcommands ?? []).map(\.commandName) }
}
