import Logging
import OTel
import ServiceLifecycle

/// OpenTelemetry tracing, off by default. `--otlp-endpoint` (or the
/// standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
/// turns it on: spans go to an OTLP/HTTP collector; logs and metrics stay
/// where they are (stderr, `/metrics`).
enum TracingSetup {
    /// The protocols `--otlp-protocol` takes.
    static let protocols = ["http/protobuf", "http/json"]

    /// Whether tracing is asked for, by the flag or the environment.
    static func isRequested(endpoint: String?, environment: [String: String]) -> Bool {
        endpoint != nil || environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil
    }

    /// Bootstraps the tracer; the service exports batches until shutdown,
    /// then flushes. `endpoint` is the collector's base URL, as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is: spans go to `<endpoint>/v1/traces`.
    static func bootstrap(
        endpoint: String?, protocol name: String, environment: [String: String], logger: Logger
    ) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "regevents"
        configuration.diagnosticLogger = .custom(logger)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        // Spans reach the collector within about a second of ending.
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.traces.otlpExporter.protocol = name == "http/json" ? .httpJSON : .httpProtobuf
        if let endpoint {
            configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/") ? "\(endpoint)v1/traces" : "\(endpoint)/v1/traces"
        }
        return try OTel.bootstrap(configuration: configuration, environment: environment)
    }
}
