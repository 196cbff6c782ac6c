import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// A misspelt property of a management body is a 400 naming it and the
/// property it was meant to be; nothing is stored.
@Suite("Unknown properties suggest the closest known name", .machineHeavy)
struct UnknownPropertyTests {
    static let subscriptions = "/v1/registries/myreg/eventSubscriptions"
    static let webhooks = "/v1/registries/myreg/webhooks"
    static let armWebhooks = "/subscriptions/0000/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myreg/webhooks"
    static var destination: [String: Any] { ["endpointType": "WebHook", "properties": ["endpointUrl": EndpointSink.url()]] }

    @Test func aSubscriptionWithAMisspeltPropertyIsRefusedWithTheNameItMeant() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let body: [String: Any] = [
                "properties": [
                    "destination": ["endpointType": "WebHook", "properties": ["endpointUrl": EndpointSink.url(), "maxEventPerBatch": 10]]
                ]
            ]
            let answer = try await api.json(.put, "\(Self.subscriptions)/eg-sub1", body)
            #expect(answer.status == .badRequest)
            #expect(answer.error?.code == "InvalidEventSubscription")
            #expect(
                answer.error?.message
                    == "properties.destination.properties.maxEventPerBatch: unknown property; did you mean 'maxEventsPerBatch'?")
            #expect(try await api(.get, "\(Self.subscriptions)/eg-sub1").status == .notFound, "nothing was stored")
        }
    }

    @Test func aSubscriptionPatchInEitherShapeSuggestsToo() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            #expect(try await api.json(.put, "\(Self.subscriptions)/eg-sub1", ["properties": ["destination": Self.destination]]).status == .created)
            // Ours, and ARM's PATCH with the properties at the top level.
            for body in [["properties": ["lables": ["a"]]], ["lables": ["a"]]] as [[String: Any]] {
                let answer = try await api.json(.patch, "\(Self.subscriptions)/eg-sub1", body)
                #expect(answer.status == .badRequest)
                #expect(answer.error?.code == "InvalidEventSubscription")
                #expect(answer.error?.message == "properties.lables: unknown property; did you mean 'labels'?", "\(answer.text)")
            }
            let retry = try await api.json(.patch, "\(Self.subscriptions)/eg-sub1", ["properties": ["retryPolicy": ["maxDeliveryAttempt": 3]]])
            #expect(retry.error?.message == "properties.retryPolicy.maxDeliveryAttempt: unknown property; did you mean 'maxDeliveryAttempts'?")
        }
    }

    @Test func anEventGridFeatureWithNoCloseNameIsStillUnsupported() async throws {
        try await withTestServer { _, client in
            let body: [String: Any] = ["properties": ["destination": Self.destination, "expirationTimeUtc": "2030-01-01T00:00:00Z"]]
            let answer = try await JSONCall(client: client).json(.put, "\(Self.subscriptions)/eg-sub1", body)
            #expect(answer.status == .badRequest)
            #expect(
                answer.error?.message
                    == "properties.expirationTimeUtc: is not supported by RegistryEvents (see docs/subscriptions.md, differences from Event Grid)")
        }
    }

    @Test(arguments: [webhooks, armWebhooks])
    func aWebhookWithAMisspeltPropertyIsRefusedWithTheNameItMeant(_ base: String) async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let create = #"{"location":"westeurope","properties":{"serviceUrl":"https://hooks.example/acr","actions":["push"]}}"#
            let answer = try await api(.put, "\(base)/myhook01", create)
            #expect(answer.status == .badRequest)
            #expect(answer.error?.code == "InvalidRequestBody")
            #expect(answer.error?.message == "invalid webhook body: properties.serviceUrl: unknown property; did you mean 'serviceUri'?")
            #expect(try await api(.get, "\(base)/myhook01").status == .notFound, "nothing was stored")

            let good = #"{"properties":{"serviceUri":"https://hooks.example/acr","actions":["push"]}}"#
            #expect(try await api(.put, "\(base)/myhook01", good).status == .created)
            let patch = try await api(.patch, "\(base)/myhook01", #"{"properties":{"customHeader":{"Authorization":"Bearer x"}}}"#)
            #expect(patch.status == .badRequest)
            #expect(patch.error?.message == "invalid webhook body: properties.customHeader: unknown property; did you mean 'customHeaders'?")
        }
    }

    @Test func aWebhookPropertyNotCloseToAnyIsIgnoredAsBefore() async throws {
        try await withTestServer { _, client in
            // ARM clients may send what RegistryEvents does not implement.
            let body = #"{"sku":{"name":"Basic"},"properties":{"serviceUri":"https://hooks.example/acr","actions":["push"],"somethingElse":1}}"#
            let answer = try await JSONCall(client: client)(.put, "\(Self.webhooks)/myhook01", body)
            #expect(answer.status == .created, "\(answer.text)")
        }
    }

    @Test func aTopicWithAMisspeltPropertyIsRefusedWithTheNameItMeant() async throws {
        try await withTestServer { _, client in
            let api = JSONCall(client: client)
            let answer = try await api(.put, "/v1/topics/orders", #"{"properties":{"inputSchem":"CloudEventSchemaV1_0"}}"#)
            #expect(answer.status == .badRequest)
            #expect(answer.error?.code == "InvalidRequestBody")
            #expect(answer.error?.message == "invalid topic body: properties.inputSchem: unknown property; did you mean 'inputSchema'?")
            #expect(try await api(.get, "/v1/topics/orders").status == .notFound, "nothing was stored")

            #expect(try await api(.put, "/v1/topics/orders").status == .created)
            let regenerate = try await api(.post, "/v1/topics/orders/regenerateKey", #"{"keyname":"key1"}"#)
            #expect(regenerate.status == .badRequest)
            #expect(regenerate.error?.message == "invalid regenerateKey body: keyname: unknown property; did you mean 'keyName'?")
        }
    }
}
