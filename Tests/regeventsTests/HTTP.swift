import AsyncHTTPClient
import Foundation
import NIOCore

/// A plain HTTP GET against the running server.
func httpGet(_ url: String) async throws -> (status: Int, body: Data, headers: [String: String]) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
    var headers: [String: String] = [:]
    for header in response.headers { headers[header.name.lowercased()] = header.value }
    return (Int(response.status.code), Data(body.readableBytesView), headers)
}

func jsonObject(_ data: Data) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw ProcessFailure("not a JSON object: \(String(decoding: data, as: UTF8.self))")
    }
    return object
}
