import CRdKafka

/// librdkafka's rebalance callback. It runs inside `rd_kafka_consumer_poll` on
/// the consumer's poll thread; the opaque is the consumer's partition tracker.
/// It supports both the eager and the cooperative protocol.
let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { handle, err, partitions, opaque in
    guard let handle, let opaque else { return }
    let tracker = Unmanaged<ConsumerPartitionTracker>.fromOpaque(opaque).takeUnretainedValue()
    let topicPartitions = partitions.map { RDKafkaTopicPartitionList(borrowing: $0).entries().map(\.topicPartition) } ?? []
    let cooperative = rebalanceProtocol(handle) == "COOPERATIVE"
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        let assigned: Bool
        if cooperative {
            // Even an empty incremental assignment must be acknowledged.
            if let error = rd_kafka_incremental_assign(handle, partitions) {
                logRebalanceError(error)
                assigned = false
            } else {
                assigned = true
            }
        } else {
            assigned = rd_kafka_assign(handle, partitions) == RD_KAFKA_RESP_ERR_NO_ERROR
        }
        // Only what librdkafka took: the tracker gates commits.
        if assigned { tracker.assign(topicPartitions) }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        // Forget them first: from here on no commit goes out for these.
        tracker.revocationGate.lock()
        defer { tracker.revocationGate.unlock() }
        if rd_kafka_assignment_lost(handle) != 0 {
            // A session timeout or fencing: another member may already
            // process them, so what is in flight here is delivered twice, never lost.
            librdkafkaLogger.warning(
                "Consumer group partitions lost (session timed out); their records in flight may be delivered again",
                metadata: ["partitions": "\(topicPartitions.map(\.description).joined(separator: ","))"])
        } else {
            commitBeforeRevoking(topicPartitions, handle: handle, tracker: tracker)
        }
        tracker.revoke(topicPartitions)
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, partitions) { logRebalanceError(error) }
        } else {
            rd_kafka_assign(handle, nil)
        }
    default:
        tracker.revokeAll()
        rd_kafka_assign(handle, nil)
    }
    librdkafkaLogger.info(
        "Consumer group rebalance",
        metadata: [
            "client": "\(String(cString: rd_kafka_name(handle)))",
            "event": "\(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked")",
            "partitions": "\(topicPartitions.map(\.description).joined(separator: ","))",
        ])
}

/// "EAGER", "COOPERATIVE", or "NONE" before the group chose one (librdkafka
/// answers NULL for a consumer outside any group).
func rebalanceProtocol(_ handle: OpaquePointer) -> String {
    rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } ?? "NONE"
}

/// Commits what the owner finished with `partitions` while this member
/// still owns them (`KafkaConsumer.commitOnRevocation`). A refusal only
/// means their next owner delivers those records again.
private func commitBeforeRevoking(_ partitions: [KafkaTopicPartition], handle: OpaquePointer, tracker: ConsumerPartitionTracker) {
    guard let commits = tracker.revocationCommits.withLock({ $0 }) else { return }
    let offsets = commits.offsets(partitions)
    guard !offsets.isEmpty else { return }
    let list = RDKafkaTopicPartitionList(
        offsets.map(\.topicPartition), offsets: Dictionary(offsets.map { ($0.topicPartition, $0.offset) }) { max($0, $1) })
    let err = list.withPointer { rd_kafka_commit(handle, $0, 0) }
    if err == RD_KAFKA_RESP_ERR_NO_ERROR {
        commits.confirmed(offsets)
    } else {
        librdkafkaLogger.info(
            "Commit before revocation refused; the next owner delivers those records again",
            metadata: ["error": "\(String(cString: rd_kafka_err2name(err)))"])
    }
}

private func logRebalanceError(_ error: OpaquePointer) {
    librdkafkaLogger.error("rebalance assignment failed: \(String(cString: rd_kafka_error_string(error)))")
    rd_kafka_error_destroy(error)
}
