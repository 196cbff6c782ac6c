import Foundation

/// JSON as az prints it: indented, keys sorted, empty objects and arrays as
/// `{}` and `[]` (Foundation on Linux puts a blank line inside them, which
/// also ends an example's output in a Markdown transcript).
func prettyJSON(_ data: Data) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: data),
        let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    else { return String(decoding: data, as: UTF8.self) }
    return String(decoding: pretty, as: UTF8.self)
        .replacing(#/\{\n\s*\n\s*\}/#, with: "{}")
        .replacing(#/\[\n\s*\n\s*\]/#, with: "[]")
}
