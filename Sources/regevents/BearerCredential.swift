/// A token the server may ask for (`Authorization: Bearer`), and how the user
/// gives it, so that a 401 tells them which flag or variable to set.
struct BearerCredential {
    /// `nil` when neither the flag nor the variable was given.
    let token: String?
    /// "admin token"
    let name: String
    let flag: String
    let environmentVariable: String

    /// The management token: `--admin-token`, else `REGEVENTS_ADMIN_TOKEN`.
    static func admin(_ flagValue: String?) -> BearerCredential {
        BearerCredential(
            token: flagValue ?? EnvironmentDefaults.value("REGEVENTS_ADMIN_TOKEN"), name: "admin token", flag: "--admin-token",
            environmentVariable: "REGEVENTS_ADMIN_TOKEN")
    }

    /// The ingest token: `--ingest-token`, else `REGEVENTS_INGEST_TOKEN`.
    static func ingest(_ flagValue: String?) -> BearerCredential {
        BearerCredential(
            token: flagValue ?? EnvironmentDefaults.value("REGEVENTS_INGEST_TOKEN"), name: "ingest token", flag: "--ingest-token",
            environmentVariable: "REGEVENTS_INGEST_TOKEN")
    }

    /// What the server's 401 means here, and what to do.
    var refusal: String {
        let remedy = "give \(flag) or set \(environmentVariable)"
        return token == nil ? "the server needs the \(name): \(remedy)" : "wrong \(name) (not the one serve was started with): \(remedy)"
    }
}
