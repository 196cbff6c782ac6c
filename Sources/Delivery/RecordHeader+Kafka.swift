import Kafka
import RegistryEvents

// The edge between the record format (`KafkaRecordFormat`, in
// `RegistryEvents`, which cannot see `Kafka`) and the Kafka module. The one
// place a `RecordHeader` becomes a `KafkaHeader` and back: values are UTF-8,
// byte for byte; `nil` is Kafka's null header.

extension KafkaHeader {
    public init(_ header: RecordHeader) {
        self.init(key: header.name, value: header.value.map { Array($0.utf8) })
    }
}

extension RecordHeader {
    public init(_ header: KafkaHeader) {
        self.init(header.key, header.stringValue)
    }
}

extension KafkaConsumerRecord {
    /// The headers, as the record format reads them.
    public var recordHeaders: [RecordHeader] { headers.map(RecordHeader.init) }
}

extension KafkaProducerRecord {
    /// A record rendered in `RegistryEvents` (ingest's records), as produced.
    public init(_ rendered: RenderedRecord) {
        self.init(
            topic: rendered.topic, key: Array(rendered.key.utf8), value: rendered.value, headers: rendered.headers.map(KafkaHeader.init))
    }

    /// The headers, as the record format reads them.
    public var recordHeaders: [RecordHeader] { headers.map(RecordHeader.init) }
}
