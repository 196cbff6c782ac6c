import Foundation

/// A PostgreSQL connection URL, `postgres://user:password@host:port/database?sslmode=…`,
/// as libpq writes them. The password never appears in `description`.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS (libpq's `sslmode`, reduced to what the driver does).
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it (libpq's default; `allow` means the same here).
        case prefer
        /// TLS or nothing, with the certificate chain and host name verified
        /// (`require`, `verify-ca` and `verify-full` all verify fully).
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// - Throws: `DatabaseURLError` saying what is wrong, never echoing the password.
    public init(parsing text: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw DatabaseURLError("is not a URL; expected postgres://user:password@host:5432/database")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw DatabaseURLError("has the scheme \"\(scheme)\"; expected postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw DatabaseURLError("names no host") }
        guard let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw DatabaseURLError("names no user; expected postgres://user:password@\(host)/database")
        }
        let path = components.path.split(separator: "/")
        guard path.count <= 1 else { throw DatabaseURLError("has a path of several parts; expected /database") }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? 5432
        self.user = user
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        database = path.first.map(String.init) ?? user
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode", "tlsmode":
                switch item.value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw DatabaseURLError(
                        "has sslmode=\(item.value ?? ""); expected disable, allow, prefer, require, verify-ca or verify-full")
                }
            case "application_name", "connect_timeout":
                continue
            default:
                throw DatabaseURLError("has the unknown parameter \"\(item.name)\"; only sslmode is understood")
            }
        }
        self.tls = tls
    }

    /// The URL with the password replaced by `***`: safe for logs and `/v1/info`.
    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }
}

public struct DatabaseURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ problem: String) { description = "the database URL \(problem)" }
}
