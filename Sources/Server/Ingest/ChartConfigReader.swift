import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Delivery
import RegistryEvents

/// Reads a pushed Helm chart's name and version from its config blob, from
/// the registry that announced it (the event's manifest URL gives scheme and
/// host). The tag is only a guess at the version and the repository only a
/// guess at the name; the config (`{"name":…,"version":…}`) is the truth.
/// Best effort: a registry that is unreachable, slow (2 s) or wants
/// credentials leaves the guesses in place. The read is an outbound request
/// to a host the event names, so it goes through the target guard like a
/// delivery, and an envelope gets at most `maxReadsPerEnvelope` of them.
struct ChartConfigReader: Sendable {
    let http: GuardedHTTPClient
    let logger: Logger
    /// For the whole read: connect, head and body.
    var timeout: Duration = .seconds(2)
    /// A chart config is small; anything bigger is not one.
    var maxConfigBytes = 64 * 1024
    /// Reads one envelope may cause; its later chart pushes keep the guesses.
    static let maxReadsPerEnvelope = 10

    private struct ChartConfig: Decodable {
        let name: String?
        let version: String?
    }

    func enrich(_ event: RegistryEvent) async -> RegistryEvent {
        guard event.action == .chartPush, let configDigest = event.target.configDigest,
            let base = Self.registryBase(of: event.target.url)
        else { return event }
        let url = "\(base)/v2/\(event.target.repository)/blobs/\(configDigest)"
        let read = await Deadline.run(within: timeout) { await self.read(url, event: event) }
        if read == nil { logger.debug("Chart config not readable in time", metadata: ["url": "\(url)"]) }
        return read ?? event
    }

    private func read(_ url: String, event: RegistryEvent) async -> RegistryEvent {
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/vnd.cncf.helm.config.v1+json, application/json")
            let response = try await http.execute(request, timeout: timeout + .seconds(1))
            let body = try await response.body.collect(upTo: maxConfigBytes)
            guard response.status == .ok else {
                logger.debug("Chart config not readable", metadata: ["url": "\(url)", "status": "\(response.status.code)"])
                return event
            }
            let config = try JSONDecoder().decode(ChartConfig.self, from: Data(body.readableBytesView))
            var enriched = event
            if let name = config.name, !name.isEmpty { enriched.target.name = name }
            if let version = config.version, !version.isEmpty { enriched.target.version = version }
            return enriched
        } catch {
            logger.debug("Chart config not readable", metadata: ["url": "\(url)", "error": "\(error)"])
            return event
        }
    }

    /// `scheme://host[:port]` of a Distribution manifest URL, for http(s) only.
    static func registryBase(of url: String?) -> String? {
        guard let url, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)\(components.port.map { ":\($0)" } ?? "")"
    }
}
