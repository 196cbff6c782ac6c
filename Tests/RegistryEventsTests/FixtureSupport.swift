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

    /// Fixtures of what a receiver sends back (Docker Hub's legacy callback), not of a webhook.
    static func isNoWebhookBody(_ name: String) -> Bool { name.hasPrefix("docs-callback") }

    /// A registry's fixtures (`Tests/Fixtures/<registry>/`): every body, with
    /// its headers (`<name>.headers.json` beside it, names lower-cased) when it has them.
    static func adapterFixtures(_ registry: String) throws -> [(name: String, body: [UInt8], headers: [String: String])] {
        let root = directory.deletingLastPathComponent().appendingPathComponent(registry)
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var found: [(String, [UInt8], [String: String])] = []
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix(".json"), !path.hasSuffix(".headers.json"), !path.hasPrefix("headers/") else { continue }
            let body = Array(try Data(contentsOf: root.appendingPathComponent(path)))
            var headers: [String: String] = [:]
            let headersFile = root.appendingPathComponent(String(path.dropLast(".json".count)) + ".headers.json")
            if let data = try? Data(contentsOf: headersFile), let object = try JSONSerialization.jsonObject(with: data) as? [String: String] {
                for (name, value) in object { headers[name.lowercased()] = value }
            }
            found.append((path, body, headers))
        }
        return found.sorted { $0.0 < $1.0 }
    }
}
