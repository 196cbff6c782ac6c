import TestSupport
import Testing

/// libFuzzer over every parser of what callers send (scripts/fuzz-parsers):
/// 100,000 inputs grown from the fixtures, and not one crash, trap or hang.
@Suite("Parser fuzzing")
struct ParserFuzzingTests {
    @Test func oneHundredThousandInputsCrashNoParser() async throws {
        let result = try await runToCompletion(
            "/usr/bin/env", ["bash", repositoryRoot.appendingPathComponent("scripts/fuzz-parsers").path, "100000"], limit: .seconds(900))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Done 100000 runs"), "\(result.output)")
    }
}
