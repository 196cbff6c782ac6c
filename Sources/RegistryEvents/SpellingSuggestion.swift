/// The "did you mean" of an error: the known name a misspelt one was most
/// likely meant to be. One algorithm for the CLI's unknown flags and
/// subcommands and the API's unknown JSON properties, so both suggest alike.
public enum SpellingSuggestion {
    /// The candidate closest to `name`, or `nil` when none is close enough to
    /// be a slip of the keyboard: at most one edit per three characters of
    /// `name`, and never more than two (a short name gets no wild guesses).
    /// Case is ignored, so `MaxEventsPerBatch` suggests `maxEventsPerBatch`.
    /// Ties go to the earlier candidate.
    public static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let allowed = min(2, name.count / 3)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates where candidate != name {
            let distance = editDistance(name.lowercased(), candidate.lowercased())
            if distance <= allowed, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Damerau–Levenshtein distance (optimal string alignment): insertions,
    /// deletions, substitutions and swaps of two neighbours each count one,
    /// so `endpont` is one from `endpoint` and `lsit` one from `list`.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // Three rows of the table are enough: the swap looks two rows back.
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}
