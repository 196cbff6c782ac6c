import Kafka
import Synchronization

/// The records of a settled attempt (its audit record, and any retry or
/// dead letter), handed to Kafka and not yet acknowledged.
///
/// The attempt's task does not wait for Kafka: it returns, and its record's
/// offset stays in flight until this says the records are durable
/// (`RecordLifecycle` waits on it). A record Kafka fails to take is sent
/// again as `DeliverySettlement.produceDurably` does (a pointer dead letter
/// in place of one too large; a refusal held and reported), once, for every
/// observer; until then nothing past the attempt's record is committed.
public final class SettlementAcknowledgement: Sendable {
    private struct State {
        var durable: Bool?
        var observers: [@Sendable (Bool) -> Void] = []
    }

    private let state = Mutex(State())

    init(_ batch: BatchDelivery, records: [KafkaProducerRecord], for delivery: DeliveryRecord, settlement: DeliverySettlement) {
        batch.whenComplete { [self] results in
            let failed = zip(records, results).compactMap { record, result -> KafkaProducerRecord? in
                if case .failure = result { return record }
                return nil
            }
            guard !failed.isEmpty else { return resolve(true) }
            Task { resolve(await settlement.produceDurably(failed, for: delivery)) }
        }
    }

    /// Calls `observer` with whether the records became durable (false:
    /// the producer shut down first, so the attempt's record must not be
    /// committed): at once if known, otherwise on the thread that learns it.
    public func whenDurable(_ observer: @escaping @Sendable (Bool) -> Void) {
        let known = state.withLock { state -> Bool? in
            if state.durable == nil { state.observers.append(observer) }
            return state.durable
        }
        if let known { observer(known) }
    }

    private func resolve(_ durable: Bool) {
        let observers = state.withLock { state in
            state.durable = durable
            defer { state.observers = [] }
            return state.observers
        }
        for observer in observers { observer(durable) }
    }
}
