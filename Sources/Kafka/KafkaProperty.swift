/// One raw librdkafka configuration property, as given on the command line
/// (`--kafka-property key=value`), for TLS, SASL and tuning we do not model.
public struct KafkaProperty: Hashable, Sendable, CustomStringConvertible {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// Parses `key=value`; the value may itself contain `=`.
    public init?(parsing text: String) {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else { return nil }
        self.init(key: key, value: String(text[text.index(after: equals)...]))
    }

    /// The value without surrounding blanks, for checks of well-known keys.
    var trimmedValue: String { value[...].trimmingCharacters(in: .whitespaces) }

    /// Never prints the value: passwords and keys travel through here.
    public var description: String { "\(key)=***" }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension Set where Element == Character {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t"]
}
