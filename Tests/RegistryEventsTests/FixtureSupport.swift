import Foundation

/// Real notification envelopes captured from a real Distribution registry
/// (see Tests/Fixtures/distribution/README.md), byte for byte.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/distribution")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Every envelope file, main scenarios and windows, except index.json.
    static func allEnvelopeFiles() throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory.path)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".json") && !path.hasSuffix("index.json") { files.append(path) }
        }
        return files.sorted()
    }
}
