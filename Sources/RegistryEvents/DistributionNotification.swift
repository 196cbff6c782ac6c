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
    /// event is kept as its raw JSON object so a bad one can be dead-lettered.
    public init(parsing body: [UInt8]) throws(DecodingError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw .notJSON("expected a JSON object with an \"events\" array")
        }
        guard let root = object as? [String: Any] else {
            throw .notAnEnvelope("expected an object with an \"events\" array at the top")
        }
        guard let rawEvents = root["events"] else {
            throw .notAnEnvelope("missing \"events\"")
        }
        guard let list = rawEvents as? [Any] else {
            throw .notAnEnvelope("\"events\" must be an array")
        }
        events = list.map(DistributionEvent.init(raw:))
    }
}

/// One event of an envelope, as loosely typed as the registry sent it.
public struct DistributionEvent: @unchecked Sendable {
    // @unchecked: `raw` holds JSONSerialization values (immutable NSDictionary/
    // NSArray/NSString/NSNumber trees) that nothing mutates after parsing.
    public let raw: Any

    init(raw: Any) { self.raw = raw }

    var object: [String: Any]? { raw as? [String: Any] }
    var id: String? { object?["id"] as? String }
    var action: String? { object?["action"] as? String }
    var target: [String: Any]? { object?["target"] as? [String: Any] }
    var request: [String: Any]? { object?["request"] as? [String: Any] }
}
