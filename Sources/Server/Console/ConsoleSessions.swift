@preconcurrency import Crypto
import Foundation
import Hummingbird

/// The console's sign-in, without server-side state so that every node
/// behind a load balancer accepts it: the session cookie is an expiry and a
/// nonce, signed with a key derived from the admin token (changing the token
/// signs everyone out); the CSRF token every form carries is derived from
/// the same nonce. Without an admin token the console answers loopback only,
/// and the key is this process's own.
struct ConsoleSessions: Sendable {
    struct Session: Sendable {
        var expires: Date
        /// What every form must send back as `csrf`.
        var csrf: String
    }

    static let cookieName = "regevents_console"
    static let lifetime: TimeInterval = 12 * 3600

    /// Immutable once made, so shared across tasks safely.
    private nonisolated(unsafe) let key: SymmetricKey
    /// Set `Secure` on the cookie (the console is served over TLS).
    let secure: Bool
    /// Sign-in needs this token; `nil`: loopback only, no sign-in.
    let adminToken: String?

    init(adminToken: String?, secure: Bool) {
        self.adminToken = adminToken
        self.secure = secure
        key = adminToken.map { SymmetricKey(data: SHA256.hash(data: Data("regevents-console\0\($0)".utf8))) }
            ?? SymmetricKey(size: .bits256)
    }

    /// A new session: its cookie header value and its CSRF token.
    func issue(now: Date = Date()) -> (setCookie: String, session: Session) {
        var nonce = [UInt8](repeating: 0, count: 16)
        for index in nonce.indices { nonce[index] = UInt8.random(in: 0...255) }
        let expires = now.addingTimeInterval(Self.lifetime)
        let payload = "\(Int(expires.timeIntervalSince1970)).\(Self.base64URL(nonce))"
        let value = "\(payload).\(signature(payload))"
        let cookie = "\(Self.cookieName)=\(value); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(Int(Self.lifetime))"
            + (secure ? "; Secure" : "")
        return (cookie, Session(expires: expires, csrf: csrf(for: payload)))
    }

    /// Clears the cookie (the signed value stays valid until it expires, so
    /// it is also dropped by the browser).
    var signOutCookie: String {
        "\(Self.cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }

    /// The session the request's cookie proves, if it is valid and current.
    func session(of request: Request, now: Date = Date()) -> Session? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix("\(Self.cookieName)=") else { continue }
            let value = String(pair.dropFirst(Self.cookieName.count + 1))
            guard let dot = value.lastIndex(of: ".") else { return nil }
            let payload = String(value[..<dot])
            guard Self.constantTimeEqual(signature(payload), String(value[value.index(after: dot)...])),
                let seconds = payload.split(separator: ".").first.flatMap({ Double($0) })
            else { return nil }
            let expires = Date(timeIntervalSince1970: seconds)
            guard expires > now else { return nil }
            return Session(expires: expires, csrf: csrf(for: payload))
        }
        return nil
    }

    /// Whether `token` is the admin token (compared in constant time).
    func isAdminToken(_ token: String) -> Bool {
        guard let adminToken else { return false }
        return Self.constantTimeEqual(
            Self.base64URL(Array(SHA256.hash(data: Data(token.utf8)))), Self.base64URL(Array(SHA256.hash(data: Data(adminToken.utf8)))))
    }

    private func signature(_ payload: String) -> String {
        Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Data("session\0\(payload)".utf8), using: key)))
    }

    private func csrf(for payload: String) -> String {
        Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Data("csrf\0\(payload)".utf8), using: key)))
    }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let (a, b) = (Array(left.utf8), Array(right.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
