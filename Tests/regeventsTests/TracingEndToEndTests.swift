import Foundation
import TestSupport
import Testing

/// One registry push followed to every delivery: the registry's
/// `traceparent` is continued by the ingest span, carried on the Kafka
/// records, and every attempt (retries too) is a span of the same trace,
/// whose HTTP request's `traceparent` the endpoint receives. The spans are read back
/// from an OTLP/HTTP receiver the test runs.
@Suite("Tracing, end to end", .machineHeavy)
struct TracingEndToEndTests {
    /// One span as OTLP/JSON carries it; ids as hex.
    struct ExportedSpan: Equatable {
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var name: String
        /// OTLP's SpanKind: 2 server, 3 client.
        var kind: Int
    }

    /// The spans of every export request the receiver got.
    static func spans(_ receiver: EventGridReceiver) -> [ExportedSpan] {
        receiver.deliveries("/otlp/v1/traces").flatMap { request -> [ExportedSpan] in
            guard let body = request.json as? [String: Any] else { return [] }
            let resourceSpans = body["resourceSpans"] as? [[String: Any]] ?? []
            return resourceSpans.flatMap { resource in
                (resource["scopeSpans"] as? [[String: Any]] ?? []).flatMap { scope in
                    (scope["spans"] as? [[String: Any]] ?? []).map { span in
                        ExportedSpan(
                            traceID: hex(span["traceId"]), spanID: hex(span["spanId"]), parentSpanID: hex(span["parentSpanId"]),
                            name: span["name"] as? String ?? "", kind: kind(span["kind"]))
                    }
                }
            }
        }
    }

    /// OTLP/JSON ids are hex by the spec; protobuf's JSON mapping writes bytes
    /// as base64. Either reads as hex here.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit), text.count == 32 || text.count == 16 { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    static func kind(_ value: Any?) -> Int {
        if let number = value as? Int { return number }
        switch value as? String {
        case "SPAN_KIND_SERVER": return 2
        case "SPAN_KIND_CLIENT": return 3
        default: return 0
        }
    }

    /// `traceparent`'s trace id and parent id.
    static func parts(_ traceparent: String?) -> (trace: String, span: String)? {
        let fields = (traceparent ?? "").split(separator: "-").map(String.init)
        guard fields.count == 4, fields[1].count == 32, fields[2].count == 16 else { return nil }
        return (fields[1], fields[2])
    }

    @Test func aPushIsFollowedFromIngestToEveryDeliveryAttempt() async throws {
        let collector = try await EventGridReceiver.start()
        defer { collector.stop() }
        let webhooks = try await WebhookReceiver.start()
        defer { webhooks.stop() }
        let server = try await RunningServer.start(extraArguments: [
            "--allow-private-targets", "--webhook-retry-schedule", "200ms", "--subscription-retry-schedule", "200ms",
            "--otlp-endpoint", collector.url("/otlp"), "--otlp-protocol", "http/json",
        ])
        defer { server.process.terminateQuietly() }
        let base = server.baseURL
        // 503 twice, then 200: three attempts, all in the push's trace.
        try await DeliveryFaultTests.createWebhook(base, "traced", webhooks.url("/flaky-traced"))
        try await API.subscribe(base, "registries/myregistry", "traced-ce", [
            "destination": API.webhook(collector.url("/ce-traced")), "eventDeliverySchema": "CloudEventSchemaV1_0",
        ])

        // The registry's own trace: the ingest continues it.
        let registryTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let registrySpan = "00f067aa0ba902b7"
        let ingest = try await API.send(
            .POST, "\(base)/v1/registries/myregistry/events", json: DeliveryFaultTests.event("traced-1"),
            headers: ["traceparent": "00-\(registryTrace)-\(registrySpan)-01"])
        #expect((200..<300).contains(ingest.status), "\(ingest.text)")

        let attempts = try await webhooks.waitFor("/flaky-traced", count: 3, limit: .seconds(30))
        let attemptContexts = attempts.compactMap { Self.parts($0.headers["traceparent"]) }
        #expect(attemptContexts.count == 3, "every webhook attempt carries traceparent: \(attempts.map(\.headers))")
        #expect(attemptContexts.allSatisfy { $0.trace == registryTrace })
        #expect(Set(attemptContexts.map(\.span)).count == 3, "each attempt is its own span")

        let cloudEvents = try await collector.waitForEvents("/ce-traced", count: 1)
        let event = try #require(cloudEvents.first?.events.first)
        #expect(Self.parts(event["traceparent"] as? String)?.trace == registryTrace, "the CloudEvents distributed-tracing extension")
        #expect(Self.parts(cloudEvents.first?.headers["traceparent"])?.trace == registryTrace)

        // The spans, read back from the collector: the ingest's server span
        // under the registry's, and every attempt a client span under it.
        var spans: [ExportedSpan] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            spans = Self.spans(collector).filter { $0.traceID == registryTrace }
            if spans.filter({ $0.name.hasPrefix("deliver ") }).count >= 4 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let ingestSpan = try #require(spans.first { $0.kind == 2 }, "a server span for the ingest request: \(spans)")
        #expect(ingestSpan.parentSpanID == registrySpan)
        let webhookSpans = spans.filter { $0.name == "deliver webhook traced" }
        #expect(webhookSpans.count == 3, "\(spans)")
        #expect(webhookSpans.allSatisfy { $0.parentSpanID == ingestSpan.spanID })
        // The endpoint saw each request's own HTTP client span, one under each attempt.
        let requestSpans = attemptContexts.compactMap { context in spans.first { $0.spanID == context.span } }
        #expect(requestSpans.count == 3, "\(spans)")
        #expect(Set(requestSpans.map(\.parentSpanID)) == Set(webhookSpans.map(\.spanID)))
        let subscriptionSpan = spans.first { $0.name == "deliver subscription traced-ce" }
        #expect(subscriptionSpan?.parentSpanID == ingestSpan.spanID, "\(spans)")
    }

    @Test func tracingIsOffByDefaultAndABadProtocolStopsServe() async throws {
        let webhooks = try await WebhookReceiver.start()
        defer { webhooks.stop() }
        let server = try await RunningServer.start(extraArguments: ["--allow-private-targets"])
        defer { server.process.terminateQuietly() }
        try await DeliveryFaultTests.createWebhook(server.baseURL, "untraced", webhooks.url("/ok-untraced"))
        _ = try await DeliveryFaultTests.ingest(server.baseURL, ids: ["untraced-1"])
        let received = try await webhooks.waitFor("/ok-untraced", count: 1)
        #expect(received[0].headers["traceparent"] == nil, "without --otlp-endpoint a webhook gets exactly ACR's headers")

        let run = try await RegeventsProcess.run(["serve", "--otlp-endpoint", "http://127.0.0.1:4318", "--otlp-protocol", "grpc"])
        #expect(run.status == 64)
        #expect(run.errors.contains("--otlp-protocol"))
    }
}
