import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Delivery
import RegistryEvents

/// Looks up what a tag points at in a registry's Distribution API, for
/// registries whose webhooks name a tag but no digest (Quay, Docker Hub):
/// `HEAD /v2/<repository>/manifests/<tag>`, answering its Bearer token
/// challenge (anonymously, or with the configured credentials) as `docker
/// pull` does. The registry's URL is the operator's (`serve --quay-registry-url`,
/// `--dockerhub-registry-url`), never the payload's.
///
/// The tag may have moved again between the push and the lookup; the digest
/// is then the newer one (the registries give no way to tell).
public struct ManifestDigestResolver: Sendable {
    public struct Configuration: Sendable {
        /// `https://quay.io`, `https://registry-1.docker.io`, …
        public var baseURL: String
        /// `user:password` (or a robot token), for the token service or Basic auth.
        public var credentials: String?
        /// For one whole lookup: challenge, token and manifest.
        public var timeout: Duration

        public init(baseURL: String, credentials: String? = nil, timeout: Duration = .seconds(5)) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.credentials = credentials
            self.timeout = timeout
        }
    }

    public struct Manifest: Sendable, Equatable {
        public var digest: String
        public var mediaType: String
        public var size: Int64
    }

    /// Why a lookup gave no digest.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The registry answered that the tag (or the repository) is not
        /// there, or that the credentials may not read it: no retry helps.
        case refused(String)
        /// No answer in time, a 5xx, a broken connection: a retry may.
        case unavailable(String)

        public var description: String {
            switch self {
            case .refused(let message), .unavailable(let message): message
            }
        }
    }

    static let manifestTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
    ]
    static let accept = manifestTypes.sorted().joined(separator: ", ")
    /// A manifest read whole (when the registry gives no digest header) is no bigger.
    static let maxManifestBytes = 4 << 20

    let configuration: Configuration
    let http: HTTPClient
    let logger: Logger

    public init(configuration: Configuration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    public func resolve(repository: String, tag: String) async -> Result<Manifest, Failure> {
        let url = "\(configuration.baseURL)/v2/\(repository)/manifests/\(tag)"
        let outcome = await Deadline.run(within: configuration.timeout) { await self.lookUp(url, repository: repository) }
        return outcome ?? .failure(.unavailable("\(url) did not answer within \(configuration.timeout)"))
    }

    private func lookUp(_ url: String, repository: String) async -> Result<Manifest, Failure> {
        do {
            var authorization: String?
            var response = try await manifest(url, method: .HEAD, authorization: nil)
            if response.status == .unauthorized {
                authorization = try await answer(challenge: response.headers.first(name: "www-authenticate"), url: url, repository: repository)
                response = try await manifest(url, method: .HEAD, authorization: authorization)
            }
            try Self.check(response, url)
            if let digest = response.headers.first(name: "docker-content-digest"), OCINames.isValidDigest(digest) {
                return .success(Manifest(digest: digest, mediaType: Self.mediaType(response), size: Self.size(response)))
            }
            // No digest header (the spec allows that on HEAD): read the manifest and hash it.
            let full = try await manifest(url, method: .GET, authorization: authorization)
            try Self.check(full, url)
            let mediaType = Self.mediaType(full)
            guard Self.manifestTypes.contains(mediaType) else {
                return .failure(.refused("\(url) answered GET with \(mediaType.isEmpty ? "no media type" : mediaType), not a manifest"))
            }
            if let encoding = full.headers.first(name: "content-encoding"), encoding.lowercased() != "identity" {
                return .failure(.refused("\(url) answered GET with Content-Encoding \(encoding): its digest cannot be computed"))
            }
            let bytes = Array(try await full.body.collect(upTo: Self.maxManifestBytes).readableBytesView)
            let computed = "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            if let stated = full.headers.first(name: "docker-content-digest"), OCINames.isValidDigest(stated) {
                // Another algorithm cannot be checked here: the registry's word stands.
                guard stated == computed || !stated.hasPrefix("sha256:") else {
                    return .failure(.refused("\(url) says \(stated), but its manifest hashes to \(computed)"))
                }
                return .success(Manifest(digest: stated, mediaType: mediaType, size: Int64(bytes.count)))
            }
            return .success(Manifest(digest: computed, mediaType: mediaType, size: Int64(bytes.count)))
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(.unavailable("\(url): \(error)"))
        }
    }

    /// 200 passes. A retry may help after 408, 429 or a 5xx; nothing will
    /// after any other answer (a redirect is not followed: the registry URL
    /// is the operator's to correct).
    static func check(_ response: HTTPClientResponse, _ url: String) throws(Failure) {
        let code = Int(response.status.code)
        switch code {
        case 200:
            return
        case 408, 429, 500...599:
            throw .unavailable("\(url) answered HTTP \(code)")
        case 300...399:
            throw .refused("\(url) answered HTTP \(code), redirecting to \(response.headers.first(name: "location") ?? "nowhere"); set the registry's URL to where it redirects")
        default:
            throw .refused("\(url) answered HTTP \(code)")
        }
    }

    static func mediaType(_ response: HTTPClientResponse) -> String {
        response.headers.first(name: "content-type").map { String($0.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces) } ?? ""
    }

    static func size(_ response: HTTPClientResponse) -> Int64 {
        max(0, response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0)
    }

    private func manifest(_ url: String, method: HTTPMethod, authorization: String?) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: Self.accept)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await http.execute(request, timeout: .milliseconds(configuration.timeout.wholeMilliseconds))
        if method == .HEAD { _ = try? await response.body.collect(upTo: 0) }
        return response
    }

    /// The `Authorization` a challenge asks for: a Bearer token from its
    /// realm (with Basic credentials when configured), or Basic itself.
    private func answer(challenge: String?, url: String, repository: String) async throws -> String {
        let basic = configuration.credentials.map { "Basic " + Data($0.utf8).base64EncodedString() }
        guard let challenge, let parsed = BearerChallenge(challenge) else {
            if let basic, challenge?.lowercased().hasPrefix("basic") == true { return basic }
            throw Failure.refused("\(url) wants credentials (\(challenge ?? "no WWW-Authenticate"))")
        }
        var components = URLComponents(string: parsed.realm)
        var query = components?.queryItems ?? []
        if let service = parsed.service { query.append(URLQueryItem(name: "service", value: service)) }
        // Without a scope, the one `docker pull` asks for.
        query.append(URLQueryItem(name: "scope", value: parsed.scope ?? "repository:\(repository):pull"))
        components?.queryItems = query
        let scheme = components?.scheme?.lowercased() ?? ""
        guard let tokenURL = components?.string, ["http", "https"].contains(scheme), components?.user == nil else {
            throw Failure.refused("\(url) names a token service that is no http(s) URL: \(parsed.realm)")
        }
        // The credentials go where the registry says, as docker's do, but never in clear text from an https registry.
        if scheme == "http", configuration.baseURL.lowercased().hasPrefix("https:") {
            throw Failure.refused("\(url) names a token service over plain http: \(parsed.realm)")
        }
        var request = HTTPClientRequest(url: tokenURL)
        if let basic { request.headers.add(name: "Authorization", value: basic) }
        let response = try await http.execute(request, timeout: .milliseconds(configuration.timeout.wholeMilliseconds))
        let body = try await response.body.collect(upTo: 64 * 1024)
        try Self.check(response, "the token service \(parsed.realm)")
        struct Token: Decodable {
            let token: String?
            let access_token: String?
        }
        guard let token = try? JSONDecoder().decode(Token.self, from: Data(body.readableBytesView)),
            let value = token.token ?? token.access_token, !value.isEmpty
        else { throw Failure.unavailable("the token service \(parsed.realm) answered no token") }
        return "Bearer \(value)"
    }
}

/// `Bearer realm="…",service="…",scope="…"` (RFC 6750 as Distribution's token
/// authentication uses it).
struct BearerChallenge: Equatable {
    var realm: String
    var service: String?
    var scope: String?

    init(realm: String, service: String?, scope: String?) {
        self.realm = realm
        self.service = service
        self.scope = scope
    }

    init?(_ header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bearer ") else { return nil }
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed.dropFirst("bearer ".count))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first, character != "\"" {
                    if character == "\\", let next = rest.dropFirst().first {
                        value.append(next)
                        rest = rest.dropFirst(2)
                    } else {
                        value.append(character)
                        rest = rest.dropFirst()
                    }
                }
                rest = rest.dropFirst()
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end]).trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[name] = value
        }
        guard let realm = parameters["realm"], !realm.isEmpty else { return nil }
        self.realm = realm
        service = parameters["service"]
        scope = parameters["scope"]
    }
}
