import Foundation

enum Timestamps {
    /// Now, as RFC 3339 with milliseconds and `Z`.
    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// RFC 3339 date-time as we pass it on: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`,
    /// upper-case `T` and `Z`, fields in range (no leap second).
    static func isRFC3339(_ text: String) -> Bool {
        guard let match = text.wholeMatch(
            of: #/(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))/#)
        else { return false }
        guard let month = Int(match.2), let day = Int(match.3), let hour = Int(match.4), let minute = Int(match.5),
            let second = Int(match.6)
        else { return false }
        let offsetOK = (match.7.flatMap { Int($0) }.map { $0 <= 23 } ?? true) && (match.8.flatMap { Int($0) }.map { $0 <= 59 } ?? true)
        return (1...12).contains(month) && (1...31).contains(day) && hour <= 23 && minute <= 59 && second <= 59 && offsetOK
    }
}
