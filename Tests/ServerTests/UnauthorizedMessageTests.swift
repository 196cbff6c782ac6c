import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import TestSupport
import Testing

/// A 401 says which token is missing or wrong and where a client takes it from.
@Suite("A 401 names the token and how to give it", .machineHeavy)
struct UnauthorizedMessageTests {
    static let admin = "(the CLI's --admin-token or REGEVENTS_ADMIN_TOKEN)"

    @Test func aManagementRouteNamesTheAdminToken() async throws {
        try await withTestServer(adminToken: "adm1n") { _, client in
            let api = JSONCall(client: client)
            for uri in ["/v1/registries/myreg/webhooks", "/v1/registries/myreg/eventSubscriptions", "/v1/topics"] {
                let none = try await api(.get, uri)
                #expect(none.status == .unauthorized)
                #expect(none.error?.code == "Unauthorized")
                #expect(none.error?.message == "this route needs the admin token: send Authorization: Bearer <admin token> \(Self.admin)")
                let wrong = try await api(.get, uri, headers: [.authorization: "Bearer nope"])
                #expect(wrong.status == .unauthorized)
                #expect(wrong.error?.message == "wrong admin token: send Authorization: Bearer <admin token> \(Self.admin)")
                #expect(wrong.error?.message.contains("adm1n") == false, "the token is never echoed")
                #expect(try await api(.get, uri, headers: [.authorization: "Bearer adm1n"]).status == .ok)
            }
        }
    }

    @Test func anIngestRouteNamesTheIngestToken() async throws {
        try await withTestServer(ingest: IngestSettings(token: "s3cret")) { _, client in
            let answer = try await JSONCall(client: client)(.post, "/v1/registries/r/events", "{}")
            #expect(answer.status == .unauthorized)
            #expect(
                answer.error?.message
                    == "this route needs the ingest token: send Authorization: Bearer <ingest token> (the token serve was given with --ingest-token or REGEVENTS_INGEST_TOKEN)"
            )
        }
    }
}
