import Foundation
import RegistryEvents
import Testing

/// The hand-written parser must read JSON exactly as `JSONDecoder` does.
@Suite("JSONValue parses JSON text in one pass, as JSONDecoder reads it")
struct JSONValueParserTests {
    /// The reference: `JSONDecoder` into `JSONValue`'s `Decodable` form.
    func reference(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func edgeCasesAgreeWithJSONDecoder() {
        let cases = [
            "{}", "[]", "null", "true", "false", "0", "-0", "1", "-1", "12.5", "1e3", "1E+3", "1e-3", "-0.0e0", "123456789012345678",
            "\"\"", "\"a\"", "\"a\\\"b\"", "\"\\\\\"", "\"\\/\"", "\"\\b\\f\\n\\r\\t\"", "\"\\u0041\"", "\"\\u00e9\"", "\"é\"",
            "\"\\ud83d\\ude00\"", "\"😀\"", " { \"a\" : [ 1 , 2 , { \"b\" : null } ] } ", "{\"a\":1,\"a\":2}",
            "[1,[2,[3,[4]]]]", "{\"data\":{\"target\":{\"size\":3023,\"tag\":\"v1\"}}}",
            // Not JSON.
            "", " ", "{", "}", "[", "{a:1}", "'a'", "01", "1.", ".5", "+1", "1e", "--1", "tru", "nul", "[1 2]",
            "{\"a\" 1}", "\"abc", "\"\\x\"", "\"\\u12\"", "\"a\u{01}b\"", "[1]]", "{} {}", "NaN", "Infinity", "1e999",
            "\"\\udc00\"",
        ]
        for text in cases {
            #expect(JSONValue(parsing: Array(text.utf8)) == reference(text), "\(text.debugDescription)")
        }
    }

    /// JSONDecoder takes a trailing comma; RFC 8259 (and we) do not.
    @Test func aTrailingCommaIsNotJSON() {
        for text in ["[1,]", "{\"a\":1,}"] {
            #expect(reference(text) != nil)
            #expect(JSONValue(parsing: Array(text.utf8)) == nil, "\(text)")
        }
    }

    @Test func nestingDeeperThan512IsRefused() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(JSONValue(parsing: Array(deep.utf8)) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONValue(parsing: Array(fine.utf8)) != nil)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(JSONValue(parsing: [0x22, 0xFF, 0x22]) == nil)
        #expect(JSONValue(parsing: [0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
    }

    @Test func generatedValuesSurviveEncodingAndParsing() {
        var generator = SplitMix(seed: 7)
        func value(_ depth: Int) -> JSONValue {
            let alphabet = Array("aZ0 \"\\/\n\té😀\u{7F}")
            func text() -> String {
                String((0..<Int(generator.next() % 6)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            }
            switch generator.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(generator.next() % 2 == 0)
            case 2: return .number(Double(Int64(bitPattern: generator.next()) % 1_000_000) / 8)
            case 3: return .string(text())
            case 4: return .array((0..<Int(generator.next() % 4)).map { _ in value(depth + 1) })
            default:
                return .object(Dictionary((0..<Int(generator.next() % 4)).map { _ in (text(), value(depth + 1)) }, uniquingKeysWith: { $1 }))
            }
        }
        for _ in 0..<2000 {
            let original = value(0)
            let text = original.jsonBytes
            #expect(JSONValue(parsing: text) == original, "\(String(decoding: text, as: UTF8.self))")
            #expect(JSONValue(parsing: text) == reference(String(decoding: text, as: UTF8.self)))
        }
    }
}
