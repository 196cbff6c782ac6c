/// Name rules of the OCI distribution spec, for what arrives from outside.
public enum OCINames {
    /// Repository: path components of `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    /// joined by `/`, at most 255 characters in all (distribution-spec).
    public static func isValidRepository(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            component.wholeMatch(of: #/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*/#) != nil
        }
    }

    /// Tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        tag.wholeMatch(of: #/[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}/#) != nil
    }

    /// Digest: `algorithm:encoded`, e.g. `sha256:` and 64 hex characters.
    public static func isValidDigest(_ digest: String) -> Bool {
        guard digest.wholeMatch(of: #/[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+/#) != nil else { return false }
        if digest.hasPrefix("sha256:") {
            return digest.dropFirst(7).wholeMatch(of: #/[a-f0-9]{64}/#) != nil
        }
        return true
    }

    /// A registry's name in our URLs: letters, digits, `.`, `_` and `-`,
    /// starting and ending with a letter or digit, at most 63 characters.
    public static func isValidRegistryName(_ name: String) -> Bool {
        name.wholeMatch(of: #/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?/#) != nil
    }
}
