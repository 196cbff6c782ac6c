import Foundation
import GRDB
import RegistryEvents

/// One delivery attempt as list-events shows it (ACR's `Event` with
/// `eventRequestMessage` and `eventResponseMessage`). Header values of custom
/// headers are already masked when an entry is written.
public struct DeliveryLogEntry: Codable, Sendable, Hashable {
    public struct RequestMessage: Codable, Sendable, Hashable {
        public var method: String
        public var requestUri: String
        public var headers: [String: String]
        public var content: String
        public var version: String

        public init(method: String, requestUri: String, headers: [String: String], content: String, version: String = "1.1") {
            self.method = method
            self.requestUri = requestUri
            self.headers = headers
            self.content = content
            self.version = version
        }
    }

    public struct ResponseMessage: Codable, Sendable, Hashable {
        /// A string, as ACR's model has it; empty when no response came.
        public var statusCode: String
        public var reasonPhrase: String
        public var headers: [String: String]
        public var content: String
        public var version: String
        /// How long the attempt took (the console's latency); not in ACR's
        /// model, so list-events leaves it out.
        public var durationMilliseconds: Int?

        public init(
            statusCode: String, reasonPhrase: String, headers: [String: String], content: String, version: String = "1.1",
            durationMilliseconds: Int? = nil
        ) {
            self.durationMilliseconds = durationMilliseconds
            self.statusCode = statusCode
            self.reasonPhrase = reasonPhrase
            self.headers = headers
            self.content = content
            self.version = version
        }
    }

    /// Position in the log (newest is highest); the paging token.
    public var sequence: Int64?
    public var registry: String
    public var webhook: String
    public var eventID: String
    public var attempt: Int
    public var request: RequestMessage
    public var response: ResponseMessage?
    public var createdAt: Date

    public init(
        registry: String, webhook: String, eventID: String, attempt: Int, request: RequestMessage, response: ResponseMessage?,
        createdAt: Date = Date()
    ) {
        self.registry = registry
        self.webhook = webhook
        self.eventID = eventID
        self.attempt = attempt
        self.request = request
        self.response = response
        self.createdAt = createdAt
    }
}

/// A row of `deliveryLog`.
struct DeliveryLogRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "deliveryLog"

    var id: Int64?
    var registry: String
    var webhook: String
    var eventID: String
    var attempt: Int
    var request: DeliveryLogEntry.RequestMessage
    var response: DeliveryLogEntry.ResponseMessage?
    var createdAt: Date

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let registry = Column(CodingKeys.registry)
        static let webhook = Column(CodingKeys.webhook)
    }

    init(_ entry: DeliveryLogEntry) {
        registry = entry.registry
        webhook = entry.webhook
        eventID = entry.eventID
        attempt = entry.attempt
        request = entry.request
        response = entry.response
        createdAt = entry.createdAt
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    var entry: DeliveryLogEntry {
        var entry = DeliveryLogEntry(
            registry: registry, webhook: webhook, eventID: eventID, attempt: attempt, request: request, response: response,
            createdAt: createdAt)
        entry.sequence = id
        return entry
    }
}

// The log's JSON columns, written by hand (they were a JSONEncoder run per
// column per attempt, a sixth of a busy dispatcher's CPU with the insert).
extension DeliveryLogEntry.RequestMessage: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("content", content)
            w.key("headers")
            w.stringObject(headers)
            w.member("method", method)
            w.member("requestUri", requestUri)
            w.member("version", version)
        }
    }
}

extension DeliveryLogEntry.ResponseMessage: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("content", content)
            if let durationMilliseconds { w.member("durationMilliseconds", durationMilliseconds) }
            w.key("headers")
            w.stringObject(headers)
            w.member("reasonPhrase", reasonPhrase)
            w.member("statusCode", statusCode)
            w.member("version", version)
        }
    }
}
