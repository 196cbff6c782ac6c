import Foundation

/// A CNCF Distribution notification envelope
/// (`application/vnd.docker.distribution.events.v1+json`), decoded leniently:
/// registries add fields, and a malformed event must not spoil its neighbours.
public struct DistributionEnvelope: Sendable {
    public let events: [DistributionEvent]

    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case notJSON(String)
        case notAnEnvelope(String)

        public var description: String {
            switch self {
            case .notJSON(let detail): "the body is not JSON: \(detail)"
            case .notAnEnvelope(let detail): "the body is not a notification envelope: \(detail)"
            }
        }
    }

    /// Parses the body; throws only when the whole body is unusable. Each
    /// event is kept as its raw JSON value so a bad one can be dead-lettered.
    public init(parsing body: [UInt8]) throws(DecodingError) {
        guard let root = JSONValue(parsing: body) else {
            throw .notJSON("expected a JSON object with an \"events\" array")
        }
        guard case .object(let members) = root else {
            throw .notAnEnvelope("expected an object with an \"events\" array at the top")
        }
        guard let rawEvents = members["events"] else {
            throw .notAnEnvelope("missing \"events\"")
        }
        guard case .array(let list) = rawEvents else {
            throw .notAnEnvelope("\"events\" must be an array")
        }
        events = list.map(DistributionEvent.init(raw:))
    }
}

/// One event of an envelope, as loosely typed as the registry sent it.
public struct DistributionEvent: Sendable {
    public let raw: JSONValue

    init(raw: JSONValue) { self.raw = raw }

    var object: [String: JSONValue]? { raw.objectValue }
}
