import Foundation
import GalaxyCore
import Testing

/// `TimeZoneRules` reads the tz database itself; Foundation's `TimeZone` (ICU, with its own copy of the data) is the
/// reference it must agree with.
@Suite struct TimeZoneRulesTests {
    @Test(arguments: [
        "Asia/Seoul", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo",
        "Pacific/Chatham", "UTC",
    ])
    func offsetsAgreeWithFoundation(_ identifier: String) throws {
        let rules = try #require(TimeZoneRules(identifier: identifier))
        let reference = try #require(TimeZone(identifier: identifier))
        // Every ~3.7 days from 1970 to 2060: crosses every transition season, and the years after the last listed
        // transition, where the POSIX footer rule answers.
        var mismatches: [String] = []
        var instant: Int64 = 0
        while instant < 2_840_000_000 {
            let ours = rules.offset(atUTC: instant)
            let theirs = reference.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))
            if ours != theirs { mismatches.append("\(instant): \(ours) vs \(theirs)") }
            instant += 320_000
        }
        #expect(mismatches.isEmpty, "\(identifier): \(mismatches.prefix(5))")
    }

    @Test func seoulIsNineHoursAheadAndHadDaylightTimeIn1988() throws {
        let seoul = try #require(TimeZoneRules(identifier: "Asia/Seoul"))
        #expect(seoul.offset(atUTC: 1_764_000_000) == 9 * 3600)  // 2025-11
        #expect(seoul.offset(atUTC: 585_000_000) == 10 * 3600)  // 1988-07-15, KDT
    }

    @Test func skippedLocalTimesDoNotExistAndRepeatedOnesAreTheFirst() throws {
        let newYork = try #require(TimeZoneRules(identifier: "America/New_York"))
        let springForward = LocalTime(date: TradeDate("2026-03-08")!, hour: 2, minute: 30)
        #expect(newYork.utcSeconds(of: springForward) == nil)
        let fallBack = LocalTime(date: TradeDate("2026-11-01")!, hour: 1, minute: 30)
        // 01:30 EDT (UTC-4) comes before 01:30 EST: 05:30Z.
        #expect(newYork.utcSeconds(of: fallBack) == 1_793_511_000)
        let plain = LocalTime(date: TradeDate("2026-07-01")!, hour: 18, minute: 0)
        #expect(newYork.utcSeconds(of: plain) == 1_782_943_200)
        #expect(newYork.localTime(atUTC: 1_782_943_200) == plain)
    }

    @Test func cronSkipsATimeThatDoesNotExist() throws {
        let cron = try CronSchedule("30 2 * * *", timeZoneIdentifier: "America/New_York")
        let before = Date(timeIntervalSince1970: 1_772_928_000)  // 2026-03-08T00:00Z, the evening before
        let next = try #require(cron.nextFire(after: before))
        // No 02:30 on 2026-03-08 in New York: the next is 2026-03-09T02:30-04:00 = 06:30Z.
        #expect(next == Date(timeIntervalSince1970: 1_773_037_800))
    }

    @Test(arguments: ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime", "Asia/../Asia/Seoul", "Asia/"])
    func unknownOrEscapingNamesAreRejected(_ identifier: String) {
        #expect(TimeZoneRules(identifier: identifier) == nil)
    }

    @Test func fixedTextRoundsLikePrintf() {
        #expect(3.14159.fixed(1) == "3.1")
        #expect(2.25.fixed(0) == "2")
        #expect((-0.05).fixed(2) == "-0.05")
        #expect(0.999.fixed(2) == "1.00")
        #expect(12.0.fixed(3) == "12.000")
    }
}
