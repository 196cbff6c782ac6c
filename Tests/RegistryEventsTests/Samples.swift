import RegistryEvents

/// One event per action, shaped as real ones are.
enum Samples {
    static let digest = "sha256:fee4c02d2b5af77f790d7e56f38dd4b4755fe27f91c14684a6900598196f978c"

    static func event(_ action: RegistryAction, tag: String? = "v1") -> RegistryEvent {
        var target = RegistryEvent.Target(
            mediaType: "application/vnd.oci.image.manifest.v1+json", size: 345, digest: digest, length: 345,
            repository: "library/hello", url: "http://127.0.0.1:5055/v2/library/hello/manifests/\(digest)", tag: tag)
        if action.isChart {
            target.repository = "charts/mychart"
            target.name = "mychart"
            target.version = "0.1.0"
            target.tag = "0.1.0"
        }
        if action == .delete || action == .chartDelete || action == .tagRemoved {
            target.size = nil
            target.length = nil
            target.url = nil
            if action == .delete || action == .tagRemoved { target.mediaType = nil }
            if action == .delete { target.tag = nil }
        }
        let scan = action == .scanCompleted
            ? ScanResult(status: .succeeded, type: "vulnerability", severity: "High", summary: .init(total: 2, fixable: 1, critical: 0, high: 2, medium: 0, low: 0, unknown: 0))
            : nil
        return RegistryEvent(
            id: "a98b83a3-6308-4359-b752-7409242f5d53", timestamp: "2026-11-25T16:29:30.427944415Z", action: action,
            registry: "myregistry", location: "westeurope", target: target,
            request: .init(
                id: "51df2833-7d16-4f7e-ab1d-e701e24d1bf0", addr: "127.0.0.1:45678", host: "127.0.0.1:5055",
                method: action == .delete || action == .chartDelete || action == .tagRemoved ? "DELETE" : "PUT", useragent: "skopeo/1.9.3"),
            actor: .init(name: nil), source: .init(addr: "vm:5055", instanceID: "96d18f13-8c2a-4a8f-95c1-a7982f77808f"), scan: scan)
    }
}
