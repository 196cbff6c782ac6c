import Foundation
import TestSupport
import Testing

/// Azure's own management SDK (azure-mgmt-containerregistry, from PyPI),
/// unchanged, manages webhooks on RegistryEvents through the ARM paths.
@Suite("The Azure SDK manages webhooks unchanged", .machineHeavy)
struct AzureSDKTests {
    @Test func createShowListUpdatePingListEventsGetConfigDelete() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        let server = try await RunningServer.start(extraArguments: ["--admin-token", "adm1n", "--allow-private-targets"])
        defer { server.process.terminateQuietly() }
        let run = try await runPythonScript(
            "azure-sdk-webhooks.py", [server.baseURL, "adm1n", receiver.url("/sdk")], separateErrors: true)
        #expect(run.status == 0, "\(run.errors)")
        let result = try jsonObject(Data(run.output.utf8))
        let created = try #require(result["created"] as? [String: Any])
        #expect(created["type"] as? String == "Microsoft.ContainerRegistry/registries/webhooks")
        #expect(created["provisioningState"] as? String == "Succeeded")
        #expect(created["actions"] as? [String] == ["push", "delete"])
        #expect(created["location"] as? String == "westeurope")
        #expect(result["listed"] as? [String] == ["sdkhook01"])
        #expect((result["updated"] as? [String: Any])?["status"] as? String == "disabled")
        #expect(((result["config"] as? [String: Any])?["customHeaders"] as? [String: String])?["Authorization"] == "Bearer from-sdk")
        let events = try #require(result["events"] as? [[String: Any]])
        #expect(events.first?["action"] as? String == "ping")
        #expect(events.first?["statusCode"] as? String == "200")
        #expect(events.first?["id"] as? String == (result["ping"] as? [String: Any])?["id"] as? String)
        #expect((result["afterDelete"] as? [String])?.isEmpty == true)
        #expect(receiver.requests("/sdk").count == 1, "the SDK's ping reached the endpoint")
    }
}
