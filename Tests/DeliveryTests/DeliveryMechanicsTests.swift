import Delivery
import Foundation
import TestSupport
import Testing

@Suite("Offsets commit in order behind out-of-order completion", .machineHeavy)
struct OffsetTrackerTests {
    @Test func theCommittableOffsetIsTheLowestIncomplete() {
        var tracker = OffsetTracker()
        #expect(tracker.committable == nil)
        for offset in Int64(10)...14 { tracker.start(offset) }
        tracker.complete(12)
        tracker.complete(14)
        #expect(tracker.committable == 10)
        tracker.complete(10)
        #expect(tracker.committable == 11)
        tracker.complete(11)
        #expect(tracker.committable == 13)
        tracker.complete(13)
        #expect(tracker.committable == 15)
        #expect(tracker.inFlightCount == 0)
    }
}

@Suite("Retry schedules", .machineHeavy)
struct RetryScheduleTests {
    @Test func webhooksRetryOnTheStatedLadderThenEverySixHours() {
        let schedule = RetrySchedule.webhookDefault
        let delays = (1...5).map { schedule.decision(afterAttempt: $0, elapsed: .zero) }
        #expect(delays == [
            .retry(after: .seconds(10)), .retry(after: .seconds(60)), .retry(after: .seconds(600)), .retry(after: .seconds(3600)),
            .retry(after: .seconds(21600)),
        ])
        #expect(schedule.decision(afterAttempt: 6, elapsed: .seconds(40000)) == .retry(after: .seconds(21600)))
    }

    @Test func theTimeToLiveAndTheAttemptLimitEndIt() {
        let schedule = RetrySchedule(delays: [.milliseconds(100)], maxAttempts: 3, timeToLive: .seconds(1))
        #expect(schedule.decision(afterAttempt: 1, elapsed: .zero) == .retry(after: .milliseconds(100)))
        guard case .deadLetter(let reason) = schedule.decision(afterAttempt: 3, elapsed: .zero) else {
            Issue.record("three attempts should be the end")
            return
        }
        #expect(reason.hasPrefix("MaxDeliveryAttemptsExceeded"))
        guard case .deadLetter(let ttl) = schedule.decision(afterAttempt: 1, elapsed: .milliseconds(950)) else {
            Issue.record("the time to live should end it")
            return
        }
        #expect(ttl.hasPrefix("TimeToLiveExceeded"))
    }

    @Test func eventGridsLadderIsItsDocumentedOne() {
        let schedule = RetrySchedule.eventGridDefault
        #expect(schedule.maxAttempts == 30)
        #expect(schedule.decision(afterAttempt: 2, elapsed: .zero) == .retry(after: .seconds(30)))
        #expect(schedule.decision(afterAttempt: 10, elapsed: .zero) == .retry(after: .seconds(43200)))
    }
}

@Suite("Delivery records", .machineHeavy)
struct DeliveryRecordTests {
    @Test func aRecordRoundTripsThroughJSON() throws {
        let record = DeliveryRecord(
            targetKind: .webhook, registry: "r", target: "hook01", eventID: "e1", attempt: 2, dueAtMilliseconds: 1_000,
            firstAttemptAtMilliseconds: 500, body: #"{"action":"push"}"#, originTopic: "registry-events.acr",
            originPartition: 3, originOffset: 42, lastStatusCode: 503, lastError: nil)
        let decoded = try JSONDecoder().decode(DeliveryRecord.self, from: JSONEncoder().encode(record))
        #expect(decoded == record)
    }

    @Test func aWaitGoesToTheLongestTierItCoversSoJitterNeverMovesItToTheNextTier() {
        let tiers: [Duration] = [.seconds(10), .seconds(60), .seconds(3600)]
        #expect(DeliveryRecord.tier(for: .milliseconds(5), tiers: tiers) == .seconds(10), "shorter than every tier: the shortest")
        #expect(DeliveryRecord.tier(for: .seconds(10), tiers: tiers) == .seconds(10))
        #expect(DeliveryRecord.tier(for: .seconds(11), tiers: tiers) == .seconds(10), "10 s plus jitter stays in the 10 s tier")
        #expect(DeliveryRecord.tier(for: .seconds(66), tiers: tiers) == .seconds(60))
        #expect(DeliveryRecord.tier(for: .seconds(7200), tiers: tiers) == .seconds(3600), "past the longest: waits there, then again")
    }
}

@Suite("The SSRF guard", .machineHeavy)
struct TargetGuardTests {
    @Test(arguments: [
        "http://127.0.0.1/", "http://10.1.2.3/", "http://172.20.0.1/", "http://192.168.0.10/", "http://169.254.169.254/",
        "http://100.64.1.1/", "http://[::1]/", "http://[fe80::1]/", "http://[fd00::5]/", "http://[::ffff:127.0.0.1]/",
        "http://localhost/", "http://0.0.0.0/", "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::]/", "http://100.127.255.1/",
        "http://224.0.0.1/", "http://239.255.255.250/", "http://240.0.0.1/", "http://255.255.255.255/", "http://[ff02::1]/",
        "http://192.0.2.1/", "http://198.51.100.1/", "http://203.0.113.9/", "http://[2001:db8::1]/", "http://[2001::1]/",
        "http://[fec0::1]/", "http://[::a00:1]/", "http://198.18.0.1/",
    ])
    func privateTargetsAreRefused(_ url: String) async {
        await #expect(throws: TargetGuard.Refusal.self) { try await TargetGuard().check(url: url) }
    }

    @Test(arguments: ["http://8.8.8.8/", "https://[2001:4860::8888]/", "http://172.32.0.1/", "http://100.128.0.1/"])
    func publicTargetsPass(_ url: String) async throws {
        try await TargetGuard().check(url: url)
    }

    @Test func aNameThatDoesNotResolveIsRefused() async throws {
        await #expect(throws: TargetGuard.Refusal(host: "no-such-host.invalid", reason: .doesNotResolve)) {
            try await TargetGuard().check(url: "http://no-such-host.invalid/")
        }
    }

    /// "localhost resolves to 127.0.0.1" would tell the caller about the
    /// server's network, one name at a time.
    @Test func aRefusalDoesNotSayWhatTheNameResolvedTo() async throws {
        do {
            try await TargetGuard().check(url: "http://localhost/")
            Issue.record("localhost passed")
        } catch let refusal as TargetGuard.Refusal {
            #expect(!refusal.description.contains("127.0.0.1") && !refusal.description.contains("::1"), "\(refusal)")
            #expect(refusal.description.contains("--allow-target-cidr"))
        }
    }

    @Test func allowancesOpenWhatTheySay() async throws {
        try await TargetGuard(allowPrivate: true).check(url: "http://127.0.0.1/")
        let guardWithRange = TargetGuard(allowedCIDRs: [try #require(CIDR(parsing: "10.1.0.0/16"))])
        try await guardWithRange.check(url: "http://10.1.9.9/")
        await #expect(throws: TargetGuard.Refusal.self) { try await guardWithRange.check(url: "http://10.2.0.1/") }
    }

    @Test func rangesParseAndMatch() throws {
        let range = try #require(CIDR(parsing: "172.16.0.0/12"))
        #expect(range.contains(try #require(IPAddress(parsing: "172.31.255.255"))))
        #expect(!range.contains(try #require(IPAddress(parsing: "172.32.0.0"))))
        #expect(CIDR(parsing: "10.0.0.0/33") == nil)
        #expect(CIDR(parsing: "nonsense") == nil)
    }
}

@Suite("Retry-After", .machineHeavy)
struct RetryAfterTests {
    @Test func secondsAndHTTPDatesAreRead() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(WebhookSender.retryAfter("120", now: now) == .seconds(120))
        #expect(WebhookSender.retryAfter(" 5 ", now: now) == .seconds(5))
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(WebhookSender.retryAfter("Tue, 14 Nov 2023 22:14:20 GMT", now: now) == .seconds(60))
        #expect(WebhookSender.retryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now: now) == .zero, "a date in the past means now")
        #expect(WebhookSender.retryAfter("soon", now: now) == nil)
        #expect(WebhookSender.retryAfter("-3", now: now) == nil)
    }
}
