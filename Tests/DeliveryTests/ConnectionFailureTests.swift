import AsyncHTTPClient
@testable import Delivery
import TestSupport
import Testing

@Suite("Why an attempt got no answer, in a few words", .machineHeavy)
struct ConnectionFailureTests {
    /// A port nobody listens on: the outcome says so plainly, as list-events,
    /// `.deliveries` and a failed validation handshake show it.
    @Test func aRefusedConnectionIsNamedWithoutNIOsUnbalancedText() async throws {
        // Configured as serve configures its client.
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let sender = WebhookSender(http: .allowingPrivateTargets(client), timeout: .seconds(30))
        let outcome = await sender.send(OutboundRequest(method: "POST", url: "http://127.0.0.1:1/hook", headers: [], body: "{}"))
        try await client.shutdown()
        #expect(outcome.statusCode == nil)
        #expect(outcome.error == "connection refused")
    }

    @Test func parenthesesThatDoNotPairUpAreDropped() {
        #expect(ConnectionFailure.balanced("reset (error set): refused) (errno: 111)") == "reset (error set): refused (errno: 111)")
        #expect(ConnectionFailure.balanced("a (b (c)") == "a b (c)")
    }
}
