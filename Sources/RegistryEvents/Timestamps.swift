import Foundation

enum Timestamps {
    /// Now, as RFC 3339 with milliseconds and `Z`.
    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// RFC 3339 date-time as we pass it on: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`,
    /// upper-case `T` and `Z`, fields in range (no leap second). Scanned by
    /// hand: it runs for every ingested event.
    static func isRFC3339(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        /// The two-or-four digit number at `offset`, if every byte is a digit.
        func number(_ offset: Int, _ length: Int) -> Int? {
            guard offset + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[offset..<(offset + length)] {
                guard ASCII.isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ offset: Int, is character: Unicode.Scalar) -> Bool { offset < bytes.count && bytes[offset] == UInt8(ascii: character) }
        guard number(0, 4) != nil, byte(4, is: "-"), let month = number(5, 2), byte(7, is: "-"), let day = number(8, 2),
            byte(10, is: "T"), let hour = number(11, 2), byte(13, is: ":"), let minute = number(14, 2), byte(16, is: ":"),
            let second = number(17, 2)
        else { return false }
        var index = 19
        if byte(index, is: ".") {
            let digits = bytes[(index + 1)...].prefix(while: ASCII.isDigit).count
            guard digits > 0 else { return false }
            index += 1 + digits
        }
        let zoneOK: Bool
        if byte(index, is: "Z") {
            zoneOK = index + 1 == bytes.count
        } else if byte(index, is: "+") || byte(index, is: "-") {
            let offsetHour = number(index + 1, 2)
            let offsetMinute = number(index + 4, 2)
            zoneOK = byte(index + 3, is: ":") && index + 6 == bytes.count && (offsetHour ?? 99) <= 23 && (offsetMinute ?? 99) <= 59
        } else {
            zoneOK = false
        }
        return zoneOK && (1...12).contains(month) && (1...31).contains(day) && hour <= 23 && minute <= 59 && second <= 59
    }
}
