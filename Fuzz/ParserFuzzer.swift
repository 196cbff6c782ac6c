// libFuzzer's entry point, compiled into the RegistryEvents module by
// scripts/fuzz-parsers (with -sanitize=fuzzer): every parser that reads what
// a caller sends, fed the same bytes. A crash, a trap or a hang fails the run.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Distribution envelopes, mapped and rendered as ingest does.
    if let envelope = try? DistributionEnvelope(parsing: bytes) {
        let mapper = DistributionEventMapper(registry: "fuzz", location: "local", ingestUntagged: true)
        let renderer = EventRecordRenderer(layout: TopicLayout(prefix: "fuzz"))
        for event in envelope.events {
            if case .accepted(let registryEvent) = mapper.map(event) { _ = renderer.records(for: registryEvent) }
        }
    }
    // ACR-native events.
    if let native = try? ACRNativeEvents(parsing: bytes, registry: "fuzz", defaultLocation: "local") {
        let renderer = EventRecordRenderer(layout: TopicLayout(prefix: "fuzz"))
        for event in native.events { _ = renderer.records(for: event) }
    }
    // Custom-topic publishes in each of their shapes, and the JSON parser under them.
    let topic = CustomTopic(name: "fuzz")
    for kind in [EventGridPublishing.BodyKind.eventGridArray, .cloudEvent, .cloudEventBatch] {
        _ = try? EventGridPublishing.events(in: bytes, kind: kind, topic: topic)
    }
    if let value = JSONValue(parsing: bytes) { _ = value.jsonBytes }
    return 0
}
