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
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // RFC 4122 variant
        // 8-4-4-4-12 lower-case hex digits.
        let digits = Array("0123456789abcdef".utf8)
        var uuid: [UInt8] = []
        uuid.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { uuid.append(UInt8(ascii: "-")) }
            uuid.append(digits[Int(byte >> 4)])
            uuid.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: uuid, as: UTF8.self)
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
