import Testing

@testable import RegistryEvents

/// The hand-written scanners accept exactly what the grammar's regular
/// expressions accept (kept here as the reference), on the edge cases and on
/// many generated strings, ASCII inputs compared one for one.
@Suite("Name and timestamp scanners match their grammars")
struct NameScannerTests {
    static func reference(_ text: String, _ regex: Regex<Substring>) -> Bool { text.wholeMatch(of: regex) != nil }

    static func referenceRepository(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255
            && name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
                $0.wholeMatch(of: #/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*/#) != nil
            }
    }
    static func referenceDigest(_ digest: String) -> Bool {
        guard digest.wholeMatch(of: #/[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+/#) != nil else { return false }
        return digest.hasPrefix("sha256:") ? digest.dropFirst(7).wholeMatch(of: #/[a-f0-9]{64}/#) != nil : true
    }

    /// Strings of up to `length` characters from `alphabet`, deterministic.
    static func generated(_ alphabet: [Character], count: Int, length: Int) -> [String] {
        var generator = SplitMix(seed: 42)
        return (0..<count).map { _ in
            String((0..<Int(generator.next() % UInt64(length + 1))).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        }
    }

    @Test func repositoriesAsTheGrammarSays() {
        let edges = [
            "hello", "library/hello", "a", "a/b/c", "team/app-1", "a__b", "a___b", "a.b", "a..b", "a-b", "a---b", "a_b", "a._b",
            "-a", "a-", "_a", "a_", ".a", "a.", "A", "library/Hello", "a//b", "/a", "a/", "", String(repeating: "a", count: 255),
            String(repeating: "a", count: 256), "é", "a/é",
        ]
        for name in edges + Self.generated(Array("ab0._-/A"), count: 20_000, length: 8) {
            #expect(OCINames.isValidRepository(name) == Self.referenceRepository(name), "\(name)")
        }
    }

    @Test func tagsAsTheGrammarSays() {
        let edges = ["v1", "latest", "_x", "V1.0-rc_1", ".x", "-x", "", String(repeating: "t", count: 128), String(repeating: "t", count: 129), "v1é", "a b"]
        for tag in edges + Self.generated(Array("aZ9._-:"), count: 20_000, length: 6) {
            #expect(OCINames.isValidTag(tag) == Self.reference(tag, #/[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}/#), "\(tag)")
        }
    }

    @Test func digestsAsTheGrammarSays() {
        let hex = String(repeating: "ab12", count: 16)
        let edges = [
            "sha256:\(hex)", "sha256:\(hex.uppercased())", "sha256:\(hex)0", "sha256:abc", "sha512:\(hex)\(hex)", "sha256+b64:AbC=",
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", "sha256", ":abc", "sha256:", "SHA256:\(hex)",
            "a..b:x", "a.+b:x", "a.b:x", "-a:x", "a-:x", "a:b:c", "a:b=_-", "é:x",
        ]
        for digest in edges + Self.generated(Array("a0.+-:=Z"), count: 20_000, length: 7) {
            #expect(OCINames.isValidDigest(digest) == Self.referenceDigest(digest), "\(digest)")
        }
    }

    @Test func registryNamesAndLocationsAsTheGrammarSays() {
        let edges = [
            "myregistry", "a", "a.b", "a-", "-a", "A_b-c.d", "", String(repeating: "r", count: 63), String(repeating: "r", count: 64), "é",
            "BAD..NAME", "a.-b", "a__b",
        ]
        for name in edges + Self.generated(Array("aZ0._-/"), count: 20_000, length: 6) {
            #expect(
                OCINames.isValidRegistryName(name)
                    == (name.utf8.count <= 63 && Self.reference(name, #/[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*/#)), "\(name)")
            #expect(OCINames.isValidLocation(name) == Self.reference(name, #/[A-Za-z0-9][A-Za-z0-9._-]{0,63}/#), "\(name)")
        }
        #expect(OCINames.isValidLocation(String(repeating: "l", count: 64)))
        #expect(!OCINames.isValidLocation(String(repeating: "l", count: 65)))
    }

    @Test func timestampsAsRFC3339Says() {
        let valid = [
            "2026-11-25T16:29:30Z", "2026-11-25T16:29:30.427944415Z", "2026-11-25T16:29:30+01:00", "2026-11-25T16:29:30.5-23:59",
            "2026-12-31T23:59:59Z",
        ]
        let invalid = [
            "2026-11-25t16:29:30Z", "2026-11-25T16:29:30z", "2026-11-25 16:29:30Z", "2026-13-25T16:29:30Z", "2026-00-25T16:29:30Z",
            "2026-11-32T16:29:30Z", "2026-11-25T24:00:00Z", "2026-11-25T16:60:30Z", "2026-11-25T16:29:60Z", "2026-11-25T16:29:30",
            "2026-11-25T16:29:30.Z", "2026-11-25T16:29:30+24:00", "2026-11-25T16:29:30+01:60", "2026-11-25T16:29:30+0100",
            "2026-11-25T16:29:30Zjunk", "2026-11-25T16:29:30+01:00:00", "26-11-25T16:29:30Z", "", "2026-11-25T16:29:3Z",
            "٢٠٢٦-11-25T16:29:30Z",
        ]
        for text in valid { #expect(Timestamps.isRFC3339(text), "\(text)") }
        for text in invalid { #expect(!Timestamps.isRFC3339(text), "\(text)") }
    }
}

/// A small deterministic generator (SplitMix64), so a failure repeats.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
