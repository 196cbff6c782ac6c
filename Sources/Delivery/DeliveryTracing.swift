import Instrumentation
import Kafka
import RegistryEvents
import Tracing

/// W3C trace context through the pipeline. Ingest puts the request span's
/// `traceparent` on every record it writes; a delivery record carries it
/// through retry tiers; each attempt is a span that continues it.
/// AsyncHTTPClient makes the request's own client span under the attempt's
/// and sends its `traceparent`. With tracing off (no tracer bootstrapped)
/// nothing is added.
public enum DeliveryTracing {
    /// The Kafka header and HTTP header name (W3C Trace Context).
    public static let header = KafkaRecordFormat.Header.traceparent

    /// The trace context a consumed record carries, if any.
    public static func traceparent(of record: KafkaConsumerRecord) -> String? {
        record.header(header)?.stringValue
    }

    /// The current span's `traceparent`; `nil` with tracing off.
    public static func currentTraceparent() -> String? {
        guard let context = InstrumentationContext.current else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier[header]
    }

    /// Runs one attempt in a span that continues the event's trace; the
    /// span gets the outcome (status code, or the error as its status).
    public static func attempt(
        _ record: DeliveryRecord, _ run: () async -> AttemptOutcome
    ) async -> AttemptOutcome {
        var parent = InstrumentationContext.topLevel
        if let traceparent = record.traceparent {
            InstrumentationSystem.instrument.extract([header: traceparent], into: &parent, using: DictionaryExtractor())
        }
        return await withSpan("deliver \(record.targetKind.rawValue) \(record.target)", context: parent, ofKind: .internal) { span in
            span.updateAttributes { attributes in
                attributes["regevents.target.kind"] = record.targetKind.rawValue
                attributes["regevents.target.name"] = record.target
                attributes["regevents.target.scope"] = record.scopeDescription
                attributes["regevents.event.id"] = record.eventID
                attributes["regevents.delivery.attempt"] = record.attempt
            }
            let outcome = await run()
            if record.targetKind != .handler, let status = outcome.statusCode { span.attributes["http.response.status_code"] = status }
            if !outcome.isSuccess {
                span.setStatus(SpanStatus(code: .error, message: outcome.error ?? outcome.statusCode.map { "HTTP \($0)" }))
            }
            return outcome
        }
    }

    struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }

    struct DictionaryExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }
}
