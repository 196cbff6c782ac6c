import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Why a call got no answer, in a few words: NIO's own descriptions are
/// long, and some have unbalanced parentheses ("connection reset (error set):
/// Connection refused) (errno: 111)"). The CLI says it about the server, and
/// deliveries about their endpoints.
public enum ConnectionFailure {
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let error as IOError:
            return reason(errno: error.errnoCode)
        case let error as NIOConnectionError:
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "unknown host \(error.host)" }
            return error.connectionErrors.first.map { reason($0.error) } ?? "cannot connect to \(error.host):\(error.port)"
        case let error as HTTPClientError where error == .connectTimeout:
            return "connection timed out"
        case let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded:
            return "no answer in time"
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            return "the connection was closed"
        default:
            return balanced(String(describing: error))
        }
    }

    private static func reason(errno code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ETIMEDOUT: "connection timed out"
        case ECONNRESET: "connection reset"
        case EHOSTUNREACH, ENETUNREACH: "no route to the host"
        default: String(cString: strerror(code)).lowercased()
        }
    }

    /// The text without parentheses that do not pair up, so it can sit inside ours.
    public static func balanced(_ text: String) -> String {
        var unmatchedOpenings: [String.Index] = []
        var unmatched: Set<String.Index> = []
        for index in text.indices {
            if text[index] == "(" {
                unmatchedOpenings.append(index)
            } else if text[index] == ")" {
                if unmatchedOpenings.popLast() == nil { unmatched.insert(index) }
            }
        }
        unmatched.formUnion(unmatchedOpenings)
        return String(text.indices.filter { !unmatched.contains($0) }.map { text[$0] })
    }
}
