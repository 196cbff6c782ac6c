import Foundation

/// The checkout the tests run from.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// What a finished program printed.
public struct Completed: Sendable {
    public let status: Int32
    /// Standard output, with standard error too unless it was kept apart.
    public let output: String
    /// Standard error when kept apart, else "".
    public let errors: String
}

/// Runs a program to its end, with `input` on its standard input; after
/// `limit` it is killed and the call fails.
public func runToCompletion(
    _ executable: String, _ arguments: [String], input: String? = nil, separateErrors: Bool = false,
    environment: [String: String] = ProcessInfo.processInfo.environment, limit: Duration = .seconds(600)
) async throws -> Completed {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
    let inputFile = scratch.appendingPathExtension("in")
    let outputFile = scratch.appendingPathExtension("out")
    let errorFile = scratch.appendingPathExtension("err")
    defer { for file in [inputFile, outputFile, errorFile] { try? FileManager.default.removeItem(at: file) } }
    if let input { try Data(input.utf8).write(to: inputFile) }
    let child = try ChildProcess(
        executable, arguments, environment: environment, standardInput: input == nil ? nil : inputFile.path,
        standardOutput: outputFile.path, standardError: separateErrors ? errorFile.path : nil)
    let status = try await child.waitForExit(limit: limit)
    let read = { (file: URL) in (try? String(contentsOf: file, encoding: .utf8)) ?? "" }
    return Completed(status: status, output: read(outputFile), errors: separateErrors ? read(errorFile) : "")
}

/// Runs `scripts/<name>` with the `python3` on PATH (where .ci/run installs
/// the independent checks).
public func runPythonScript(_ name: String, _ arguments: [String], input: String? = nil, separateErrors: Bool = false)
    async throws -> Completed
{
    try await runToCompletion(
        "/usr/bin/env", ["python3", repositoryRoot.appendingPathComponent("scripts/\(name)").path] + arguments, input: input,
        separateErrors: separateErrors)
}
