import Foundation
import TestSupport
import Testing

/// ArgumentParser's own errors, through the real binary: one `regevents: …`
/// line on standard error, exit 64, nothing on standard output.
@Suite("A command line that does not parse gets one line", .machineHeavy)
struct UsageErrorTests {
    /// The one line on standard error, after checking it is the only output.
    private func oneLine(_ arguments: [String]) async throws -> String {
        let result = try await RegeventsProcess.run(arguments)
        #expect(result.status == 64, "exit status \(result.status); stderr: \(result.errors)")
        #expect(result.output.isEmpty, "stdout: \(result.output)")
        let lines = result.errors.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 2 && lines[1].isEmpty, "expected exactly one line, got: \(result.errors)")
        let line = lines.first ?? ""
        #expect(line.hasPrefix("regevents: "), "\(line)")
        return line
    }

    @Test func aMisspeltOptionIsReportedBeforeTheRequiredOneItWasMeantToBe() async throws {
        let line = try await oneLine(["subscription", "create", "--registry", "r", "--name", "sub1", "--endpont", "https://x.example"])
        #expect(line == "regevents: unknown option --endpont (did you mean --endpoint?)")
    }

    @Test func anUnknownOptionWithNothingCloseNamesTheHelpToRead() async throws {
        let line = try await oneLine(["webhook", "list", "-r", "r", "--frobnicate"])
        #expect(line == "regevents: unknown option --frobnicate (see regevents webhook list --help)")
    }

    @Test func anOptionWithoutItsValueIsNamed() async throws {
        let line = try await oneLine(["webhook", "create", "-r", "r", "--uri", "https://x.example", "--actions", "push", "--name"])
        #expect(line == "regevents: --name: missing value (expected --name <name>)")
    }

    @Test func anUnknownSubcommandSuggestsTheClosest() async throws {
        #expect(try await oneLine(["webhok", "list"]) == "regevents: unknown command webhok (did you mean webhook?)")
        #expect(try await oneLine(["webhook", "lsit"]) == "regevents: unknown command webhook lsit (did you mean webhook list?)")
        let far = try await oneLine(["frobnicate"])
        #expect(far.hasPrefix("regevents: unknown command frobnicate (commands: serve, broker, "))
    }

    @Test func aMissingRequiredOptionIsNamed() async throws {
        let line = try await oneLine(["webhook", "create", "-r", "r", "--uri", "https://x.example", "--actions", "push"])
        #expect(line == "regevents: missing required option --name <name>")
    }

    @Test func aValueOutsideTheChoicesListsThem() async throws {
        let line = try await oneLine(["webhook", "list", "-r", "r", "--output", "xml"])
        #expect(line == "regevents: --output: invalid value \"xml\" (expected json or table)")
    }

    @Test func aValidationFailureKeepsItsLine() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-usage-\(UUID().uuidString)")
        let line = try await oneLine(["serve", "--listen", "nonsense", "--data-dir", dataDirectory.path])
        #expect(line == "regevents: --listen: expected host:port (e.g. 127.0.0.1:8080), got \"nonsense\"")
    }

    @Test(arguments: [["--help"], ["webhook", "create", "--help"], ["help", "subscription"], ["webhook", "create", "-h", "--endpont"]])
    func helpStillPrintsToStandardOutput(_ arguments: [String]) async throws {
        let result = try await RegeventsProcess.run(arguments)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains { $0.hasPrefix("USAGE: regevents") }, "\(result.output)")
        #expect(result.errors.isEmpty)
    }

    @Test func versionStillPrints() async throws {
        let result = try await RegeventsProcess.run(["--version"])
        #expect(result.status == 0)
        #expect(result.output.count == 1 && result.output.first?.isEmpty == false)
    }
}
