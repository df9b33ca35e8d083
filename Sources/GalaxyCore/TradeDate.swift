/// A civil date on the exchange's calendar (no time, no zone): the unit of everything galaxy collects.
///
/// KRX publishes one whole-market answer per date, the ledger keys on `(dataset, date)`, and the control API speaks
/// ISO `YYYY-MM-DD`; keeping the date as three integers avoids the classic bug of a `Date` at midnight UTC that
/// turns into the previous day in Seoul.
public struct TradeDate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Creates a date, or nil when the components do not name a real day (2023-02-29, month 13, …).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses ISO `YYYY-MM-DD` or KRX's compact `YYYYMMDD` (and `YYYY/MM/DD`, as the data portal writes dates).
    public init?(_ text: some StringProtocol) {
        let digits = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let c = digits[index]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            return value
        }
        let parts: (Int?, Int?, Int?)
        switch digits.count {
        case 8:
            parts = (number(0..<4), number(4..<6), number(6..<8))
        case 10 where (digits[4] == UInt8(ascii: "-") && digits[7] == UInt8(ascii: "-"))
            || (digits[4] == UInt8(ascii: "/") && digits[7] == UInt8(ascii: "/")):
            parts = (number(0..<4), number(5..<7), number(8..<10))
        default:
            return nil
        }
        guard let y = parts.0, let m = parts.1, let d = parts.2 else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days since 1970-01-01 (negative before). Makes arithmetic and weekday computation exact and cheap.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date `days` days since 1970-01-01.
    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let w = (daysSinceEpoch + 3) % 7  // 1970-01-01 was a Thursday.
        return (w < 0 ? w + 7 : w) + 1
    }

    public var isWeekend: Bool { weekday >= 6 }

    public func adding(days: Int) -> TradeDate { TradeDate(daysSinceEpoch: daysSinceEpoch + days) }

    public var next: TradeDate { adding(days: 1) }
    public var previous: TradeDate { adding(days: -1) }

    /// `YYYY-MM-DD`, as the control API and command lines write dates.
    public var iso: String { "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))" }

    /// `YYYYMMDD`, as KRX's request parameters (`trdDd`, `basDd`) want it.
    public var compact: String { "\(Self.pad(year, 4))\(Self.pad(month, 2))\(Self.pad(day, 2))" }

    public var description: String { iso }

    public static func < (lhs: TradeDate, rhs: TradeDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = TradeDate(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a date; expected YYYY-MM-DD")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso)
    }
}

/// A closed range of dates, `start … end`, as backfills and `--from/--to` describe work.
public struct DateRange: Hashable, Sendable, CustomStringConvertible, Codable, Sequence {
    public let start: TradeDate
    public let end: TradeDate

    /// nil when `end` comes before `start`: an empty range is a caller's bug or a no-op, never silently inverted.
    public init?(_ start: TradeDate, _ end: TradeDate) {
        guard start <= end else { return nil }
        self.start = start
        self.end = end
    }

    public init(single date: TradeDate) {
        self.start = date
        self.end = date
    }

    public var dayCount: Int { end.daysSinceEpoch - start.daysSinceEpoch + 1 }

    public func contains(_ date: TradeDate) -> Bool { start <= date && date <= end }

    /// Splits the range at calendar-year boundaries: one backfill task per chunk, so a crash loses at most the
    /// chunk's unfinished days and progress is reported in units an operator understands.
    public func yearlyChunks() -> [DateRange] {
        var chunks: [DateRange] = []
        var cursor = start
        while cursor <= end {
            let yearEnd = TradeDate(year: cursor.year, month: 12, day: 31)!
            let chunkEnd = Swift.min(yearEnd, end)
            chunks.append(DateRange(cursor, chunkEnd)!)
            cursor = chunkEnd.next
        }
        return chunks
    }

    public func makeIterator() -> AnyIterator<TradeDate> {
        var cursor = start
        let last = end
        return AnyIterator {
            guard cursor <= last else { return nil }
            defer { cursor = cursor.next }
            return cursor
        }
    }

    public var description: String { start == end ? start.iso : "\(start.iso)…\(end.iso)" }
}
