import Foundation

/// Why an event subscription's filter was refused. `property` is the JSON
/// path of the offending member (`properties.filter.advancedFilters[3].values`,
/// or `--advanced-filter` for CLI arguments), so the caller can point at it.
public struct FilterValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var property: String
    public var message: String
    public var description: String { "\(property): \(message)" }

    public init(property: String, message: String) {
        self.property = property
        self.message = message
    }
}

/// Event Grid's documented limits (event-filtering, "Limitations"). The
/// 2018 limits (5 filters, 5 values) are superseded.
enum AdvancedFilterLimits {
    static let filters = 25
    /// Across all advanced filters of one subscription.
    static let values = 25
    /// Per string value, in characters.
    static let stringLength = 512
}

extension EventFilter {
    private static let path = "properties.filter"

    /// Throws FilterValidationError whose `property` names the offending JSON
    /// path, e.g. "properties.filter.advancedFilters[3].values". Each filter's
    /// shape is checked before the value total, so the total counts only
    /// well-formed values.
    public func validate() throws(FilterValidationError) {
        for (index, type) in (includedEventTypes ?? []).enumerated() where type.trimmingCharacters(in: .whitespaces).isEmpty {
            throw FilterValidationError(
                property: "\(Self.path).includedEventTypes[\(index)]", message: "an event type must not be empty")
        }

        let filters = advancedFilters ?? []
        guard filters.count <= AdvancedFilterLimits.filters else {
            throw FilterValidationError(
                property: "\(Self.path).advancedFilters",
                message:
                    "at most \(AdvancedFilterLimits.filters) advanced filters are allowed per subscription; got \(filters.count)")
        }
        for (index, filter) in filters.enumerated() {
            try filter.validate(at: "\(Self.path).advancedFilters[\(index)]")
        }
        try validateValueTotal(of: filters)
    }

    /// Points at the filter whose values take the total past the limit.
    private func validateValueTotal(of filters: [AdvancedFilter]) throws(FilterValidationError) {
        let total = filters.reduce(0) { $0 + $1.valueCount }
        guard total > AdvancedFilterLimits.values else { return }
        var runningTotal = 0
        for (index, filter) in filters.enumerated() {
            runningTotal += filter.valueCount
            guard runningTotal > AdvancedFilterLimits.values else { continue }
            let member = filter.operatorType.operand.isList ? "values" : "value"
            throw FilterValidationError(
                property: "\(Self.path).advancedFilters[\(index)].\(member)",
                message: "at most \(AdvancedFilterLimits.values) filter values are allowed in total across all advanced filters; "
                    + "these filters have \(total)")
        }
    }
}

extension AdvancedFilter {
    /// Checks one filter's shape; `path` is where it sits in the request.
    func validate(at path: String) throws(FilterValidationError) {
        guard !key.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw FilterValidationError(property: "\(path).key", message: "the key must not be empty")
        }
        let name = operatorType.rawValue
        switch operatorType.operand {
        case .noValue:
            if value != nil {
                throw FilterValidationError(property: "\(path).value", message: "\(name) takes no value")
            }
            if values != nil {
                throw FilterValidationError(property: "\(path).values", message: "\(name) takes no values")
            }
        case .number, .bool:
            if values != nil {
                throw FilterValidationError(
                    property: "\(path).values", message: "\(name) takes a single 'value', not a 'values' list")
            }
            guard let value else {
                throw FilterValidationError(property: "\(path).value", message: "\(name) needs a 'value'")
            }
            try Self.check(value, of: operatorType.operand, for: name, at: "\(path).value")
        case .numbers, .strings, .ranges:
            if value != nil {
                throw FilterValidationError(
                    property: "\(path).value", message: "\(name) takes a 'values' list, not a single 'value'")
            }
            guard let values, !values.isEmpty else {
                throw FilterValidationError(property: "\(path).values", message: "\(name) needs at least one value in 'values'")
            }
            for (index, element) in values.enumerated() {
                try Self.check(element, of: operatorType.operand, for: name, at: "\(path).values[\(index)]")
            }
        }
    }

    private static func check(
        _ value: JSONValue, of operand: Operator.Operand, for name: String, at path: String
    ) throws(FilterValidationError) {
        switch (operand, value) {
        case (.number, .number), (.numbers, .number), (.bool, .bool):
            return
        case (.strings, .string(let text)):
            guard text.count <= AdvancedFilterLimits.stringLength else {
                throw FilterValidationError(
                    property: path,
                    message:
                        "string values are limited to \(AdvancedFilterLimits.stringLength) characters; this one has \(text.count)")
            }
        case (.ranges, .array(let pair)):
            guard pair.count == 2, case .number(let low) = pair[0], case .number(let high) = pair[1] else {
                throw FilterValidationError(property: path, message: "\(name) takes ranges written [lo, hi], two numbers")
            }
            guard low <= high else {
                throw FilterValidationError(
                    property: path,
                    message: "\(name) range [\(JSONValue.format(low)), \(JSONValue.format(high))] has lo greater than hi")
            }
        default:
            throw FilterValidationError(
                property: path, message: "\(name) needs \(operand.expectation); got \(value.jsonTypeDescription)")
        }
    }
}

extension AdvancedFilter.Operator.Operand {
    var isList: Bool {
        switch self {
        case .numbers, .strings, .ranges: true
        case .noValue, .number, .bool: false
        }
    }

    /// Completes "NumberIn needs …" in error messages.
    fileprivate var expectation: String {
        switch self {
        case .noValue: "no value"
        case .number, .numbers: "a number"
        case .bool: "a boolean (true or false)"
        case .strings: "a string"
        case .ranges: "a [lo, hi] pair of numbers"
        }
    }
}

extension JSONValue {
    /// The JSON type, for error messages.
    fileprivate var jsonTypeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
