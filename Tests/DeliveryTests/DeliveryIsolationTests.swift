@testable import Delivery
import TestSupport
import Foundation
import Synchronization
import Testing

@Suite("Per-target isolation: the circuit breaker's rule", .machineHeavy)
struct CircuitBreakerTests {
    static let start = ContinuousClock.now
    static func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    @Test func opensAfterTenConsecutiveFailuresThenProbesOnceAndClosesOnSuccess() {
        var breaker = CircuitBreaker()
        for index in 0..<9 { breaker.record(failed: true, now: Self.at(Double(index))) }
        #expect(breaker.state == .closed)
        breaker.record(failed: true, now: Self.at(9))
        #expect(breaker.state == .open)
        let coolingDown = breaker.decide(now: Self.at(20))
        #expect(coolingDown == .refuse(until: Self.at(39)), "cool-down: 30 s")
        let probe = breaker.decide(now: Self.at(39))
        #expect(probe == .probe, "then one probe")
        #expect(breaker.state == .halfOpen)
        let second = breaker.decide(now: Self.at(39.5))
        #expect(second != .probe, "only one probe at a time")
        let closed = breaker.record(failed: false, probe: true, now: Self.at(40))
        #expect(closed, "a successful probe closes it")
        #expect(breaker.state == .closed)
        let after = breaker.decide(now: Self.at(41))
        #expect(after == .attempt)
    }

    @Test func aFailedProbeDoublesTheCoolDownUpToTenMinutes() {
        var breaker = CircuitBreaker()
        for _ in 0..<10 { breaker.record(failed: true, now: Self.at(0)) }
        var now = 0.0
        var coolDowns: [Double] = []
        for _ in 0..<7 {
            guard let reopens = breaker.reopensAt else { break }
            let coolDown = Double((reopens - Self.at(now)).components.seconds)
            coolDowns.append(coolDown)
            now += coolDown
            let decision = breaker.decide(now: Self.at(now))
            #expect(decision == .probe)
            breaker.record(failed: true, probe: true, now: Self.at(now))
        }
        #expect(coolDowns == [30, 60, 120, 240, 480, 600, 600])
    }

    @Test func opensWhenMoreThanHalfOfTwentyAttemptsIn30SecondsFail() {
        var breaker = CircuitBreaker()
        // Alternate so there are never ten failures in a row.
        for index in 0..<19 { breaker.record(failed: index % 3 != 0, now: Self.at(Double(index))) }
        #expect(breaker.state == .closed, "19 attempts: below the minimum")
        breaker.record(failed: true, now: Self.at(19))
        #expect(breaker.state == .open, "20 attempts, 13 failed")

        var healthy = CircuitBreaker()
        for index in 0..<60 { healthy.record(failed: index % 5 < 2, now: Self.at(Double(index))) }
        #expect(healthy.state == .closed, "40 % failures keep it closed")
    }

    @Test func onlyTimeoutsConnectionErrorsAnd408429And5xxCountAsFailures() {
        func outcome(_ status: Int?) -> AttemptOutcome {
            status.map { AttemptOutcome(statusCode: $0, reasonPhrase: "", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil) }
                ?? .failure("timeout")
        }
        #expect([nil, 408, 429, 500, 503].allSatisfy { CircuitBreaker.isFailure(outcome($0)) })
        #expect(![200, 204, 301, 400, 401, 404, 413].contains { CircuitBreaker.isFailure(outcome($0)) })
    }
}

@Suite("Per-target isolation: lanes", .machineHeavy)
struct DeliveryLanesTests {
    static let failed = AttemptOutcome.failure("timeout")
    static let ok = AttemptOutcome(statusCode: 200, reasonPhrase: "OK", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil)

    func tickets(_ lanes: DeliveryLanes, _ key: String, _ count: Int, limit: Int? = nil) -> [LaneTicket] {
        (0..<count).compactMap { _ in
            if case .admitted(let ticket) = lanes.admit(key, limit: limit) { return ticket }
            return nil
        }
    }

    @Test func aFullLaneDefersToTheRetryTierAndOtherLanesAreUntouched() {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 2))
        let held = tickets(lanes, "webhook:r/slow", 2)
        #expect(held.count == 2)
        guard case .deferred(let wait, let reason) = lanes.admit("webhook:r/slow") else {
            Issue.record("a full lane must defer")
            return
        }
        #expect(wait == .seconds(1))
        #expect(reason.contains("lane full"))
        #expect(tickets(lanes, "webhook:r/fast", 2).count == 2, "another target has its own lane")
        #expect(lanes.snapshot("webhook:r/slow").inFlight == 2)
        held[0].finish(Self.ok)
        #expect(tickets(lanes, "webhook:r/slow", 1).count == 1, "a finished attempt frees its slot")
        #expect(tickets(lanes, "webhook:r/own", 5, limit: 5).count == 5, "a target's own limit wins")
    }

    @Test func anOpenBreakerDefersUntilItsProbeAndRecoveryRampsUp() {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 8))
        let key = "subscription:registry/r/down"
        for ticket in tickets(lanes, key, 8) { ticket.finish(Self.failed) }
        for ticket in tickets(lanes, key, 2) { ticket.finish(Self.failed) }
        #expect(lanes.snapshot(key).breaker == .open)
        guard case .deferred(let wait, let reason) = lanes.admit(key) else {
            Issue.record("an open breaker must defer")
            return
        }
        #expect(wait > .seconds(25) && wait <= .seconds(30))
        #expect(reason.contains("breaker"))
        // Past the cool-down: one probe, which succeeds; then 1, 2, 4 … in flight.
        let later = ContinuousClock.now + .seconds(31)
        guard case .admitted(let probe) = lanes.admit(key, now: later) else {
            Issue.record("the probe must go out")
            return
        }
        probe.finish(Self.ok)
        #expect(lanes.snapshot(key).breaker == .closed)
        let first = tickets(lanes, key, 3)
        #expect(first.count == 1, "right after recovery one attempt at a time")
        first[0].finish(Self.ok)
        let second = tickets(lanes, key, 3)
        #expect(second.count == 2, "then twice as many per success")
    }

    @Test func aTargetItsOperatorChangedStartsWithAClosedBreaker() {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 16))
        let key = "webhook:r/moved"
        let old = 1.0
        for _ in 0..<10 {
            guard case .admitted(let ticket) = lanes.admit(key, generation: old) else { break }
            ticket.finish(Self.failed)
        }
        #expect(lanes.snapshot(key).breaker == .open)
        guard case .deferred = lanes.admit(key, generation: old) else {
            Issue.record("the same configuration stays behind its open breaker")
            return
        }
        guard case .admitted(let ticket) = lanes.admit(key, generation: 2.0) else {
            Issue.record("a changed target is attempted at once")
            return
        }
        ticket.finish(Self.ok)
        #expect(lanes.snapshot(key).breaker == .closed)
        #expect(lanes.snapshot(key).consecutiveFailures == 0)
    }

    @Test func attemptsMadeBeforeAnOperatorsChangeGiveTheirSlotsBackButNotTheirFailures() {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 16))
        let key = "webhook:r/switched"
        var before: [LaneTicket] = []
        for _ in 0..<12 {
            if case .admitted(let ticket) = lanes.admit(key, generation: 1) { before.append(ticket) }
        }
        guard case .admitted(let after) = lanes.admit(key, generation: 2) else {
            Issue.record("the changed target is attempted")
            return
        }
        for ticket in before { ticket.finish(Self.failed) }
        #expect(lanes.snapshot(key).breaker == .closed, "the old endpoint's timeouts do not open the new one's breaker")
        #expect(lanes.snapshot(key).inFlight == 1, "their slots are free")
        after.finish(Self.ok)
        // A delivery still carrying the older configuration resets nothing.
        for _ in 0..<10 {
            guard case .admitted(let ticket) = lanes.admit(key, generation: 2) else { break }
            ticket.finish(Self.failed)
        }
        #expect(lanes.snapshot(key).breaker == .open)
        guard case .deferred = lanes.admit(key, generation: 1) else {
            Issue.record("an older generation must not reset the breaker")
            return
        }
    }

    @Test func anAbandonedTicketGivesItsSlotBack() {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 1))
        do { _ = tickets(lanes, "webhook:r/w", 1) }
        #expect(lanes.snapshot("webhook:r/w").inFlight == 0)
    }
}

@Suite("One deadline per attempt", .machineHeavy)
struct DeadlineTests {
    @Test func workThatNeverEndsIsCutAtTheDeadline() async {
        let started = ContinuousClock.now
        let result = await Deadline.run(within: .milliseconds(200)) { () async -> Int in
            // Ends only when cancelled, as a body that never comes.
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            return 1
        }
        #expect(result == nil)
        #expect(ContinuousClock.now - started < .seconds(60), "bounded (a generous margin on a machine busy with a whole suite)")
        #expect(await Deadline.run(within: .seconds(30)) { 7 } == 7)
    }

    @Test func workThatIgnoresCancellationDoesNotHoldTheCaller() async {
        // The work ends only when the test lets it, whatever cancellation
        // says (as a lookup blocked in getaddrinfo): the caller must have
        // its answer before that, with no timing involved.
        let release = Locked<CheckedContinuation<Void, Never>?>(nil)
        let workEnded = Locked(false)
        let result = await Deadline.run(within: .milliseconds(100)) { () async -> Int in
            await withCheckedContinuation { continuation in release.withLock { $0 = continuation } }
            workEnded.withLock { $0 = true }
            return 1
        }
        #expect(result == nil)
        #expect(!workEnded.withLock { $0 }, "the caller resumed while the work was still running")
        while release.withLock({ $0 }) == nil { await Task.yield() }
        release.withLock { $0 }?.resume()
    }

    @Test func aResolverAnswersLiteralsAndCachesNames() async throws {
        let resolver = HostResolver(threads: 1)
        #expect(try await resolver.resolve("10.0.0.1").map(\.description) == ["10.0.0.1"])
        let first = try await resolver.resolve("localhost")
        #expect(!first.isEmpty)
        #expect(try await resolver.resolve("localhost") == first)
    }
}

@Suite("Ordered delivery: one turn at a time per key", .machineHeavy)
struct KeySequencerTests {
    @Test func turnsGoInTheOrderTakenWhateverOrderTheTasksStart() async {
        let sequencer = KeySequencer()
        let turns = (0..<50).map { _ in sequencer.take("hook|repo") }
        let other = sequencer.take("hook|other")
        let order = Locked([Int]())
        await withTaskGroup(of: Void.self) { group in
            for (index, turn) in turns.enumerated().reversed() {
                group.addTask {
                    guard await sequencer.wait(turn) else { return }
                    order.withLock { $0.append(index) }
                    sequencer.finish(turn, durable: true)
                }
            }
            group.addTask {
                #expect(await sequencer.wait(other), "another key does not wait")
                sequencer.finish(other, durable: true)
            }
        }
        #expect(order.withLock { $0 } == Array(0..<50))
    }

    @Test func aTurnWithoutADurableOutcomeStopsTheTurnsBehindIt() async {
        let sequencer = KeySequencer()
        let first = sequencer.take("k")
        let second = sequencer.take("k")
        #expect(await sequencer.wait(first))
        sequencer.finish(first, durable: false)
        #expect(await sequencer.wait(second) == false, "nothing overtakes an event that will be delivered again")
        sequencer.finish(second, durable: false)
        let fresh = sequencer.take("k")
        #expect(await sequencer.wait(fresh), "a new line starts once the old one emptied")
    }
}


@Suite("Per-target isolation: a full lane's short queue", .machineHeavy)
struct DeliveryLaneQueueTests {
    static let ok = AttemptOutcome(statusCode: 200, reasonPhrase: "OK", responseHeaders: [:], responseBody: "", error: nil, retryAfter: nil)

    @Test func aFullLaneThatIsTurningOverHandsItsNextSlotToTheOldestWaiter() async throws {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 1, queueWait: .seconds(30)))
        let key = "webhook:r/fast"
        guard case .admitted(let first) = await lanes.admitOrWait(key) else {
            Issue.record("an empty lane admits")
            return
        }
        // The lane went busy just now, so a delivery may wait for its slot.
        let waiting = Task { await lanes.admitOrWait(key) }
        while lanes.waitingForTesting(key) == 0 { await Task.yield() }
        first.finish(Self.ok)
        guard case .admitted(let second) = await waiting.value else {
            Issue.record("the waiter gets the freed slot")
            return
        }
        #expect(lanes.snapshot(key).inFlight == 1)
        second.finish(Self.ok)
    }

    @Test func aWaiterGoesToTheRetryTierAfterTheQueueWait() async throws {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 1, queueWait: .milliseconds(100)))
        let key = "webhook:r/busy"
        guard case .admitted(let held) = await lanes.admitOrWait(key) else {
            Issue.record("an empty lane admits")
            return
        }
        guard case .deferred(_, let reason) = await lanes.admitOrWait(key) else {
            Issue.record("a lane whose slot is never freed defers its waiter")
            return
        }
        #expect(reason.contains("lane full"))
        held.finish(Self.ok)
    }

    @Test func aLaneThatStoppedTurningOverDefersAtOnce() async throws {
        let lanes = DeliveryLanes(settings: .init(defaultLimit: 1, queueWait: .milliseconds(50)))
        let key = "webhook:r/stalled"
        guard case .admitted(let held) = await lanes.admitOrWait(key) else {
            Issue.record("an empty lane admits")
            return
        }
        // Nothing finished for longer than the queue wait: no waiting at all.
        try await Task.sleep(for: .milliseconds(80))
        let admission = await lanes.admitOrWait(key)
        guard case .deferred = admission else {
            Issue.record("a stalled lane defers")
            return
        }
        #expect(lanes.waitingForTesting(key) == 0)
        held.finish(Self.ok)
    }
}
