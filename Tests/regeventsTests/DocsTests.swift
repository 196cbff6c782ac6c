import Foundation
import TestSupport
import Testing

/// The docs run as written: every `$ ` example in README.md and docs/, in
/// order, against a real server, with its output compared with the page.
// Not `.machineHeavy`: it runs its examples one at a time (one server and its
// CLI calls), and it is the longest test, so it starts at once rather than
// after a queue of heavy suites.
@Suite("Docs run as written")
struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The fenced blocks of the README's "Quick start" section.
    static func quickStartBlocks() throws -> [String] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = readme.components(separatedBy: "## Quick start").dropFirst().first?
            .components(separatedBy: "\n## ").first ?? ""
        return section.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }
            .map { $0.element.split(separator: "\n", omittingEmptySubsequences: true).dropFirst().joined(separator: "\n") }
    }

    /// Runs scripts/docs-check with the regevents of this build. The README's
    /// tour is the first five minutes of a new user: its server runs as the
    /// README says, from an empty directory, and prints what the README shows;
    /// the first push reaches the first webhook and subscription.
    @Test func everyExampleInTheDocsRunsAsWritten() async throws {
        let binaryDirectory = RegeventsProcess.binary.deletingLastPathComponent().path
        // Minutes long: its output goes to a file, and the exit is awaited.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("docs-check-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let check = try ChildProcess(
            "/usr/bin/env", ["python3", "-u", Self.root.appendingPathComponent("scripts/docs-check").path, "--bin", binaryDirectory],
            standardOutput: output.path, standardError: nil)
        let status: Int32
        do {
            status = try await check.waitForExit(limit: .seconds(1200), killWhenLate: false)
        } catch {
            // SIGTERM first: docs-check then stops its server and whatever the page started.
            check.send(SIGTERM)
            _ = try? await check.waitForExit(limit: .seconds(60))
            throw error
        }
        let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(printed)")
    }

    /// The README's two commands are the ones CI runs: the first installs what
    /// the service links and runs it, the second installs the test
    /// dependencies and runs the suite.
    @Test func theQuickStartsTwoCommandsAreTheOnesCIRuns() throws {
        let blocks = try Self.quickStartBlocks()
        try #require(blocks.count >= 2, "the Quick start has its two commands")
        #expect(blocks[0].hasSuffix("&& swift run regevents serve"))
        #expect(blocks[1] == "scripts/install-test-deps.sh && swift test")
        let installer = try String(contentsOf: Self.root.appendingPathComponent("scripts/install-test-deps.sh"), encoding: .utf8)
        for package in ["librdkafka-dev", "libsqlite3-dev"] {
            #expect(blocks[0].contains(package))
            #expect(installer.contains(package), "the test dependencies include what serve links: \(package)")
        }
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        let commands = ci.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        #expect(commands.contains("scripts/install-test-deps.sh"))
        #expect(commands.contains("swift test"))
    }
}
