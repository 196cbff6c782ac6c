/// The one check of HTTP header names and values that users configure
/// (webhook custom headers, subscription delivery attributes): done on
/// Unicode scalars, never on `Character`s ("\r\n" is one Character, equal
/// to neither "\r" nor "\n", and NUL hides inside none).
public enum HeaderField {
    /// RFC 9110's token characters.
    private static let tokenSymbols = "!#$%&'*+-.^_`|~".unicodeScalars

    /// A non-empty RFC 9110 token.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || tokenSymbols.contains(scalar))
            }
    }

    /// No control character but horizontal tab: no CR, LF, NUL or DEL, so a
    /// value can neither split a request nor be cut short on its way out.
    public static func isValidValue(_ value: String) -> Bool {
        !value.unicodeScalars.contains { $0 != "\t" && $0.properties.generalCategory == .control }
    }
}
