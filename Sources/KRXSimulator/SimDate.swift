/// A civil date as the simulator sees it (no time, no zone).
///
/// The simulator deliberately has its own date type instead of importing GalaxyCore's `TradeDate`: it must share no
/// code with the client it tests, so a parsing bug cannot hide on both sides of the wire.
public struct SimDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01 (negative before): arithmetic and weekdays are exact and cheap.
    public let dayNumber: Int

    public init(dayNumber: Int) { self.dayNumber = dayNumber }

    /// Creates a date, or nil when the components do not name a real day.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        self.dayNumber = era * 146_097 + doe - 719_468
    }

    /// Parses `YYYYMMDD`, `YYYY-MM-DD` or `YYYY/MM/DD`; nil for anything else (KRX answers such requests with
    /// an empty screen, never a crash).
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let c = bytes[index]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            return value
        }
        let parts: (Int?, Int?, Int?)
        if bytes.count == 8 {
            parts = (number(0..<4), number(4..<6), number(6..<8))
        } else if bytes.count == 10, bytes[4] == bytes[7], bytes[4] == UInt8(ascii: "-") || bytes[4] == UInt8(ascii: "/") {
            parts = (number(0..<4), number(5..<7), number(8..<10))
        } else {
            return nil
        }
        guard let y = parts.0, let m = parts.1, let d = parts.2 else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// `(year, month, day)`.
    public var components: (year: Int, month: Int, day: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public var year: Int { components.year }

    /// `YYYYMMDD` as an integer (the calendar table's key).
    public var compactNumber: Int {
        let c = components
        return c.year * 10_000 + c.month * 100 + c.day
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let w = (dayNumber + 3) % 7  // 1970-01-01 was a Thursday.
        return (w < 0 ? w + 7 : w) + 1
    }

    public func adding(days: Int) -> SimDate { SimDate(dayNumber: dayNumber + days) }

    /// `YYYY-MM-DD`.
    public var iso: String { format(separator: "-") }
    /// `YYYYMMDD`, as the Open API and form fields write dates.
    public var compact: String { format(separator: "") }
    /// `YYYY/MM/DD`, as the data portal writes dates.
    public var slashed: String { format(separator: "/") }

    public var description: String { iso }

    func format(separator: String) -> String {
        let c = components
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year)\(separator)\(two(c.month))\(separator)\(two(c.day))"
    }

    public static func < (lhs: SimDate, rhs: SimDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
