/// The KRX trading calendar the simulator serves: weekdays minus KRX's closures, plus the Saturday sessions of
/// 1995–1998.
///
/// Inside 1995–2027 it is the embedded copy of `data/krx-calendar.csv` (so the simulator closes on the same lunar
/// holidays, election days and 12-31 closures as KRX); outside it falls back to weekdays minus the fixed-date
/// national holidays and the year-end closure. Every trading day gets a dense index so prices can be addressed
/// by "the n-th session" and a day's previous session is one subtraction away.
public struct TradingCalendar: Sendable {
    /// First and last day the calendar covers; requests outside are treated as closed days.
    public let firstDay: SimDate
    public let lastDay: SimDate
    /// Every trading day in order.
    let sessions: [SimDate]
    /// For each day since `firstDay`: index into `sessions` of the last session on or before it (-1 before any).
    let floorIndex: [Int32]
    let isSession: [Bool]

    init() {
        firstDay = SimDate(year: 1990, month: 1, day: 1)!
        lastDay = SimDate(year: 2040, month: 12, day: 31)!
        let closed = Set(krxClosedWeekdays.map(Int.init))
        let saturdays = Set(krxSaturdaySessions.map(Int.init))
        let fixedHolidays: Set<Int> = [101, 301, 501, 505, 606, 815, 1003, 1009, 1225, 1231]
        var sessions: [SimDate] = []
        var floorIndex: [Int32] = []
        var isSession: [Bool] = []
        let count = lastDay.dayNumber - firstDay.dayNumber + 1
        floorIndex.reserveCapacity(count)
        isSession.reserveCapacity(count)
        for number in firstDay.dayNumber...lastDay.dayNumber {
            let day = SimDate(dayNumber: number)
            let compact = day.compactNumber
            let year = compact / 10_000
            let open: Bool
            if (1995...2027).contains(year) {
                open = day.weekday <= 5 ? !closed.contains(compact) : saturdays.contains(compact)
            } else {
                open = day.weekday <= 5 && !fixedHolidays.contains(compact % 10_000)
            }
            if open { sessions.append(day) }
            isSession.append(open)
            floorIndex.append(Int32(sessions.count - 1))
        }
        self.sessions = sessions
        self.floorIndex = floorIndex
        self.isSession = isSession
    }

    /// True when KRX holds a session on `date`.
    public func isTradingDay(_ date: SimDate) -> Bool {
        guard let offset = offset(date) else { return false }
        return isSession[offset]
    }

    /// The last trading day on or before `date` (nil before the calendar starts).
    public func tradingDay(onOrBefore date: SimDate) -> SimDate? {
        guard let index = sessionIndex(onOrBefore: date) else { return nil }
        return sessions[index]
    }

    /// The first trading day on or after `date` (`date` itself past the calendar's end).
    public func tradingDay(onOrAfter date: SimDate) -> SimDate {
        if date < firstDay { return date }
        let next = (sessionIndex(onOrBefore: date.adding(days: -1)) ?? -1) + 1
        return next < sessions.count ? sessions[next] : date
    }

    /// The last trading day strictly before `date`.
    public func tradingDay(before date: SimDate) -> SimDate? {
        tradingDay(onOrBefore: date.adding(days: -1))
    }

    /// Every trading day in `from...to`, oldest first.
    public func tradingDays(from: SimDate, through to: SimDate) -> [SimDate] {
        guard from <= to, let last = sessionIndex(onOrBefore: to) else { return [] }
        let first = (sessionIndex(onOrBefore: from.adding(days: -1)) ?? -1) + 1
        guard first <= last else { return [] }
        return Array(sessions[first...last])
    }

    /// Weekday closures of `year` (what KRX's holiday screen lists: weekend holidays are not listed).
    public func weekdayClosures(year: Int) -> [SimDate] {
        guard let start = SimDate(year: year, month: 1, day: 1), let end = SimDate(year: year, month: 12, day: 31)
        else { return [] }
        var result: [SimDate] = []
        var day = start
        while day <= end {
            if day.weekday <= 5, let offset = offset(day), !isSession[offset] { result.append(day) }
            day = day.adding(days: 1)
        }
        return result
    }

    /// Dense index of the session on or before `date`: session n-1 is the previous trading day of session n.
    func sessionIndex(onOrBefore date: SimDate) -> Int? {
        if date > lastDay { return sessions.count - 1 }
        guard let offset = offset(date) else { return nil }
        let index = Int(floorIndex[offset])
        return index >= 0 ? index : nil
    }

    func session(_ index: Int) -> SimDate { sessions[index] }

    private func offset(_ date: SimDate) -> Int? {
        let offset = date.dayNumber - firstDay.dayNumber
        return offset >= 0 && offset < isSession.count ? offset : nil
    }

    /// Korean name of a closure, as the holiday screen's `holdy_nm` shows it.
    static func holidayName(_ date: SimDate) -> String {
        let c = date.components
        if c.year == 2026, let name = names2026[c.month * 100 + c.day] { return name }
        switch c.month * 100 + c.day {
        case 101: return "신정"
        case 301: return "삼일절"
        case 501: return "근로자의날"
        case 505: return "어린이날"
        case 606: return "현충일"
        case 815: return "광복절"
        case 1003: return "개천절"
        case 1009: return "한글날"
        case 1225: return "성탄절"
        case 1231: return "연말휴장일"
        default: return "휴장일"
        }
    }

    private static let names2026: [Int: String] = [
        101: "신정", 216: "설날", 217: "설날", 218: "설날", 302: "삼일절(대체휴일)", 501: "근로자의날",
        505: "어린이날", 525: "석가탄신일(대체휴일)", 603: "임시공휴일", 717: "제헌절", 817: "광복절(대체휴일)",
        924: "추석", 925: "추석", 1005: "개천절(대체휴일)", 1009: "한글날", 1225: "성탄절", 1231: "연말휴장일",
    ]
}
