import ServiceLifecycle

/// How a target with `ordering: perKey` is attempted: never through a retry
/// tier (later events of the key would overtake it), so a full lane or an
/// open breaker is waited out here, and a failed attempt is retried in
/// place on the policy's schedule until it is delivered or dead-lettered.
/// Its record stays in flight meanwhile (the documented trade-off).
enum OrderedDelivery {
    static let notDurable = DeliverySettlement.Settled(result: .retrying, deadLetters: [], isDurable: false)

    static func run(
        _ record: DeliveryRecord, lanes: DeliveryLanes, limit: Int?, generation: Double? = nil,
        attempt: (DeliveryRecord) async -> AttemptOutcome,
        settle: (DeliveryRecord, AttemptOutcome) async -> DeliverySettlement.Settled,
        healthChanged: (DeliveryLanes.HealthChange, AttemptOutcome) async -> Void = { _, _ in }
    ) async -> DeliverySettlement.Settled {
        var current = record
        while true {
            var ticket: LaneTicket?
            while ticket == nil {
                switch lanes.admit(current.laneKey, limit: limit, generation: generation) {
                case .admitted(let admitted): ticket = admitted
                case .deferred(let wait, _):
                    guard await pause(min(wait, .seconds(1))) else { return notDurable }
                }
            }
            let outcome = await attempt(current)
            let change = ticket?.finish(outcome)
            let settled = await settle(current, outcome)
            if let change { await healthChanged(change, outcome) }
            guard settled.isDurable, let (next, wait) = settled.retryInPlace else { return settled }
            guard await pause(wait) else { return notDurable }
            current = next
        }
    }

    /// Sleeps unless a graceful shutdown (or cancellation) comes first.
    static func pause(_ delay: Duration) async -> Bool {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        return !Task.isShuttingDownGracefully && !Task.isCancelled
    }
}
