import Foundation

/// Refuses outbound targets whose addresses are not on the public internet
/// (loopback, private, link-local, shared, multicast, reserved,
/// documentation, translation and metadata ranges: every non-global range of
/// IANA's IPv4 and IPv6 special-purpose registries), unless allowed
/// (`--allow-private-targets`, or a range with `--allow-target-cidr`), so a
/// webhook cannot be aimed at the server's own network.
///
/// The host is resolved once per attempt (off the cooperative pool, cached
/// briefly: see `HostResolver`), every address is checked, and the attempt
/// then connects to the first checked address and nothing else: the
/// `CheckedTarget` pins it (`PinnedHTTPClients`), so a name that resolves
/// differently a moment later (DNS rebinding) cannot redirect the
/// connection. A name that does not resolve is refused. Refusals never say
/// what a name resolved to: that would map the internal network for the
/// caller.
public struct TargetGuard: Sendable {
    public var allowPrivate: Bool
    public var allowedCIDRs: [CIDR]
    let resolver: HostResolver

    public init(allowPrivate: Bool = false, allowedCIDRs: [CIDR] = [], resolver: HostResolver = .shared) {
        self.allowPrivate = allowPrivate
        self.allowedCIDRs = allowedCIDRs
        self.resolver = resolver
    }

    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public enum Reason: Sendable, Equatable { case notPublic, doesNotResolve, notAURL }
        public let host: String
        public let reason: Reason

        public init(host: String, reason: Reason) {
            self.host = host
            self.reason = reason
        }

        public var description: String {
            switch reason {
            case .notPublic:
                "\(host) is not a public internet address (loopback, private, link-local, reserved or metadata): refused (start the server with --allow-target-cidr for the range, or --allow-private-targets, to allow it)"
            case .doesNotResolve:
                "\(host) does not resolve: refused"
            case .notAURL:
                "not an http(s) URL with a host: refused"
            }
        }
    }

    /// Where a checked URL may connect: its host, and the address to
    /// connect to (`nil` when the host is an address literal, or when the
    /// guard is off).
    public struct CheckedTarget: Sendable, Equatable {
        public let host: String
        public let pinnedAddress: IPAddress?
        /// Every address the host resolved to, all checked: a connection
        /// already pinned to one of them may stay.
        public var checkedAddresses: [IPAddress] = []
    }

    /// Throws `Refusal` for a blocked target or a name that does not
    /// resolve; `CancellationError` when the caller gave up waiting for the
    /// lookup. Resolves on `resolver`'s threads, never on the caller's.
    ///
    /// - Parameter allowUnresolved: accept a name that does not resolve (yet)
    ///   with nothing pinned: for creating a webhook or subscription before
    ///   its DNS name exists. Never for a connection.
    @discardableResult
    public func check(url: String, allowUnresolved: Bool = false) async throws -> CheckedTarget {
        // `URL` parses as AsyncHTTPClient does, so the host checked is the
        // host it connects to (and the key of its DNS override).
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            let host = parsed.host, !host.isEmpty
        else { throw Refusal(host: "", reason: .notAURL) }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if allowPrivate { return CheckedTarget(host: bare, pinnedAddress: nil) }
        if let literal = IPAddress(parsing: bare) {
            guard !isBlocked(literal) else { throw Refusal(host: bare, reason: .notPublic) }
            return CheckedTarget(host: bare, pinnedAddress: nil)
        }
        let addresses = try await resolver.resolve(bare)
        guard let first = addresses.first else {
            if allowUnresolved { return CheckedTarget(host: bare, pinnedAddress: nil) }
            throw Refusal(host: bare, reason: .doesNotResolve)
        }
        guard !addresses.contains(where: isBlocked) else { throw Refusal(host: bare, reason: .notPublic) }
        return CheckedTarget(host: bare, pinnedAddress: first, checkedAddresses: addresses)
    }

    func isBlocked(_ address: IPAddress) -> Bool {
        if allowedCIDRs.contains(where: { $0.contains(address) }) { return false }
        return Self.blocked.contains { $0.contains(address) }
    }

    /// The non-global ranges of IANA's IPv4 and IPv6 special-purpose address
    /// registries, plus multicast, and the translation prefixes whose
    /// embedded IPv4 address could be anything (refused whole).
    static let blocked: [CIDR] = [
        // IPv4
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        // IPv6: unspecified, loopback and IPv4-compatible; IPv4-mapped; IPv4/IPv6 translation (well-known and local-use);
        // discard; IETF protocol assignments (Teredo among them); documentation; 6to4; SRv6 SIDs; unique local;
        // site-local (deprecated); link-local; multicast.
        "::/96", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
        "3fff::/20", "5f00::/16", "fc00::/7", "fec0::/10", "fe80::/10", "ff00::/8",
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
