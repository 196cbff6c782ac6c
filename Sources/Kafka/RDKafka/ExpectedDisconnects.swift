import Synchronization

/// Which librdkafka clients have lost their cluster because this process
/// stopped it: the clients of an embedded cluster after `shutdown()`.
///
/// A graceful stop destroys the embedded cluster while client handles still
/// exist (the admin client, closed consumers, a producer that flushed), and
/// their broker threads then report what they see: "Disconnected",
/// "Connect to … failed: Connection refused", all brokers down. Those lines
/// are the sound of our own shutdown and are logged at debug; the same lines
/// from a client whose cluster should be up are faults and keep their level.
///
/// Clients are matched to the embedded cluster that listened on one of their
/// bootstrap addresses when they were created, so a later cluster reusing a
/// port (tests start many) is not taken for a stopped one.
enum ExpectedDisconnects {
    private struct State {
        var nextCluster: UInt64 = 0
        /// `host:port` → the running embedded cluster listening there.
        var runningClusters: [String: UInt64] = [:]
        /// Client name (`rd_kafka_name`) → the embedded cluster it talks to.
        var clusterOfClient: [String: UInt64] = [:]
        var stoppedClusters: Set<UInt64> = []
    }

    private static let state = Mutex(State())

    /// An embedded cluster now listens on `bootstrapServers`; returns its token.
    static func clusterStarted(bootstrapServers: String) -> UInt64 {
        state.withLock { state in
            state.nextCluster += 1
            for address in addresses(bootstrapServers) { state.runningClusters[address] = state.nextCluster }
            return state.nextCluster
        }
    }

    /// Called before the cluster is destroyed: from now on its clients' complaints are expected.
    static func clusterStopping(_ cluster: UInt64) {
        state.withLock { state in
            state.stoppedClusters.insert(cluster)
            state.runningClusters = state.runningClusters.filter { $0.value != cluster }
        }
    }

    static func clientCreated(_ client: String, bootstrapServers: String) {
        state.withLock { state in
            let running = state.runningClusters
            guard let cluster = addresses(bootstrapServers).compactMap({ running[$0] }).first else { return }
            state.clusterOfClient[client] = cluster
        }
    }

    /// Called once `rd_kafka_destroy` returned: the client logs nothing more.
    static func clientDestroyed(_ client: String) {
        _ = state.withLock { $0.clusterOfClient.removeValue(forKey: client) }
    }

    /// Whether `client` talks to an embedded cluster this process stopped.
    static func areExpected(for client: String) -> Bool {
        state.withLock { state in
            state.clusterOfClient[client].map { state.stoppedClusters.contains($0) } ?? false
        }
    }

    private static func addresses(_ bootstrapServers: String) -> [String] {
        bootstrapServers.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
    }
}
