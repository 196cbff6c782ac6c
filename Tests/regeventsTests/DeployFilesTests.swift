import Foundation
import TestSupport
import Testing

/// Every file in deploy/ checked without starting it (scripts/check-deploy):
/// yamllint over the YAML, the Kubernetes manifests against the API schemas,
/// the compose file against the Compose specification's schema, and where
/// the tools are here, `nginx -t` and `systemd-analyze verify`.
@Suite("Deployment files", .machineHeavy)
struct DeployFilesTests {
    @Test func everyDeployFileChecksOut() async throws {
        let result = try await runToCompletion(
            "/usr/bin/env", ["bash", repositoryRoot.appendingPathComponent("scripts/check-deploy").path], limit: .seconds(120))
        #expect(result.status == 0, "\(result.output)")
    }

    /// A misspelt setting passes every schema: each `REGEVENTS_*` variable a
    /// deploy file sets must be one `serve --help` documents.
    @Test func everyEnvironmentVariableInDeployIsOneServeReads() async throws {
        let help = try await RegeventsProcess.run(["serve", "--help"]).output.joined(separator: "\n")
        let known = Set(Self.variables(in: help))
        let deploy = repositoryRoot.appendingPathComponent("deploy")
        let files = FileManager.default.enumerator(atPath: deploy.path)?.compactMap { $0 as? String } ?? []
        var used: [String: String] = [:]
        for file in files {
            guard let text = try? String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8) else { continue }
            for variable in Self.variables(in: text) { used[variable] = file }
        }
        #expect(used.count >= 10, "deploy/ sets the server's settings: \(used.keys.sorted())")
        for (variable, file) in used.sorted(by: { $0.key < $1.key }) {
            #expect(known.contains(variable), "deploy/\(file) sets \(variable), which serve does not read")
        }
    }

    /// A dashboard or alert on a metric that does not exist shows nothing
    /// and never fires: each `regevents_*` series they query is one the
    /// server registers (its label is in the sources).
    @Test func everyMetricTheDashboardAndAlertsQueryIsOneTheServerHas() throws {
        var sources = ""
        let sourceRoot = repositoryRoot.appendingPathComponent("Sources")
        for file in FileManager.default.enumerator(atPath: sourceRoot.path)?.compactMap({ $0 as? String }) ?? [] where file.hasSuffix(".swift") {
            sources += (try? String(contentsOf: sourceRoot.appendingPathComponent(file), encoding: .utf8)) ?? ""
        }
        var queried: Set<String> = []
        for file in ["deploy/grafana/regevents-dashboard.json", "deploy/prometheus/alerts.yaml"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /regevents_[a-z_]+/) {
                queried.insert(String(match.output).replacing(/_(bucket|count|sum)$/, with: ""))
            }
        }
        #expect(queried.count >= 8, "\(queried.sorted())")
        for metric in queried.sorted() {
            #expect(sources.contains("\"\(metric)\""), "\(metric) is queried in deploy/ but the server has no such metric")
        }
    }

    static func variables(in text: String) -> [String] {
        text.matches(of: /REGEVENTS_[A-Z_]*[A-Z]/).map { String($0.output) }
    }
}
