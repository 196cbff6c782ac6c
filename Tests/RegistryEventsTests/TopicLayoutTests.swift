import RegistryEvents
import Testing

@Suite struct TopicLayoutTests {
    @Test func namesEveryTopicUnderThePrefix() {
        let layout = TopicLayout(prefix: "acme")
        #expect(layout.acr == "acme.acr")
        #expect(layout.cloudEvents == "acme.cloudevents")
        #expect(layout.deliveries == "acme.deliveries")
        #expect(layout.deadLetter == "acme.deadletter")
        #expect(layout.operations == "acme.operations")
        #expect(layout.retryTiers == [
            "acme.retry.10s", "acme.retry.30s", "acme.retry.1m", "acme.retry.5m", "acme.retry.10m",
            "acme.retry.30m", "acme.retry.1h", "acme.retry.3h", "acme.retry.6h", "acme.retry.12h",
        ])
        #expect(Set(layout.allTopics).count == 15)
    }

    @Test func resolvesAliasesTiersAndFullNames() {
        let layout = TopicLayout()
        #expect(layout.resolve("acr") == "registry-events.acr")
        #expect(layout.resolve("deadletter") == "registry-events.deadletter")
        #expect(layout.resolve("retry.1m") == "registry-events.retry.1m")
        #expect(layout.resolve("retry.2m") == "retry.2m")
        #expect(layout.resolve("some.other.topic") == "some.other.topic")
    }

    @Test func everyGroupReadsATopicOfTheLayout() {
        let layout = TopicLayout()
        let topics = Set(layout.allTopics)
        #expect(layout.consumerGroupsByTopic.keys.allSatisfy(topics.contains))
        #expect(layout.consumerGroupsByTopic[layout.acr] == ["registry-events.webhooks"])
    }

    @Test(arguments: ["registry-events", "a.b_c-1", "X"])
    func acceptsKafkaTopicCharacters(_ prefix: String) {
        #expect(TopicLayout.isValidPrefix(prefix))
    }

    @Test(arguments: ["", "has space", "slash/no", "ümlaut", ".", String(repeating: "a", count: 201)])
    func rejectsWhatKafkaWouldRefuse(_ prefix: String) {
        #expect(!TopicLayout.isValidPrefix(prefix))
    }
}

@Suite("Webhook matching: scope, actions, status, location")
struct WebhookMatchingTests {
    func event(_ action: RegistryAction = .push, repository: String = "hello", tag: String? = "v1", location: String = "local") -> RegistryEvent {
        RegistryEvent(
            id: "e", timestamp: "2026-11-25T00:00:00Z", action: action, registry: "r", location: location,
            target: .init(digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000", repository: repository, tag: tag))
    }

    func webhook(scope: String = "", actions: [RegistryAction] = [.push], status: WebhookStatus = .enabled, location: String = "local") -> Webhook {
        Webhook(registry: "r", name: "hook1", serviceURI: "http://x", actions: actions, scope: WebhookScope(scope), status: status, location: location)
    }

    @Test(arguments: [
        ("", "hello", "v1", true), ("hello:v1", "hello", "v1", true), ("hello:v1", "hello", "v2", false),
        ("hello:*", "hello", "v2", true), ("hello:*", "other", "v2", false), ("hello", "hello", "latest", true),
        ("hello", "hello", "v1", false), ("team/*:*", "team/a", "x", true), ("team/*:*", "teams/a", "x", false),
        ("team/*:v1", "team/a/b", "v1", true),
    ])
    func scopes(_ scope: String, _ repository: String, _ tag: String, _ expected: Bool) {
        #expect(webhook(scope: scope).matches(event(repository: repository, tag: tag)) == expected)
    }

    @Test func actionsStatusAndLocationFilter() {
        #expect(!webhook(actions: [.delete]).matches(event(.push)))
        #expect(webhook(actions: [.delete, .push]).matches(event(.push)))
        #expect(!webhook(status: .disabled).matches(event()))
        #expect(!webhook(location: "eastus").matches(event(location: "westus")))
        #expect(webhook(location: "eastus").matches(event(location: "eastus")))
    }

    @Test func aDeleteWithoutTagIsInRepositoryWideScopesOnly() {
        #expect(webhook(scope: "hello:*", actions: [.delete]).matches(event(.delete, tag: nil)))
        #expect(!webhook(scope: "hello:v1", actions: [.delete]).matches(event(.delete, tag: nil)))
    }

    @Test func namesActionsAndScopesAreValidated() {
        #expect(Webhook.isValidName("hook1"))
        #expect(!Webhook.isValidName("hook"))
        #expect(!Webhook.isValidName("hook-1"))
        #expect(!Webhook.isValidName(String(repeating: "a", count: 51)))
        #expect((try? Webhook.parseActions(["PUSH", "Delete", "push"]).get()) == [.push, .delete])
        #expect((try? Webhook.parseActions(["pull"]).get()) == nil)
        #expect((try? Webhook.parseActions(["ping"]).get()) == nil)
        #expect((try? Webhook.parseActions([]).get()) == nil)
        #expect(WebhookScope("hello:*").problem == nil)
        #expect(WebhookScope("Bad Repo:v1").problem != nil)
        #expect(WebhookScope("hello:bad tag").problem != nil)
    }
}
