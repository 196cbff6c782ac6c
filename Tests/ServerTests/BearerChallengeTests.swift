@testable import Server
import Testing

/// The token challenges registries send (Distribution's token auth): what
/// the digest lookup needs from them, and what is no challenge it can answer.
@Suite("Bearer challenges of registries")
struct BearerChallengeTests {
    @Test(arguments: [
        (
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
            BearerChallenge?.some(.init(realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/nginx:pull"))
        ),
        (
            #"bearer realm="https://quay.io/v2/auth", service="quay.io",scope="repository:acme/webapp:pull""#,
            .init(realm: "https://quay.io/v2/auth", service: "quay.io", scope: "repository:acme/webapp:pull")
        ),
        (#"Bearer realm=https://r.example/token"#, .init(realm: "https://r.example/token", service: nil, scope: nil)),
        (#"Bearer realm="https://r.example/t\"q",scope="a:b:pull,push""#, .init(realm: #"https://r.example/t"q"#, service: nil, scope: "a:b:pull,push")),
        (#"Basic realm="Registry""#, nil),
        (#"Bearer service="no realm""#, nil),
        ("", nil),
    ])
    func challengesParse(_ header: String, _ expected: BearerChallenge?) {
        #expect(BearerChallenge(header) == expected)
    }
}
