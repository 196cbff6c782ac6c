import Foundation
import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core context plus our
/// JSON coding (sorted keys, ISO-8601 dates, no escaped slashes).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Whether the peer is on this machine (the console without a token answers only it).
    public let isLoopback: Bool

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        isLoopback = Self.isLoopback(source.channel.remoteAddress)
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        switch address {
        case .v4(let v4)?: v4.address.sin_addr.s_addr.bigEndian >> 24 == 127
        case .v6?: address?.ipAddress == "::1" || address?.ipAddress?.hasPrefix("::ffff:127.") == true
        case .unixDomainSocket?: true
        default: false
        }
    }

    public var requestDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    public var responseEncoder: JSONEncoder { JSONCoding.encoder }
}

enum JSONCoding {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
