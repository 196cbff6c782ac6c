import Crypto
import Foundation

/// Standard Webhooks signatures: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
/// with the secret written `whsec_<base64 key>`.
public enum WebhookSigner {
    /// A new secret of 32 random bytes.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }

    /// The key of a `whsec_` secret, when it is one (24 to 64 bytes).
    public static func key(of secret: String) -> Data? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))),
            (24...64).contains(key.count)
        else { return nil }
        return key
    }

    /// A message id the spec allows (no `.`), stable across retries of one event.
    public static func messageID(eventID: String, webhook: String) -> String {
        let safe = "\(eventID)_\(webhook)".map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        return "msg_" + String(safe)
    }

    public static func headers(secret: String, messageID: String, timestamp: Int, body: String) -> [(String, String)] {
        headers(secrets: [secret], messageID: messageID, timestamp: timestamp, body: body)
    }

    /// One signature per secret, space-separated in one `webhook-signature`
    /// (the spec's way to send the old and the new during a rotation).
    public static func headers(secrets: [String], messageID: String, timestamp: Int, body: String) -> [(String, String)] {
        let signed = Data("\(messageID).\(timestamp).\(body)".utf8)
        let signatures = secrets.compactMap(key(of:)).map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))).base64EncodedString()
        }
        guard !signatures.isEmpty else { return [] }
        return [
            ("webhook-id", messageID), ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signatures.joined(separator: " ")),
        ]
    }
}
