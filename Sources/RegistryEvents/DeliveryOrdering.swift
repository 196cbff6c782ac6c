/// Whether a webhook's or subscription's deliveries keep the order of their
/// events.
///
/// `unordered` (the default, as ACR and Event Grid): deliveries run
/// concurrently and a failure waits in a retry tier while later events go
/// on. `perKey`: the events of one repository (one Kafka key) arrive in
/// order, one attempt at a time per key; a failing event is retried in
/// place and holds only the events of its own key behind it (their records
/// stay uncommitted meanwhile, so a long outage of one key holds that
/// partition's commit and counts against the in-flight limit).
public enum DeliveryOrdering: String, Sendable, Codable, CaseIterable {
    case unordered
    case perKey
}
