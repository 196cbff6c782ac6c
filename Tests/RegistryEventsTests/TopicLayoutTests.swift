import RegistryEvents
import Testing

@Suite struct TopicLayoutTests {
    @Test func namesEveryTopicUnderThePrefix() {
        let layout = TopicLayout(prefix: "acme")
        #expect(layout.acr == "acme.acr")
        #expect(layout.cloudEvents == "acme.cloudevents")
        #expect(layout.deliveries == "acme.deliveries")
        #expect(layout.deadLetter == "acme.deadletter")
        #expect(layout.retryTiers == [
            "acme.retry.10s", "acme.retry.30s", "acme.retry.1m", "acme.retry.5m", "acme.retry.10m",
            "acme.retry.30m", "acme.retry.1h", "acme.retry.3h", "acme.retry.6h", "acme.retry.12h",
        ])
        #expect(Set(layout.allTopics).count == 14)
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
