import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Store
import TestSupport
import Testing

@Suite("Webhook management with az acr webhook semantics", .machineHeavy)
struct WebhookRoutesTests {
    static let createBody = #"{"location":"westeurope","tags":{"team":"a"},"properties":{"serviceUri":"https://hooks.example/acr?code=secret","customHeaders":{"Authorization":"Bearer top-secret"},"actions":["PUSH","delete"],"scope":"hello:*"}}"#

    func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test func createShowListUpdateDeleteInARMShapes() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .put, headers: .json, body: ByteBuffer(string: Self.createBody)) {
                #expect($0.status == .created)
                let body = try json($0)
                #expect(body["id"] as? String == "/v1/registries/myreg/webhooks/hook01")
                #expect(body["name"] as? String == "hook01")
                #expect(body["type"] as? String == "Microsoft.ContainerRegistry/registries/webhooks")
                #expect(body["location"] as? String == "westeurope")
                let properties = try #require(body["properties"] as? [String: Any])
                #expect(properties["actions"] as? [String] == ["push", "delete"])
                #expect(properties["status"] as? String == "enabled")
                #expect(properties["scope"] as? String == "hello:*")
                #expect(properties["provisioningState"] as? String == "Succeeded")
                let text = String(buffer: $0.body)
                #expect(!text.contains("top-secret"), "header values are write-only")
                #expect(!text.contains("serviceUri"))
            }
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .put, headers: .json, body: ByteBuffer(string: Self.createBody)) {
                #expect($0.status == .ok, "a second PUT replaces")
            }
            try await client.execute(uri: "/v1/registries/myreg/webhooks", method: .get) {
                let value = try #require(try json($0)["value"] as? [[String: Any]])
                #expect(value.map { $0["name"] as? String } == ["hook01"])
                #expect(!String(buffer: $0.body).contains("top-secret"))
            }
            try await client.execute(
                uri: "/v1/registries/myreg/webhooks/hook01", method: .patch, headers: .json,
                body: ByteBuffer(string: #"{"properties":{"status":"disabled","actions":["quarantine"]}}"#)
            ) {
                #expect($0.status == .ok)
                let properties = try #require(try json($0)["properties"] as? [String: Any])
                #expect(properties["status"] as? String == "disabled")
                #expect(properties["actions"] as? [String] == ["quarantine"])
                #expect(properties["scope"] as? String == "hello:*", "PATCH keeps what it does not name")
            }
            for method in [HTTPRequest.Method.post] {
                try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01/getCallbackConfig", method: method) {
                    let body = try json($0)
                    #expect(body["serviceUri"] as? String == "https://hooks.example/acr?code=secret")
                    #expect((body["customHeaders"] as? [String: String])?["Authorization"] == "Bearer top-secret")
                }
            }
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01/config", method: .get) {
                let headers = try json($0)["customHeaders"] as? [String: String]
                #expect(headers?["Authorization"] == "Bearer top-secret")
            }
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .delete) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .delete) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .get) {
                #expect($0.status == .notFound)
                let error = try $0.decoded(ErrorBody.self).error
                #expect(error.code == "NotFound")
            }
        }
    }

    @Test func theARMPathsServeTheSameResources() async throws {
        try await withTestServer { _, client in
            let base = "/subscriptions/0000/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myreg/webhooks"
            try await client.execute(uri: "\(base)/armhook1?api-version=2025-11-01", method: .put, headers: .json, body: ByteBuffer(string: Self.createBody)) {
                #expect($0.status == .created)
                let id = try json($0)["id"] as? String
                #expect(id == "\(base)/armhook1")
            }
            try await client.execute(uri: "/v1/registries/myreg/webhooks/armhook1", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "\(base)?api-version=2019-05-01", method: .get) {
                let value = try json($0)["value"] as? [Any]
                #expect(value?.count == 1)
            }
        }
    }

    @Test(arguments: [
        ("/v1/registries/myreg/webhooks/bad-name", Self.createBody, 400, "InvalidWebhookName"),
        ("/v1/registries/myreg/webhooks/abc", Self.createBody, 400, "InvalidWebhookName"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"serviceUri":"https://x","actions":["pull"]}}"#, 400, "InvalidActions"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"serviceUri":"https://x","actions":[]}}"#, 400, "InvalidActions"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"serviceUri":"not a url","actions":["push"]}}"#, 400, "InvalidServiceUri"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"serviceUri":"ftp://x/y","actions":["push"]}}"#, 400, "InvalidServiceUri"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"serviceUri":"https://x","actions":["push"],"scope":"Bad Repo"}}"#, 400, "InvalidScope"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"serviceUri":"https://x","actions":["push"],"status":"paused"}}"#, 400, "InvalidStatus"),
        ("/v1/registries/myreg/webhooks/hook02", #"{"properties":{"actions":["push"]}}"#, 400, "InvalidRequestBody"),
        ("/v1/registries/myreg/webhooks/hook02", "nope", 400, "InvalidRequestBody"),
    ])
    func badInputIsAClear400(_ uri: String, _ body: String, _ status: Int, _ code: String) async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: uri, method: .put, headers: .json, body: ByteBuffer(string: body)) {
                #expect(Int($0.status.code) == status)
                let error = try $0.decoded(ErrorBody.self).error
                #expect(error.code == code, "\(error.message)")
            }
        }
    }

    @Test func theQuotaAndTheAdminTokenAreEnforced() async throws {
        try await withTestServer(adminToken: "adm1n", webhookQuota: 1) { _, client in
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .put, headers: .json, body: ByteBuffer(string: Self.createBody)) {
                #expect($0.status == .unauthorized)
            }
            let auth: HTTPFields = [.authorization: "Bearer adm1n", .contentType: "application/json"]
            try await client.execute(
                uri: "/v1/registries/myreg/webhooks/hook01", method: .put, headers: auth, body: ByteBuffer(string: Self.createBody)
            ) { #expect($0.status == .created) }
            try await client.execute(
                uri: "/v1/registries/myreg/webhooks/hook02", method: .put, headers: auth, body: ByteBuffer(string: Self.createBody)
            ) {
                #expect($0.status == .conflict)
                let error = try $0.decoded(ErrorBody.self).error
                #expect(error.code == "QuotaExceeded")
                #expect(error.message.contains("quota"))
            }
        }
    }

    @Test func listEventsGivesANextLinkOnlyWhenThereIsANextPage() async throws {
        try await withTestServer { dependencies, client in
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01", method: .put, headers: .json, body: ByteBuffer(string: Self.createBody)) {
                #expect($0.status == .created)
            }
            for id in ["e1", "e2", "e3"] {
                try await dependencies.store.appendDeliveryLog(
                    DeliveryLogEntry(
                        registry: "myreg", webhook: "hook01", eventID: id, attempt: 1,
                        request: DeliveryLogEntry.RequestMessage(method: "POST", requestUri: "https://hooks.example/acr", headers: [:], content: "{}"),
                        response: DeliveryLogEntry.ResponseMessage(statusCode: "200", reasonPhrase: "OK", headers: [:], content: "ok")),
                    keep: 1000)
            }
            var link: String? = "/v1/registries/myreg/webhooks/hook01/events?top=2"
            var pages: [[String]] = []
            while let next = link {
                try await client.execute(uri: next, method: .get) {
                    let body = try json($0)
                    pages.append(((body["value"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
                    link = body["nextLink"] as? String
                }
            }
            #expect(pages == [["e3", "e2"], ["e1"]], "newest first; the last page has no nextLink")
            try await client.execute(uri: "/v1/registries/myreg/webhooks/hook01/events?top=3", method: .get) {
                let body = try json($0)
                #expect(body["nextLink"] == nil, "a page holding everything has no nextLink")
            }
        }
    }
}
