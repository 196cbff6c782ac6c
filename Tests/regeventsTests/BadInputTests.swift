import Foundation
import TestSupport
import Testing

@Suite("Bad flags give one line naming the flag", .machineHeavy)
struct BadInputTests {
    @Test(arguments: [
        (["serve", "--listen", "nonsense"], "--listen"),
        (["serve", "--listen", "127.0.0.1:70000"], "--listen"),
        (["serve", "--partitions", "0"], "--partitions"),
        (["serve", "--topic-prefix", "no spaces"], "--topic-prefix"),
        (["serve", "--kafka-brokers", "not-a-broker-list"], "--kafka-brokers"),
        (["serve", "--kafka-property", "novalue"], "--kafka-property"),
        (["serve", "--kafka-property", "no.such.librdkafka.key=1", "--kafka-brokers", "127.0.0.1:1"], "--kafka-property"),
        (["serve", "--kafka-brokers", "127.0.0.1:1", "--kafka-startup-timeout", "1"], "--kafka-brokers"),
        (["broker", "--brokers", "0"], "--brokers"),
        (["serve", "--quay-registry-url", "quay.io"], "--quay-registry-url"),
        (["serve", "--dockerhub-registry-url", "https://user:pw@registry-1.docker.io/v2"], "--dockerhub-registry-url"),
        (["serve", "--quay-credentials-file", "/nonexistent/credentials"], "--quay-credentials-file"),
        (["serve", "--dockerhub-credentials-file", "/dev/null"], "--dockerhub-credentials-file"),
    ])
    func aBadValueFailsWithOneLineNamingItsFlag(_ arguments: [String], _ flag: String) async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("regevents-bad-\(UUID().uuidString)")
        let result = try await RegeventsProcess.run(arguments + (arguments.first == "serve" ? ["--data-dir", dataDirectory.path] : []))
        #expect(result.status != 0)
        let lines = result.errors.split(separator: "\n").filter { $0.hasPrefix("regevents: ") }
        #expect(lines.count == 1, "expected one error line, got: \(result.errors)")
        #expect(lines.first?.contains(flag) == true, "error does not name \(flag): \(result.errors)")
        #expect(!result.errors.contains("Fatal error"))
        #expect(!result.errors.contains("Stack dump"))
        #expect(!result.errors.contains("user:pw"), "a password given in a URL is not echoed")
    }

    @Test func topicsAgainstNoServerExplainsWhatToDo() async throws {
        let result = try await RegeventsProcess.run(["topics", "--server", "http://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.errors.contains("cannot reach the server at http://127.0.0.1:1"))
    }
}
