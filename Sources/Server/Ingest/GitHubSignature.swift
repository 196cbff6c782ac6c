import Crypto
import Foundation

/// GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256
/// of the raw body, keyed with the webhook's secret>`, compared in constant time.
enum GitHubSignature {
    static func isValid(_ header: String, body: [UInt8], secret: String) -> Bool {
        guard header.hasPrefix("sha256="), let given = hexBytes(header.dropFirst("sha256=".count)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    static func hexBytes(_ text: Substring) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
