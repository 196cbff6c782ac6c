import Foundation

/// One advanced filter of an event subscription, in the ARM shape Event Grid
/// stores: `{"operatorType", "key", "value"}` for single-value operators,
/// `{"operatorType", "key", "values": [...]}` for the others, and neither for
/// `IsNullOrUndefined` / `IsNotNull`.
///
/// The values of one filter OR together (a `Not*` operator fails as soon as
/// one value matches); the filters of a subscription AND together, in
/// `EventFilter`. Decoding accepts any JSON values: `validate()` on the
/// enclosing `EventFilter` is what rejects a malformed filter.
public struct AdvancedFilter: Codable, Sendable, Hashable {
    public enum Operator: String, Codable, Sendable, CaseIterable {
        case numberIn = "NumberIn"
        case numberNotIn = "NumberNotIn"
        case numberLessThan = "NumberLessThan"
        case numberGreaterThan = "NumberGreaterThan"
        case numberLessThanOrEquals = "NumberLessThanOrEquals"
        case numberGreaterThanOrEquals = "NumberGreaterThanOrEquals"
        case numberInRange = "NumberInRange"
        case numberNotInRange = "NumberNotInRange"
        case boolEquals = "BoolEquals"
        case stringIn = "StringIn"
        case stringNotIn = "StringNotIn"
        case stringContains = "StringContains"
        case stringNotContains = "StringNotContains"
        case stringBeginsWith = "StringBeginsWith"
        case stringNotBeginsWith = "StringNotBeginsWith"
        case stringEndsWith = "StringEndsWith"
        case stringNotEndsWith = "StringNotEndsWith"
        case isNullOrUndefined = "IsNullOrUndefined"
        case isNotNull = "IsNotNull"

        /// An unknown name must fail with a message a user can act on: the
        /// server answers decoding errors with 400 and shows this text.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let name = try container.decode(String.self)
            guard let known = Self(named: name) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "unknown advanced filter operatorType '\(name)'; expected one of \(Self.allNames)")
            }
            self = known
        }

        /// Exact name first, then ignoring case, as ARM and the az CLI accept.
        init?(named name: String) {
            if let exact = Self(rawValue: name) {
                self = exact
            } else if let folded = Self.allCases.first(where: { $0.rawValue.equalsIgnoringCase(name) }) {
                self = folded
            } else {
                return nil
            }
        }

        static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
    }

    public var operatorType: Operator
    public var key: String
    /// Single-value operators: `Number{Less,Greater}Than[OrEquals]` (a number), `BoolEquals` (a bool).
    public var value: JSONValue?
    /// Multi-value operators; `NumberInRange`/`NumberNotInRange` hold `[lo, hi]` pairs.
    public var values: [JSONValue]?

    public init(operatorType: Operator, key: String, value: JSONValue? = nil, values: [JSONValue]? = nil) {
        self.operatorType = operatorType
        self.key = key
        self.value = value
        self.values = values
    }

    /// Whether the event passes this filter. `arrays` is the subscription's
    /// `enableAdvancedFilteringOnArrays`.
    ///
    /// A key value of another type than the operator compares (a string for
    /// `NumberIn`, an object, an array when `arrays` is off) satisfies no
    /// (value, element) pair. Event Grid says such values "are ignored"; we
    /// read that as "no pair matched", so positive operators fail and `Not*`
    /// operators pass, the same outcome as their documented array semantics.
    public func matches(_ event: JSONValue, arrays: Bool) -> Bool {
        // A JSON null counts as missing everywhere, as IsNullOrUndefined
        // defines it; the docs give no other operator a rule for null.
        let present: JSONValue? =
            switch EventKeyPath(key).value(in: event) {
            case .none, .some(.null): nil
            case .some(let value): value
            }
        switch operatorType {
        case .isNullOrUndefined: return present == nil
        case .isNotNull: return present != nil
        default: break
        }
        guard let present else { return operatorType.matchesMissingKey }

        let elements: [JSONValue]
        if arrays, case .array(let items) = present {
            elements = items
        } else {
            elements = [present]
        }
        let test = operatorType.positiveForm
        let references = references
        let anyPairMatches = elements.contains { element in
            references.contains { reference in test.holds(for: element, against: reference) }
        }
        return operatorType.isNegated ? !anyPairMatches : anyPairMatches
    }

    /// What the key's value is compared with: the one `value`, or the `values` list.
    var references: [JSONValue] {
        switch operatorType.operand {
        case .noValue: []
        case .number, .bool: value.map { [$0] } ?? []
        case .numbers, .strings, .ranges: values ?? []
        }
    }

    /// How many values count towards Event Grid's limit of 25 across all
    /// filters: each list entry (a range pair is one), and a single `value` as one.
    var valueCount: Int {
        switch operatorType.operand {
        case .noValue: 0
        case .number, .bool: value == nil ? 0 : 1
        case .numbers, .strings, .ranges: values?.count ?? 0
        }
    }
}

extension AdvancedFilter.Operator {
    /// The shape of what an operator compares with, which decides both how
    /// it is validated and how the CLI parses its arguments.
    enum Operand: Sendable {
        /// `IsNullOrUndefined`, `IsNotNull`: no value at all.
        case noValue
        /// A single `value`.
        case number, bool
        /// A non-empty `values` list.
        case numbers, strings, ranges
    }

    var operand: Operand {
        switch self {
        case .isNullOrUndefined, .isNotNull: .noValue
        case .numberLessThan, .numberGreaterThan, .numberLessThanOrEquals, .numberGreaterThanOrEquals: .number
        case .boolEquals: .bool
        case .numberIn, .numberNotIn: .numbers
        case .numberInRange, .numberNotInRange: .ranges
        case .stringIn, .stringNotIn, .stringContains, .stringNotContains, .stringBeginsWith, .stringNotBeginsWith,
            .stringEndsWith, .stringNotEndsWith:
            .strings
        }
    }

    /// `Not*` operators fail when any (value, element) pair matches.
    var isNegated: Bool { positiveForm != self }

    /// The operator a `Not*` operator negates; itself for the others.
    var positiveForm: Self {
        switch self {
        case .numberNotIn: .numberIn
        case .numberNotInRange: .numberInRange
        case .stringNotIn: .stringIn
        case .stringNotContains: .stringContains
        case .stringNotBeginsWith: .stringBeginsWith
        case .stringNotEndsWith: .stringEndsWith
        default: self
        }
    }

    /// The outcome when the key is missing or null. The event-filtering
    /// page lists only NumberNotIn and StringNotIn as matched (StringNotContains,
    /// StringNotBeginsWith and StringNotEndsWith explicitly as not matched);
    /// it is silent on the ranges, and NumberNotInRange follows NumberNotIn.
    var matchesMissingKey: Bool {
        switch self {
        case .numberNotIn, .stringNotIn, .numberNotInRange: true
        default: false
        }
    }

    /// Whether one element of the key's value satisfies a positive operator
    /// for one filter value. Mismatched types never do.
    func holds(for element: JSONValue, against reference: JSONValue) -> Bool {
        switch (self, element, reference) {
        case (.numberIn, .number(let number), .number(let wanted)): number == wanted
        case (.numberLessThan, .number(let number), .number(let bound)): number < bound
        case (.numberGreaterThan, .number(let number), .number(let bound)): number > bound
        case (.numberLessThanOrEquals, .number(let number), .number(let bound)): number <= bound
        case (.numberGreaterThanOrEquals, .number(let number), .number(let bound)): number >= bound
        case (.numberInRange, .number(let number), .array(let pair)):
            if pair.count == 2, case .number(let low) = pair[0], case .number(let high) = pair[1] {
                low <= number && number <= high
            } else {
                false
            }
        case (.boolEquals, .bool(let bool), .bool(let wanted)): bool == wanted
        case (.stringIn, .string(let text), .string(let wanted)): text.equalsIgnoringCase(wanted)
        case (.stringContains, .string(let text), .string(let part)): text.containsIgnoringCase(part)
        case (.stringBeginsWith, .string(let text), .string(let prefix)): text.hasPrefix(prefix, caseSensitive: false)
        case (.stringEndsWith, .string(let text), .string(let suffix)): text.hasSuffix(suffix, caseSensitive: false)
        default: false
        }
    }
}

// MARK: - az CLI form

extension AdvancedFilter {
    /// Parses `--advanced-filter KEY OPERATOR [VALUE...]` as `az eventgrid
    /// event-subscription create` does: operator ignoring case, numbers for
    /// `Number*`, `lo,hi` pairs for the ranges, and no value for the null checks.
    /// Unlike az, `BoolEquals` accepts only `true`/`false` (az turns any
    /// non-empty text, even "false", into true). The result is validated, so
    /// a filter that parses is one the server accepts.
    public init(cliArguments arguments: [String]) throws(FilterValidationError) {
        guard arguments.count >= 2 else {
            throw Self.cliError("expected KEY OPERATOR [VALUE...], e.g. data.target.repository StringIn aci-helloworld")
        }
        let key = arguments[0]
        guard let operatorType = Operator(named: arguments[1]) else {
            throw Self.cliError("unknown operator '\(arguments[1])'; expected one of \(Operator.allNames)")
        }
        let texts = Array(arguments.dropFirst(2))
        let name = operatorType.rawValue

        switch operatorType.operand {
        case .noValue:
            guard texts.isEmpty else { throw Self.cliError("\(name) takes no value; got \(texts.count)") }
            self.init(operatorType: operatorType, key: key)
        case .number:
            guard texts.count == 1 else { throw Self.cliError("\(name) takes exactly one number; got \(texts.count) values") }
            self.init(operatorType: operatorType, key: key, value: .number(try Self.number(texts[0], for: name)))
        case .bool:
            guard texts.count == 1 else {
                throw Self.cliError("\(name) takes exactly one value, true or false; got \(texts.count)")
            }
            self.init(operatorType: operatorType, key: key, value: .bool(try Self.bool(texts[0], for: name)))
        case .numbers, .strings, .ranges:
            guard !texts.isEmpty else { throw Self.cliError("\(name) needs at least one value") }
            var values: [JSONValue] = []
            for text in texts {
                values.append(try Self.listValue(text, for: operatorType))
            }
            self.init(operatorType: operatorType, key: key, values: values)
        }
        try validate(at: Self.cliFlag)
    }

    private static let cliFlag = "--advanced-filter"

    private static func cliError(_ message: String) -> FilterValidationError {
        FilterValidationError(property: cliFlag, message: message)
    }

    private static func listValue(_ text: String, for operatorType: Operator) throws(FilterValidationError) -> JSONValue {
        let name = operatorType.rawValue
        switch operatorType.operand {
        case .numbers:
            return .number(try number(text, for: name))
        case .ranges:
            let bounds = text.split(separator: ",", omittingEmptySubsequences: false)
            guard bounds.count == 2 else {
                throw cliError("\(name) takes ranges written lo,hi (e.g. 1,10); got '\(text)'")
            }
            return .array([.number(try number(String(bounds[0]), for: name)), .number(try number(String(bounds[1]), for: name))])
        default:
            return .string(text)
        }
    }

    private static func number(_ text: String, for name: String) throws(FilterValidationError) -> Double {
        guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite else {
            throw cliError("\(name) compares numbers; '\(text)' is not a number")
        }
        return number
    }

    private static func bool(_ text: String, for name: String) throws(FilterValidationError) -> Bool {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default: throw cliError("\(name) takes true or false; got '\(text)'")
        }
    }
}
