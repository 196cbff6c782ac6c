import RegistryEvents

/// The properties each object of a request body may have, by path (`""` for
/// the body, `properties.destination` below it). Objects whose path is not
/// listed (maps such as `tags` or `customHeaders`) may hold any name.
///
/// A body's unknown properties are found here, with the known name each was
/// most likely meant to be, so every 400 about one suggests alike.
struct KnownProperties: Sendable {
    struct Unknown: Equatable {
        /// `properties.destination.properties.maxEventPerBatch`
        let path: String
        /// The known name of the same object it is closest to, if it is close.
        let suggestion: String?

        /// `unknown property; did you mean 'maxEventsPerBatch'?`, for a message that names `path` first.
        var didYouMean: String? { suggestion.map { "unknown property; did you mean '\($0)'?" } }
    }

    let names: [String: Set<String>]

    /// The unknown properties of `value` (the object at `path`), depth first,
    /// in name order. Null members count as absent. `skip` leaves an object
    /// (and what it holds) unchecked.
    func unknown(in value: JSONValue, at path: String = "", skip: (_ members: [String: JSONValue]) -> Bool = { _ in false })
        -> [Unknown]
    {
        guard case .object(let members) = value, let known = names[path], !skip(members) else { return [] }
        var found: [Unknown] = []
        for (key, member) in members.sorted(by: { $0.key < $1.key }) where member != .null {
            let memberPath = path.isEmpty ? key : "\(path).\(key)"
            if known.contains(key) {
                found += unknown(in: member, at: memberPath, skip: skip)
            } else {
                found.append(Unknown(path: memberPath, suggestion: SpellingSuggestion.closest(to: key, among: known.sorted())))
            }
        }
        return found
    }

    /// The first property that looks like a misspelt known one. For bodies
    /// whose other unknown properties are ignored, as ARM clients send
    /// properties this server does not implement (an Event Grid topic's
    /// `sku`, say), but a typo must not silently lose a setting.
    func firstMisspelling(in value: JSONValue) -> Unknown? {
        unknown(in: value).first { $0.suggestion != nil }
    }
}
