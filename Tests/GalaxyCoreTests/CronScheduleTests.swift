import Foundation
import GalaxyCore
import Testing

@Suite struct CronScheduleTests {
    static let seoul = TimeZoneRules(identifier: "Asia/Seoul")!
    static let utc = TimeZoneRules.utc

    /// Parses an RFC 3339 instant written with an explicit offset.
    func instant(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)!
    }

    func seoulText(_ date: Date?) -> String {
        guard let date else { return "none" }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Seoul")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    @Test(arguments: [
        // (after, expected next fire of `0 18 * * mon-fri` in Seoul)
        ("2026-11-27T17:59:00+09:00", "2026-11-27T18:00:00+09:00"),  // Friday before the fire
        ("2026-11-27T18:00:00+09:00", "2026-11-30T18:00:00+09:00"),  // exactly at the fire → next weekday (Mon)
        ("2026-11-28T12:00:00+09:00", "2026-11-30T18:00:00+09:00"),  // Saturday
        ("2026-12-31T18:30:00+09:00", "2027-01-01T18:00:00+09:00"),  // year boundary (Fri 2027-01-01)
        ("2026-02-27T19:00:00+09:00", "2026-03-02T18:00:00+09:00"),  // month boundary over a weekend
        ("2026-11-27T09:00:00Z", "2026-11-30T18:00:00+09:00"),  // 18:00 Seoul is 09:00 UTC
        ("2026-11-27T08:59:00Z", "2026-11-27T18:00:00+09:00"),
    ])
    func dailyScheduleInSeoul(_ after: String, _ expected: String) throws {
        let cron = try CronSchedule("0 18 * * mon-fri", timeZone: Self.seoul)
        #expect(seoulText(cron.nextFire(after: instant(after))) == expected)
    }

    @Test func theZoneIsTheSchedulesNotTheHosts() throws {
        let seoul = try CronSchedule("30 18 * * mon-fri", timeZone: Self.seoul)
        let utc = try CronSchedule("30 18 * * mon-fri", timeZone: Self.utc)
        let after = instant("2026-11-30T00:00:00Z")
        #expect(seoulText(seoul.nextFire(after: after)) == "2026-11-30T18:30:00+09:00")
        #expect(seoulText(utc.nextFire(after: after)) == "2026-12-01T03:30:00+09:00")
    }

    @Test func listsRangesStepsAndNames() throws {
        let cron = try CronSchedule("*/20 9-10 1,15 jan,jul *", timeZone: Self.utc)
        var fires: [Date] = []
        var cursor = instant("2026-12-31T00:00:00Z")
        for _ in 0..<8 {
            let next = try #require(cron.nextFire(after: cursor))
            fires.append(next)
            cursor = next
        }
        let formatter = ISO8601DateFormatter()
        #expect(fires.map(formatter.string(from:)) == [
            "2027-01-01T09:00:00Z", "2027-01-01T09:20:00Z", "2027-01-01T09:40:00Z", "2027-01-01T10:00:00Z",
            "2027-01-01T10:20:00Z", "2027-01-01T10:40:00Z", "2027-01-15T09:00:00Z", "2027-01-15T09:20:00Z",
        ])
    }

    @Test func sundayIsZeroAndSevenAndDayFieldsCombineWithOr() throws {
        let sunday = try CronSchedule("0 0 * * 7", timeZone: Self.utc)
        let zero = try CronSchedule("0 0 * * 0", timeZone: Self.utc)
        let after = instant("2026-11-25T00:00:00Z")
        #expect(sunday.nextFire(after: after) == zero.nextFire(after: after))
        #expect(sunday.civilDate(of: sunday.nextFire(after: after)!) == TradeDate("2026-11-29"))
        // Vixie semantics: the 1st of the month OR a Monday.
        let either = try CronSchedule("0 0 1 * mon", timeZone: Self.utc)
        #expect(either.civilDate(of: either.nextFire(after: instant("2026-11-28T00:00:00Z"))!) == TradeDate("2026-11-30"))
        #expect(either.civilDate(of: either.nextFire(after: instant("2026-11-30T00:00:00Z"))!) == TradeDate("2026-12-01"))
    }

    @Test func previousFireFindsTheRunThatShouldHaveHappened() throws {
        let cron = try CronSchedule("0 18 * * mon-fri", timeZone: Self.seoul)
        #expect(seoulText(cron.previousFire(atOrBefore: instant("2026-11-30T09:00:00+09:00"))) == "2026-11-27T18:00:00+09:00")
        #expect(seoulText(cron.previousFire(atOrBefore: instant("2026-11-30T18:00:00+09:00"))) == "2026-11-30T18:00:00+09:00")
    }

    @Test(arguments: ["0 18 * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * funday",
                      "*/0 * * * *", "5-1 * * * *", "0 18 * * mon-fri extra", "1,,2 * * * *"])
    func rejectsBadExpressionsWithAReason(_ expression: String) {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(expression, timeZone: Self.utc) }
    }

    @Test func impossibleDatesHaveNoNextFire() throws {
        let cron = try CronSchedule("0 0 31 2 *", timeZone: Self.utc)
        #expect(cron.nextFire(after: Date(timeIntervalSince1970: 0)) == nil)
    }

    @Test func todayIsTheExchangesDate() {
        let lateUTC = instant("2026-11-29T20:00:00Z")  // already Monday morning in Seoul
        #expect(TradeDate.today(in: Self.seoul, at: lateUTC) == TradeDate("2026-11-30"))
        #expect(TradeDate.today(in: Self.utc, at: lateUTC) == TradeDate("2026-11-29"))
    }
}
