/// Stable identifiers derived from an event, so that rendering the same
/// event twice (a registry's retry) gives the same Event Grid / CloudEvents id
/// and consumers can drop the duplicate by `source` + `id`.
public enum EventIdentity {
    /// A UUID-formatted id derived from registry and event id (two FNV-1a
    /// 64-bit hashes; not cryptographic, only stable and well spread).
    public static func eventGridID(for event: RegistryEvent) -> String {
        let text = Array("\(event.registry)\u{0}\(event.id)\u{0}\(event.action.rawValue)".utf8)
        let high = fnv1a(text, seed: 0xcbf2_9ce4_8422_2325)
        let low = fnv1a(text, seed: 0x8422_2325_cbf2_9ce4)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        bytes[6] = (bytes[6] & 0x0f) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // RFC 4122 variant
        let hex = bytes.map { byte in String(byte, radix: 16).leftPadded(to: 2) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    private static func fnv1a(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
