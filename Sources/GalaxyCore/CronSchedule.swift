import FoundationEssentials

/// A five-field cron expression (`minute hour day-of-month month day-of-week`) evaluated in an explicit time zone.
///
/// The zone is part of the schedule, not of the host: `0 18 * * mon-fri` in Asia/Seoul fires at 09:00 UTC whatever
/// `TZ` the machine has — the bug APScheduler and cron users keep reporting. Fields accept `*`, numbers, lists
/// (`1,15`), ranges (`mon-fri`, `9-17`), steps (`*/5`, `0-30/10`) and English month and day names; day of week 0 and
/// 7 both mean Sunday. As in Vixie cron, when both day fields are restricted a day matching either one fires.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: String
    public let timeZone: TimeZoneRules
    /// Ascending.
    private let minutes: [Int]
    /// Ascending.
    private let hours: [Int]
    private let daysOfMonth: Set<Int>
    private let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    private let daysOfWeek: Set<Int>
    private let dayOfMonthRestricted: Bool
    private let dayOfWeekRestricted: Bool

    /// A cron expression that cannot be parsed; the message points at the field and what it accepts.
    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        public let expression: String
        public let reason: String
        public var description: String { "invalid cron expression '\(expression)': \(reason)" }
    }

    public init(_ expression: String, timeZone: TimeZoneRules) throws {
        self.expression = expression
        self.timeZone = timeZone
        let fields = expression.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(
                expression: expression,
                reason: "expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        func parse(_ index: Int, _ name: String, _ range: ClosedRange<Int>, _ names: [String: Int] = [:]) throws
            -> Set<Int>
        {
            do {
                return try Self.parseField(fields[index], range: range, names: names)
            } catch let reason as FieldError {
                throw ParseError(expression: expression, reason: "\(name) field '\(fields[index])': \(reason.text)")
            }
        }
        minutes = try parse(0, "minute", 0...59).sorted()
        hours = try parse(1, "hour", 0...23).sorted()
        daysOfMonth = try parse(2, "day-of-month", 1...31)
        months = try parse(3, "month", 1...12, Self.monthNames)
        daysOfWeek = Set(try parse(4, "day-of-week", 0...7, Self.dayNames).map { $0 % 7 })
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    /// Convenience: the zone by IANA identifier, with an error naming it when the host has no such zone.
    public init(_ expression: String, timeZoneIdentifier: String) throws {
        guard let zone = TimeZoneRules(identifier: timeZoneIdentifier) else {
            throw ParseError(expression: expression, reason: "unknown time zone '\(timeZoneIdentifier)'")
        }
        try self.init(expression, timeZone: zone)
    }

    public var description: String { "\(expression) (\(timeZone.identifier))" }

    /// The first fire time strictly after `instant`, or nil if none within eight years (e.g. `0 0 31 2 *`).
    public func nextFire(after instant: Date) -> Date? {
        let after = Self.seconds(instant)
        var day = timeZone.localTime(atUTC: after).date
        for _ in 0..<(366 * 8) {
            if matches(day) {
                for hour in hours {
                    for minute in minutes {
                        if let fire = fireTime(day, hour, minute), fire > after { return Self.date(fire) }
                    }
                }
            }
            day = day.next
        }
        return nil
    }

    /// The last fire time at or before `instant`: "the run that should have happened by now". The scheduler compares
    /// it with the ledger to catch up after downtime instead of trusting its own memory.
    public func previousFire(atOrBefore instant: Date) -> Date? {
        let atOrBefore = Self.seconds(instant)
        var day = timeZone.localTime(atUTC: atOrBefore).date
        for _ in 0..<(366 * 8) {
            if matches(day) {
                for hour in hours.reversed() {
                    for minute in minutes.reversed() {
                        if let fire = fireTime(day, hour, minute), fire <= atOrBefore { return Self.date(fire) }
                    }
                }
            }
            day = day.previous
        }
        return nil
    }

    /// The civil date of `instant` in this schedule's zone (the trading date a fire belongs to).
    public func civilDate(of instant: Date) -> TradeDate {
        timeZone.localTime(atUTC: Self.seconds(instant)).date
    }

    /// The instant (UTC seconds) of a local wall-clock time, or nil when it does not exist (skipped by a DST change).
    private func fireTime(_ day: TradeDate, _ hour: Int, _ minute: Int) -> Int64? {
        timeZone.utcSeconds(of: LocalTime(date: day, hour: hour, minute: minute))
    }

    private static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
    private static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: Double(seconds)) }

    private func matches(_ day: TradeDate) -> Bool {
        guard months.contains(day.month) else { return false }
        let domMatch = daysOfMonth.contains(day.day)
        let dowMatch = daysOfWeek.contains(day.weekday % 7)
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return domMatch || dowMatch
        case (true, false): return domMatch
        case (false, true): return dowMatch
        case (false, false): return true
        }
    }

    private struct FieldError: Error { let text: String }

    private static let monthNames = [
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
        "nov": 11, "dec": 12,
    ]
    private static let dayNames = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    private static func parseField(_ field: String, range: ClosedRange<Int>, names: [String: Int]) throws -> Set<Int> {
        var values = Set<Int>()
        for part in field.lowercased().split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw FieldError(text: "empty list element") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw FieldError(text: "more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw FieldError(text: "step '\(pieces[1])' is not a positive number")
                }
                step = parsed
            }
            let base = pieces[0]
            let bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw FieldError(text: "'\(base)' is not a value or a range") }
                func value(_ text: Substring) throws -> Int {
                    if let number = Int(text) {
                        guard range.contains(number) else {
                            throw FieldError(text: "\(number) is outside \(range.lowerBound)-\(range.upperBound)")
                        }
                        return number
                    }
                    if let named = names[String(text)] { return named }
                    throw FieldError(text: "'\(text)' is not a number\(names.isEmpty ? "" : " or a name")")
                }
                let low = try value(ends[0])
                let high = ends.count == 2 ? try value(ends[1]) : (pieces.count == 2 ? range.upperBound : low)
                guard low <= high else { throw FieldError(text: "range \(low)-\(high) runs backwards") }
                bounds = low...high
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }
}

extension TradeDate {
    /// Today's date in `timeZone` at `instant` — "today" for the exchange, not for the host.
    public static func today(in timeZone: TimeZoneRules, at instant: Date = Date()) -> TradeDate {
        timeZone.localTime(atUTC: Int64(instant.timeIntervalSince1970.rounded(.down))).date
    }
}
