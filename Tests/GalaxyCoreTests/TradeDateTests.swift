import GalaxyCore
import Testing

@Suite struct TradeDateTests {
    @Test func parsesTheThreeSpellingsKRXAndTheAPIUse() throws {
        let expected = try #require(TradeDate(year: 2021, month: 1, day: 22))
        #expect(TradeDate("2021-01-22") == expected)
        #expect(TradeDate("20210122") == expected)
        #expect(TradeDate("2021/01/22") == expected)
        #expect(expected.iso == "2021-01-22")
        #expect(expected.compact == "20210122")
    }

    @Test(arguments: ["2023-02-29", "2021-13-01", "2021-00-10", "2021-1-22", "20210132", "", "abcd-ef-gh", "2021-01-22x"])
    func rejectsWhatIsNotADay(_ text: String) {
        #expect(TradeDate(text) == nil)
    }

    @Test func epochArithmeticRoundTripsAcrossCenturies() {
        var date = TradeDate(year: 1899, month: 12, day: 25)!
        var days = date.daysSinceEpoch
        for _ in 0..<60_000 {
            #expect(TradeDate(daysSinceEpoch: days) == date)
            date = date.next
            days += 1
        }
        #expect(TradeDate(year: 1970, month: 1, day: 1)!.daysSinceEpoch == 0)
        #expect(TradeDate(year: 2000, month: 3, day: 1)!.previous == TradeDate(year: 2000, month: 2, day: 29))
    }

    @Test func weekdaysAreISO() {
        #expect(TradeDate("2026-11-30")!.weekday == 1)  // Monday
        #expect(TradeDate("2026-11-29")!.weekday == 7)  // Sunday
        #expect(TradeDate("2026-11-28")!.isWeekend)
        #expect(!TradeDate("2026-11-27")!.isWeekend)
    }

}

@Suite struct DateRangeTests {
    @Test func yearlyChunksSplitAtYearBoundaries() throws {
        let range = try #require(DateRange(TradeDate("2023-03-15")!, TradeDate("2025-02-01")!))
        let chunks = range.yearlyChunks()
        #expect(chunks.map(\.description) == ["2023-03-15…2023-12-31", "2024-01-01…2024-12-31", "2025-01-01…2025-02-01"])
        #expect(chunks.map(\.dayCount).reduce(0, +) == range.dayCount)
    }

    @Test func singleDayAndInvertedRanges() {
        let day = TradeDate("2024-02-29")!
        #expect(DateRange(single: day).yearlyChunks() == [DateRange(single: day)])
        #expect(DateRange(day, day.previous) == nil)
        #expect(Array(DateRange(day, day.adding(days: 2))!) == [day, day.next, day.adding(days: 2)])
    }
}
