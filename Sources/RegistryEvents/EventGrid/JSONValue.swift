import Foundation

/// Any JSON value: what filters read, what custom topics carry as `data`,
/// and what events become when they change schema on the way out.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text; `nil` when it is not JSON.
    public init?(parsing bytes: some Sequence<UInt8>) {
        let parsed = bytes.withContiguousStorageIfAvailable(JSONValueParser.parse)
            ?? Array(bytes).withUnsafeBufferPointer(JSONValueParser.parse)
        guard let parsed else { return nil }
        self = parsed
    }

    /// The value at a dotted path's segments (`["data", "target", "tag"]`),
    /// `nil` when any segment is missing or not an object. A segment matches a
    /// key exactly, else ignoring case (Event Grid's keys are case-insensitive).
    public func value(at path: some Collection<String>) -> JSONValue? {
        var current = self
        for segment in path {
            guard case .object(let members) = current else { return nil }
            if let exact = members[segment] {
                current = exact
            } else if let folded = members.first(where: { $0.key.caseInsensitiveCompare(segment) == .orderedSame }) {
                current = folded.value
            } else {
                return nil
            }
        }
        return current
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The value as header text: strings as they are, numbers and booleans
    /// as JSON writes them, `nil` for null, arrays and objects.
    public var scalarText: String? {
        switch self {
        case .string(let string): string
        case .bool(let bool): bool ? "true" : "false"
        case .number(let number): JSONValue.format(number)
        default: nil
        }
    }

    /// Integral numbers print without a fraction, as they came in.
    static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 9.007_199_254_740_992e15 { return String(Int64(number)) }
        return String(number)
    }

}

extension JSONValue: JSONWritable {
    /// Compact JSON, keys sorted by their UTF-8 bytes (as `JSONEncoder`'s
    /// `.sortedKeys`), integral numbers without a fraction.
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.literal("null")
        case .bool(let bool): writer.literal(bool ? "true" : "false")
        case .number(let number):
            if number.rounded() == number, abs(number) < 9.007_199_254_740_992e15 {
                writer.integer(Int64(number))
            } else {
                writer.number(number)
            }
        case .string(let string): writer.string(string)
        case .array(let elements):
            writer.array { w in for element in elements { element.write(to: &w) } }
        case .object(let members):
            writer.object { w in
                for key in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    w.key(key)
                    members[key]!.write(to: &w)
                }
            }
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let number):
            if number.rounded() == number, abs(number) < 9.007_199_254_740_992e15 {
                try container.encode(Int64(number))
            } else {
                try container.encode(number)
            }
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    public init(nilLiteral: ()) { self = .null }
}
