/// Name rules of the OCI distribution spec, for what arrives from outside.
/// Scanned byte by byte: these run for every ingested event, and a regex
/// literal was compiled again on every call (half of ingest's CPU).
public enum OCINames {
    /// Repository: path components of `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    /// joined by `/`, at most 255 characters in all (distribution-spec).
    public static func isValidRepository(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        return name.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).allSatisfy(isValidComponent)
    }

    /// One component: lower-case letter-or-digit runs, separated by `.`, `_`,
    /// `__` or any number of `-`.
    static func isValidComponent(_ bytes: Substring.UTF8View) -> Bool {
        var index = bytes.startIndex
        guard index < bytes.endIndex, ASCII.isLowerAlphanumeric(bytes[index]) else { return false }
        while true {
            while index < bytes.endIndex, ASCII.isLowerAlphanumeric(bytes[index]) { bytes.formIndex(after: &index) }
            guard index < bytes.endIndex else { return true }
            switch bytes[index] {
            case UInt8(ascii: "."):
                bytes.formIndex(after: &index)
            case UInt8(ascii: "_"):
                bytes.formIndex(after: &index)
                if index < bytes.endIndex, bytes[index] == UInt8(ascii: "_") { bytes.formIndex(after: &index) }
            case UInt8(ascii: "-"):
                while index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") { bytes.formIndex(after: &index) }
            default:
                return false
            }
            // A separator is always followed by a letter or digit.
            guard index < bytes.endIndex, ASCII.isLowerAlphanumeric(bytes[index]) else { return false }
        }
    }

    /// Tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = tag.utf8
        guard let first = bytes.first, bytes.count <= 128, ASCII.isAlphanumeric(first) || first == UInt8(ascii: "_") else {
            return false
        }
        return bytes.dropFirst().allSatisfy { ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Digest: `algorithm:encoded`, the algorithm `[a-z0-9]+([.+_-][a-z0-9]+)*`
    /// and the encoded part `[a-zA-Z0-9=_-]+`; `sha256:` takes 64 lower-case
    /// hex characters.
    public static func isValidDigest(_ digest: String) -> Bool {
        let bytes = Array(digest.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let algorithm = bytes[..<colon]
        let encoded = bytes[(colon + 1)...]
        guard isValidAlgorithm(algorithm), !encoded.isEmpty,
            encoded.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else { return false }
        if algorithm.elementsEqual("sha256".utf8) {
            return encoded.count == 64 && encoded.allSatisfy(ASCII.isLowerHex)
        }
        return true
    }

    /// Lower-case letter-or-digit runs separated by one of `.+_-`.
    private static func isValidAlgorithm(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, let last = bytes.last, ASCII.isLowerAlphanumeric(first), ASCII.isLowerAlphanumeric(last)
        else { return false }
        var previousWasSeparator = false
        for byte in bytes {
            if ASCII.isLowerAlphanumeric(byte) {
                previousWasSeparator = false
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
                guard !previousWasSeparator else { return false }
                previousWasSeparator = true
            } else {
                return false
            }
        }
        return true
    }

    /// A registry's name in our URLs: runs of letters and digits joined by
    /// single `.`, `_` or `-`, at most 63 characters (`ResourceName.registry`).
    public static func isValidRegistryName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63, ASCII.isAlphanumeric(first), ASCII.isAlphanumeric(last)
        else { return false }
        // Runs of letters and digits joined by single separators.
        var previousWasSeparator = false
        for byte in bytes {
            guard ASCII.isNameCharacter(byte) else { return false }
            let isSeparator = !ASCII.isAlphanumeric(byte)
            if isSeparator && previousWasSeparator { return false }
            previousWasSeparator = isSeparator
        }
        return true
    }

    /// A replica location: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
    public static func isValidLocation(_ location: String) -> Bool {
        let bytes = location.utf8
        guard let first = bytes.first, bytes.count <= 64, ASCII.isAlphanumeric(first) else { return false }
        return bytes.allSatisfy(ASCII.isNameCharacter)
    }
}
