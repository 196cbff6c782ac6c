import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// The OpenAPI document is served, and is docs/openapi.yaml as it is now.
@Suite("The OpenAPI document", .machineHeavy)
struct OpenAPITests {
    @Test func itIsServedAtOpenAPIJSONWithoutAToken() async throws {
        try await withTestServer(adminToken: "adm1n") { _, client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let document = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect((document?["openapi"] as? String)?.hasPrefix("3.1") == true)
                let paths = document?["paths"] as? [String: Any] ?? [:]
                #expect(paths.keys.contains("/v1/registries/{registry}/notifications"))
                #expect(paths.keys.contains("/v1/registries/{registry}/webhooks/{name}"))
            }
        }
    }

    @Test func theEmbeddedCopyIsDocsOpenAPIYAML() async throws {
        let result = try await runPythonScript("openapi-json", ["--check"])
        #expect(result.status == 0, "\(result.output)")
    }
}
