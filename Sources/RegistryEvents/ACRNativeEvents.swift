import Foundation

/// ACR-native events posted to `POST /v1/registries/{r}/events`: one object
/// or an array, in the ACR webhook shape. Unlike a registry's envelope, a bad
/// event fails the whole request (the caller is a program that can fix it),
/// with the field named.
public struct ACRNativeEvents: Sendable {
    public struct Input: Decodable, Sendable {
        public var id: String?
        public var timestamp: String?
        public var action: String
        public var target: RegistryEvent.Target
        public var request: RegistryEvent.Request?
        public var location: String?
    }

    public struct ValidationError: Error, Equatable, CustomStringConvertible {
        /// The JSON path of the offending field, e.g. `[1].target.tag`.
        public let field: String
        public let message: String
        public var description: String { "\(field): \(message)" }
    }

    public let events: [RegistryEvent]

    /// What ACR itself gives chart events.
    public static let acrChartMediaType = "application/vnd.acr.helm.chart"
    /// Assumed for an image event posted without a media type.
    public static let defaultManifestMediaType = "application/vnd.oci.image.manifest.v1+json"

    public init(parsing body: [UInt8], registry: String, defaultLocation: String) throws(ValidationError) {
        let inputs: [Input]
        let isArray = body.first { !$0.isWhitespace } == UInt8(ascii: "[")
        do {
            if isArray {
                inputs = try JSONDecoder().decode([Input].self, from: Data(body))
            } else {
                inputs = [try JSONDecoder().decode(Input.self, from: Data(body))]
            }
        } catch let error as DecodingError {
            throw Self.describe(error, isArray: isArray)
        } catch {
            throw ValidationError(field: "$", message: "the body is not JSON")
        }
        guard !inputs.isEmpty else { throw ValidationError(field: "$", message: "no events: the array is empty") }
        var events: [RegistryEvent] = []
        for (index, input) in inputs.enumerated() {
            let path = isArray ? "[\(index)]" : "$"
            events.append(try Self.validate(input, path: path, registry: registry, defaultLocation: defaultLocation))
        }
        self.events = events
    }

    static func validate(_ input: Input, path: String, registry: String, defaultLocation: String) throws(ValidationError) -> RegistryEvent {
        // A scan's result comes from a registry's adapter (Harbor), not in ACR's shape.
        guard let action = RegistryAction(rawValue: input.action), action != .ping, action != .scanCompleted else {
            throw ValidationError(
                field: "\(path).action",
                message: "must be one of push, delete, chart_push, chart_delete, quarantine, tag_added, tag_removed; got \"\(input.action)\"")
        }
        let target = input.target
        guard OCINames.isValidRepository(target.repository) else {
            throw ValidationError(field: "\(path).target.repository", message: "\"\(target.repository)\" is not a valid repository name")
        }
        if let tag = target.tag, !OCINames.isValidTag(tag) {
            throw ValidationError(field: "\(path).target.tag", message: "\"\(tag)\" is not a valid tag")
        }
        if let tags = target.tags {
            guard !tags.isEmpty, Set(tags).count == tags.count, tags.allSatisfy(OCINames.isValidTag) else {
                throw ValidationError(field: "\(path).target.tags", message: "must be distinct valid tags, at least one")
            }
        }
        if action == .tagAdded || action == .tagRemoved, target.tag == nil {
            throw ValidationError(field: "\(path).target.tag", message: "is required for \(action.rawValue)")
        }
        if let digest = target.digest, !OCINames.isValidDigest(digest) {
            throw ValidationError(field: "\(path).target.digest", message: "\"\(digest)\" is not a valid digest")
        }
        if let size = target.size, size < 0 {
            throw ValidationError(field: "\(path).target.size", message: "must not be negative")
        }
        if let length = target.length, length < 0 {
            throw ValidationError(field: "\(path).target.length", message: "must not be negative")
        }
        if let timestamp = input.timestamp, !Timestamps.isRFC3339(timestamp) {
            throw ValidationError(field: "\(path).timestamp", message: "\"\(timestamp)\" is not an RFC 3339 time")
        }
        if let id = input.id, id.isEmpty {
            throw ValidationError(field: "\(path).id", message: "must not be empty")
        }
        if let id = input.id, id.utf8.count > RegistryEvent.maxIDBytes {
            throw ValidationError(field: "\(path).id", message: "at most \(RegistryEvent.maxIDBytes) bytes")
        }
        guard target.digest != nil || action == .tagRemoved else {
            // Every ACR payload names the manifest by digest.
            throw ValidationError(field: "\(path).target.digest", message: "is required")
        }
        if action.isChart, target.version == nil, target.tag == nil {
            throw ValidationError(field: "\(path).target.version", message: "a chart event needs a version (or a tag)")
        }
        var mapped = target
        mapped.mediaType = target.mediaType ?? (action == .tagRemoved ? nil : action.isChart ? Self.acrChartMediaType : Self.defaultManifestMediaType)
        mapped.length = target.length ?? target.size
        if action.isChart {
            mapped.name = mapped.name ?? target.repository.split(separator: "/").last.map(String.init)
            mapped.version = mapped.version ?? target.tag
        }
        return RegistryEvent(
            id: input.id ?? UUID().uuidString.lowercased(), timestamp: input.timestamp ?? Timestamps.now(), action: action,
            registry: registry, location: input.location ?? defaultLocation, target: mapped, request: input.request)
    }

    static func describe(_ error: DecodingError, isArray: Bool) -> ValidationError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.reduce(isArray ? "" : "$") { result, key in
                if let index = key.intValue { return result + "[\(index)]" }
                return result + (result.isEmpty ? key.stringValue : ".\(key.stringValue)")
            }
        }
        switch error {
        case .typeMismatch(let type, let context):
            return ValidationError(field: path(context.codingPath).ifEmpty("$"), message: "expected \(Self.name(of: type))")
        case .valueNotFound(let type, let context):
            return ValidationError(field: path(context.codingPath).ifEmpty("$"), message: "expected \(Self.name(of: type)), got null")
        case .keyNotFound(let key, let context):
            return ValidationError(field: (path(context.codingPath) + "." + key.stringValue).trimmingLeadingDot, message: "is required")
        case .dataCorrupted(let context):
            return ValidationError(field: path(context.codingPath).ifEmpty("$"), message: "the body is not valid JSON")
        @unknown default:
            return ValidationError(field: "$", message: "cannot be read")
        }
    }

    static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int64.Type, is Int.Type: "a whole number"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

extension String {
    fileprivate func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
    fileprivate var trimmingLeadingDot: String { hasPrefix(".") ? String(dropFirst()) : self }
}

extension UInt8 {
    fileprivate var isWhitespace: Bool { self == 0x20 || self == 0x0a || self == 0x0d || self == 0x09 }
}
