@testable import Kafka
import TestSupport
import Testing

@Suite("The producer's state machine", .machineHeavy)
struct ProducerStateMachineTests {
    private func handle(generation: Int = 1) throws -> ProducerHandle {
        // Never connects: nothing is produced on it.
        try ProducerHandle.make(
            configuration: KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: "127.0.0.1:9")),
            generation: generation)
    }

    @Test func aFatalErrorFailsOnlySendsLibrdkafkaTookNotOnesStillBeingEnqueued() throws {
        let broken = try handle()
        var machine = ProducerStateMachine(handle: broken)
        let batch = BatchDelivery(count: 2)
        guard case .produce(let taken, _) = machine.register(.batch(batch, index: 0)),
            case .produce(let enqueuing, _) = machine.register(.batch(batch, index: 1))
        else { Issue.record("a started producer refused a send"); return }
        machine.handedOver(taken)

        guard case .fail(let failed, recreating: true) = machine.fatalErrorRaised(onGeneration: broken.generation) else {
            Issue.record("the fatal error was not handled")
            return
        }
        #expect(failed.count == 1, "only the send librdkafka took fails")
        // The other one's sender sees its enqueue refused, unregisters and tries again on the new handle.
        #expect(machine.complete(enqueuing) != nil)
        #expect(machine.complete(taken) == nil)
        guard case .recreate = machine.nextPollAction() else { Issue.record("no recreation"); return }
        _ = machine.recreated(try handle(generation: 2))
        guard case .produce(_, let current) = machine.register(.batch(batch, index: 1)) else { return }
        #expect(current.generation == 2)
    }
}
