import Foundation

/// Refuses webhook targets on loopback, private, link-local, shared and
/// metadata addresses unless allowed (`--allow-private-targets`, or a CIDR
/// with `--allow-target-cidr`), so a webhook cannot be aimed at the
/// server's own network. The host is resolved and every address checked,
/// when a webhook is created and again before each delivery (off the
/// cooperative pool, cached briefly: see `HostResolver`). (A name that
/// resolves differently between the check and the connection can still slip
/// through; the check narrows, it does not close, that window.)
public struct TargetGuard: Sendable {
    public var allowPrivate: Bool
    public var allowedCIDRs: [CIDR]

    public init(allowPrivate: Bool = false, allowedCIDRs: [CIDR] = []) {
        self.allowPrivate = allowPrivate
        self.allowedCIDRs = allowedCIDRs
    }

    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let host: String
        public let address: String
        public var description: String {
            "\(host) resolves to \(address), a private, loopback, link-local or metadata address: refused (start the server with --allow-private-targets or --allow-target-cidr to allow it)"
        }
    }

    /// Throws `Refusal` for a blocked target, or when the host cannot be
    /// resolved. Resolves on `resolver`'s threads, never on the caller's.
    public func check(url: String, resolver: HostResolver = .shared) async throws {
        guard !allowPrivate, let host = URLComponents(string: url)?.host else { return }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        for address in try await resolver.resolve(bare) where isBlocked(address) {
            throw Refusal(host: bare, address: address.description)
        }
    }

    func isBlocked(_ address: IPAddress) -> Bool {
        if allowedCIDRs.contains(where: { $0.contains(address) }) { return false }
        return Self.blocked.contains { $0.contains(address) }
    }

    static let blocked: [CIDR] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "::/128", "::1/128", "fc00::/7", "fe80::/10", "::ffff:0:0/96",
    ].compactMap(CIDR.init(parsing:))
}

/// An IPv4 or IPv6 address as 4 or 16 bytes.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(parsing text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    init?(sockaddr pointer: UnsafeMutablePointer<sockaddr>?) {
        guard let pointer else { return nil }
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            bytes = pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                withUnsafeBytes(of: address.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            bytes = pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

/// An address range like `10.0.0.0/8` or `fc00::/7`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPAddress(parsing: String(parts[0])), let length = Int(parts[1]),
            (0...(address.bytes.count * 8)).contains(length)
        else { return nil }
        network = address
        prefixLength = length
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for index in 0..<address.bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address.bytes[index] & mask != network.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
