@testable import Kafka
import TestSupport
import Testing

/// Whose broker complaints are our own shutdown (logged at debug) and whose
/// are faults (keep their level).
@Suite(.machineHeavy) struct ExpectedDisconnectsTests {
    @Test func aClientsComplaintsAreExpectedOnlyOnceItsClusterWasStopped() {
        let cluster = ExpectedDisconnects.clusterStarted(bootstrapServers: "127.0.0.1:61001")
        ExpectedDisconnects.clientCreated("test#consumer-a", bootstrapServers: "127.0.0.1:61001")
        #expect(!ExpectedDisconnects.areExpected(for: "test#consumer-a"), "a broker lost while running is a fault")
        ExpectedDisconnects.clusterStopping(cluster)
        #expect(ExpectedDisconnects.areExpected(for: "test#consumer-a"))
        ExpectedDisconnects.clientDestroyed("test#consumer-a")
        #expect(!ExpectedDisconnects.areExpected(for: "test#consumer-a"))
    }

    @Test func clientsOfAnotherClusterOrOfNoEmbeddedOneAreNotSilenced() {
        let stopped = ExpectedDisconnects.clusterStarted(bootstrapServers: "127.0.0.1:61011")
        _ = ExpectedDisconnects.clusterStarted(bootstrapServers: "127.0.0.1:61012,127.0.0.1:61013")
        ExpectedDisconnects.clientCreated("test#producer-b", bootstrapServers: "127.0.0.1:61013")
        ExpectedDisconnects.clientCreated("test#producer-c", bootstrapServers: "kafka.example:9092")
        ExpectedDisconnects.clusterStopping(stopped)
        #expect(!ExpectedDisconnects.areExpected(for: "test#producer-b"))
        #expect(!ExpectedDisconnects.areExpected(for: "test#producer-c"))
    }

    @Test func aLaterClusterOnTheSamePortIsNotTakenForTheStoppedOne() {
        let first = ExpectedDisconnects.clusterStarted(bootstrapServers: "127.0.0.1:61021")
        ExpectedDisconnects.clusterStopping(first)
        _ = ExpectedDisconnects.clusterStarted(bootstrapServers: "127.0.0.1:61021")
        ExpectedDisconnects.clientCreated("test#admin-d", bootstrapServers: "127.0.0.1:61021")
        #expect(!ExpectedDisconnects.areExpected(for: "test#admin-d"))
    }

    @Test func theClientsOfARealEmbeddedClusterAreExpectedToLoseItAfterShutdown() async throws {
        let cluster = try EmbeddedKafkaCluster(logger: testLogger)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)),
            logger: testLogger)
        let name = producer.currentHandle.client.name
        #expect(!ExpectedDisconnects.areExpected(for: name))
        cluster.shutdown()
        #expect(ExpectedDisconnects.areExpected(for: name))
        await producer.shutdown(timeout: .milliseconds(100))
    }
}
