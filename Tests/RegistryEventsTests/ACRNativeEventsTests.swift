import RegistryEvents
import Testing

@Suite("ACR-native events are validated, naming the field")
struct ACRNativeEventsTests {
    let digest = Samples.digest

    func parse(_ json: String) throws(ACRNativeEvents.ValidationError) -> [RegistryEvent] {
        try ACRNativeEvents(parsing: Array(json.utf8), registry: "r", defaultLocation: "local").events
    }

    @Test func oneObjectOrAnArray() throws {
        let single = try parse(#"{"action":"push","target":{"repository":"hello","tag":"v1","digest":"\#(digest)"}}"#)
        #expect(single.count == 1)
        #expect(single[0].location == "local")
        #expect(single[0].target.mediaType == ACRNativeEvents.defaultManifestMediaType)
        let many = try parse(#"[{"id":"a","action":"delete","target":{"repository":"hello","digest":"\#(digest)"}},{"id":"b","action":"chart_push","location":"eastus","target":{"repository":"charts/x","tag":"1.0.0","digest":"\#(digest)"}}]"#)
        #expect(many.map(\.id) == ["a", "b"])
        #expect(many[1].target.name == "x")
        #expect(many[1].target.version == "1.0.0")
        #expect(many[1].location == "eastus")
        #expect(many[1].target.mediaType == ACRNativeEvents.acrChartMediaType)
    }

    @Test(arguments: [
        (#"{"action":"pusj","target":{"repository":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#, "$.action"),
        (#"{"action":"PUSH","target":{"repository":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#, "$.action"),
        (#"{"action":"ping","target":{"repository":"a"}}"#, "$.action"),
        (#"{"action":"push"}"#, "$.target"),
        (#"{"action":"push","target":{"repository":5}}"#, "$.target.repository"),
        (#"{"action":"push","target":{"repository":"Bad Name","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#, "$.target.repository"),
        (#"{"action":"push","target":{"repository":"a","tag":"v1"}}"#, "$.target.digest"),
        (#"{"action":"push","target":{"repository":"a","digest":"md5"}}"#, "$.target.digest"),
        (#"{"action":"push","target":{"repository":"a","tag":"bad tag","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#, "$.target.tag"),
        (#"{"action":"push","target":{"repository":"a","size":-1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#, "$.target.size"),
        (#"{"action":"push","timestamp":"2026-13-01T00:00:00Z","target":{"repository":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#, "$.timestamp"),
        (#"[{"action":"push","target":{"repository":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}},{"action":"delete"}]"#, "[1].target"),
        ("[]", "$"),
        ("not json", "$"),
        (#""text""#, "$"),
    ])
    func invalidEventsNameTheirField(_ json: String, _ field: String) {
        let error = #expect(throws: ACRNativeEvents.ValidationError.self) { try parse(json) }
        #expect(error?.field == field, "\(String(describing: error))")
    }
}

@Suite("Names follow the OCI distribution spec")
struct OCINamesTests {
    @Test(arguments: ["hello", "library/hello", "team/world", "a.b_c__d-e/f--g", "x/y/z"])
    func validRepositories(_ name: String) { #expect(OCINames.isValidRepository(name)) }

    @Test(arguments: ["", "Hello", "a//b", "/a", "a/", "a..b", "-a", "a b", String(repeating: "a", count: 256)])
    func invalidRepositories(_ name: String) { #expect(!OCINames.isValidRepository(name)) }

    @Test(arguments: ["v1", "latest", "1.0", "_x", "A-b.c_d"])
    func validTags(_ tag: String) { #expect(OCINames.isValidTag(tag)) }

    @Test(arguments: ["", "-v1", ".x", "a b", String(repeating: "t", count: 129)])
    func invalidTags(_ tag: String) { #expect(!OCINames.isValidTag(tag)) }

    @Test(arguments: ["myregistry", "my-registry.example", "r1", "a"])
    func validRegistryNames(_ name: String) { #expect(OCINames.isValidRegistryName(name)) }

    @Test(arguments: ["", "-r", "r-", "my registry", "a/b", String(repeating: "r", count: 64), "BAD..NAME", "a.-b"])
    func invalidRegistryNames(_ name: String) { #expect(!OCINames.isValidRegistryName(name)) }
}

@Suite("The deduplication window")
struct RecentEventsTests {
    /// Claims and, like a successful produce, confirms.
    func produced(_ recent: RecentEvents, _ id: String, registry: String = "r", now: ContinuousClock.Instant = .now) -> Bool {
        guard case .claimed = recent.claim(registry: registry, id: id, now: now) else { return false }
        recent.confirm(registry: registry, id: id)
        return true
    }

    @Test func aSecondClaimWithinTheWindowIsADuplicate() {
        let recent = RecentEvents(window: .init(capacity: 10, maxAge: .seconds(60)))
        let now = ContinuousClock.now
        #expect(produced(recent, "1", now: now))
        guard case .duplicate = recent.claim(registry: "r", id: "1", now: now + .seconds(1)) else {
            Issue.record("a confirmed id claimed again should be a duplicate")
            return
        }
        #expect(produced(recent, "1", registry: "other", now: now))
    }

    @Test func aReleasedClaimCanBeTakenAgain() {
        let recent = RecentEvents()
        guard case .claimed = recent.claim(registry: "r", id: "1") else { return #expect(Bool(false)) }
        recent.release(registry: "r", id: "1")
        #expect(produced(recent, "1"))
    }

    @Test func aCopyOfAnEventStillOnItsWayWaitsAndAnswersLikeTheFirst() async {
        let recent = RecentEvents()
        guard case .claimed = recent.claim(registry: "r", id: "ok") else { return #expect(Bool(false)) }
        guard case .pending(let waitingOK) = recent.claim(registry: "r", id: "ok") else { return #expect(Bool(false)) }
        recent.confirm(registry: "r", id: "ok")
        #expect(await waitingOK.outcome())

        guard case .claimed = recent.claim(registry: "r", id: "lost") else { return #expect(Bool(false)) }
        guard case .pending(let waitingLost) = recent.claim(registry: "r", id: "lost") else { return #expect(Bool(false)) }
        async let outcome = waitingLost.outcome()
        recent.release(registry: "r", id: "lost")
        #expect(await outcome == false, "the first copy failed: the duplicate must not answer 2xx")
        #expect(produced(recent, "lost"), "after a failure the registry's retry goes through")
    }

    @Test func oldAndOverflowingIDsAreForgotten() {
        let recent = RecentEvents(window: .init(capacity: 2, maxAge: .seconds(60)))
        let now = ContinuousClock.now
        #expect(produced(recent, "1", now: now))
        #expect(produced(recent, "2", now: now))
        #expect(produced(recent, "3", now: now))
        #expect(produced(recent, "1", now: now), "the oldest id should have left a full window")
        #expect(produced(recent, "2", now: now + .seconds(61)), "an id older than the window is forgotten")
        #expect(recent.count <= 3)
    }
}
