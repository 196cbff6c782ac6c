import Delivery
import RegistryEvents

/// The digest lookups one ingest request needs (Quay, Docker Hub): each
/// distinct repository and tag once, a few at a time, the first that finds no
/// answer ending the rest. Bounded three ways, so a notification cannot hold
/// a request or a registry for long: `maxPerRequest` tags, `concurrent` at
/// once, and `deadline` for all of them (under Quay's 10 s send timeout).
struct DigestLookups: Sendable {
    struct Key: Hashable, Sendable {
        var repository: String
        var tag: String
    }

    typealias Answer = Result<ManifestDigestResolver.Manifest, ManifestDigestResolver.Failure>

    static let maxPerRequest = 50
    static let concurrent = 8
    static let deadline: Duration = .seconds(8)

    let resolver: ManifestDigestResolver

    /// Every key's answer, or `nil` when they did not all come within the deadline.
    func run(_ keys: [Key]) async -> [Key: Answer]? {
        await Deadline.run(within: Self.deadline) { await self.lookUp(keys) }
    }

    private func lookUp(_ keys: [Key]) async -> [Key: Answer] {
        await withTaskGroup(of: (Key, Answer).self) { group in
            var answers: [Key: Answer] = [:]
            var next = 0
            func start() {
                guard next < keys.count else { return }
                let key = keys[next]
                next += 1
                group.addTask { (key, await resolver.resolve(repository: key.repository, tag: key.tag)) }
            }
            for _ in 0..<min(Self.concurrent, keys.count) { start() }
            while let (key, answer) = await group.next() {
                answers[key] = answer
                if case .failure(.unavailable) = answer {
                    // The request fails as a whole: no need to ask about the rest.
                    group.cancelAll()
                    break
                }
                start()
            }
            return answers
        }
    }
}
