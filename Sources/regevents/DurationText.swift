import Foundation
/// Durations as written on the command line: `500ms`, `10s`, `1m`, `6h`, `5d`.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, milliseconds) in units where trimmed.hasSuffix(suffix) {
            guard let value = Int64(trimmed.dropLast(suffix.count)), value > 0 else { return nil }
            let (total, overflow) = value.multipliedReportingOverflow(by: milliseconds)
            return overflow ? nil : .milliseconds(total)
        }
        return nil
    }
}
