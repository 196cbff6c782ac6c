import Crypto
import Foundation
import RegistryEvents

/// Event Grid's publisher authentication: `aeg-sas-key: <key>`, or
/// `aeg-sas-token: r=<resource>&e=<expiry>&s=<signature>` where the
/// signature is base64 HMAC-SHA256, keyed by the base64-decoded access key,
/// over `r=…&e=…` as sent (what `generate_sas` in Azure's SDKs makes).
/// Either of the topic's two keys works. A token's `r` must name this
/// topic's endpoint, as Event Grid checks it: URL-decoded, compared without
/// scheme, query or case, as a prefix of the endpoint the request came to.
enum PublishAuthentication {
    enum Failure: Error, Equatable {
        case missing, wrongKey, malformedToken, expired, badSignature, wrongResource

        var message: String {
            switch self {
            case .missing: "The request has no aeg-sas-key or aeg-sas-token header"
            case .wrongKey: "The aeg-sas-key is not a key of this topic"
            case .malformedToken: "The aeg-sas-token is not r=<resource>&e=<expiry>&s=<signature>"
            case .expired: "The aeg-sas-token has expired"
            case .badSignature: "The aeg-sas-token signature does not match a key of this topic"
            case .wrongResource: "The aeg-sas-token's r is not this topic's endpoint"
            }
        }
    }

    /// - Parameter endpoints: the URLs this request may be said to be for
    ///   (as requested, and under the public URL); a token's `r` must be a
    ///   prefix of one of them.
    static func check(key: String?, token: String?, topic: CustomTopic, endpoints: [String], now: Date = Date()) throws(Failure) {
        if let key {
            guard constantTimeEqual(key, topic.key1) || constantTimeEqual(key, topic.key2) else { throw .wrongKey }
            return
        }
        guard let token else { throw .missing }
        guard let signatureRange = token.range(of: "&s=") else { throw .malformedToken }
        let signed = String(token[..<signatureRange.lowerBound])
        let signature = String(token[signatureRange.upperBound...]).removingPercentEncoding ?? ""
        var fields: [String: String] = [:]
        for pair in signed.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1].removingPercentEncoding }
        }
        guard let resource = fields["r"], let expiryText = fields["e"], let expiry = parseExpiry(expiryText) else { throw .malformedToken }
        guard expiry > now else { throw .expired }
        var signatureMatches = false
        for key in [topic.key1, topic.key2] {
            guard let secret = Data(base64Encoded: key) else { continue }
            let mac = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: secret))
            if constantTimeEqual(Data(mac).base64EncodedString(), signature) { signatureMatches = true }
        }
        guard signatureMatches else { throw .badSignature }
        guard resourceMatches(resource, endpoints: endpoints) else { throw .wrongResource }
    }

    /// Whether `resource` (decoded) is a prefix of one of `endpoints`, both
    /// without scheme, query, trailing slash or case.
    static func resourceMatches(_ resource: String, endpoints: [String]) -> Bool {
        let wanted = comparable(resource)
        guard !wanted.isEmpty else { return false }
        return endpoints.contains { comparable($0).hasPrefix(wanted) }
    }

    private static func comparable(_ url: String) -> String {
        var text = url.lowercased()
        if let scheme = text.range(of: "://") { text = String(text[scheme.upperBound...]) }
        if let query = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<query]) }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// Expiry as the SDKs write it: Python's `str(datetime)`
    /// (`2030-01-01 00:00:00+00:00`, fraction optional, naive = UTC), .NET's
    /// en-US `1/1/2030 12:00:00 AM`, or RFC 3339.
    static func parseExpiry(_ text: String) -> Date? {
        let formats = [
            "yyyy-MM-dd HH:mm:ss.SSSSSSxxx", "yyyy-MM-dd HH:mm:ssxxx", "yyyy-MM-dd HH:mm:ss.SSSSSS", "yyyy-MM-dd HH:mm:ss",
            "M/d/yyyy h:mm:ss a", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd'T'HH:mm:ssXXXXX",
        ]
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in formats {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
