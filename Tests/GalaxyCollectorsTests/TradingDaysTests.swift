import Foundation
@testable import GalaxyCollectors
import GalaxyCore
import GalaxyKRX
import GalaxyPostgres
import KRXSimulator
import Testing

/// A calendar from a fixed list, for the pure rules of `ClosedDayFinder`.
struct FixedCalendar: TradingDaysSource {
    let sessions: [TradeDate]
    func tradingDays(in range: DateRange) throws -> [TradeDate] { sessions.filter { range.contains($0) } }
}

@Suite("Trading-day calendar")
struct TradingDaysTests {
    @Test("a range run learns closed days with one calendar request per year and fetches only trading days")
    func calendarSkipsClosedDays() async throws {
        try await withFixture { fixture in
            let range = DateRange(TradeDate("2023-12-20")!, TradeDate("2024-01-10")!)!  // crosses a year
            let outcome = try await fixture.collect(.dataset(.price), .range(range, mode: .unsettled))
            #expect(outcome.exitCode == .success, "\(outcome)")
            let market = fixture.simulator.market
            let trading = range.filter { market.isTradingDay($0.sim) }
            let stats = fixture.simulator.stats()
            #expect(stats.count("portal/MDCSTAT00301") == 2, "one per calendar year of the range")
            #expect(stats.count("portal/MDCSTAT01501") == trading.count, "no request for a closed day")
            #expect(outcome.progress.daysDone == range.dayCount)
            #expect(outcome.progress.requests == trading.count + 2)

            let connection = try fixture.connect()
            defer { connection.close() }
            let counts = try Ledger(connection).statusCounts(.price, in: range)
            #expect(counts[.collected] == trading.count)
            #expect(counts[.noSession] == range.dayCount - trading.count)
            #expect(try Ledger(connection).day(.price, on: TradeDate("2023-12-29")!)?.status == .noSession,
                    "연말휴장일: a weekday closure")
        }
    }

    @Test("days after the calendar's last session are fetched, not settled as closed; an empty year is distrusted")
    func closedDayRules() throws {
        let d = { (text: String) in TradeDate(text)! }
        let calendar = FixedCalendar(sessions: [d("2024-03-13"), d("2024-03-14"), d("2024-03-15")])
        let days = Array(DateRange(d("2024-03-12"), d("2024-03-19"))!)
        let closed = try ClosedDayFinder(calendar: calendar).closedDays(among: days)
        // 03-12 is before the first listed session but inside the answered range: closed. 03-16… are after the last
        // listed session (not published yet, or the future): never assumed closed.
        #expect(closed == [d("2024-03-12")])

        // A session after the range (found by looking two weeks ahead) proves the range's last days closed.
        let yearEnd = FixedCalendar(sessions: [d("2023-12-27"), d("2023-12-28"), d("2024-01-02")])
        let december = Array(DateRange(d("2023-12-27"), d("2023-12-31"))!)
        #expect(try ClosedDayFinder(calendar: yearEnd).closedDays(among: december)
                    == [d("2023-12-29"), d("2023-12-30"), d("2023-12-31")])

        let gap = FixedCalendar(sessions: [d("2024-01-03")])
        let span = Array(DateRange(d("2023-06-01"), d("2024-01-05"))!)
        #expect(throws: ClosedDayFinder.Implausible.self) {
            try ClosedDayFinder(calendar: gap).closedDays(among: span)
        }
        #expect(try ClosedDayFinder(calendar: FixedCalendar(sessions: [])).closedDays(among: span).isEmpty)
    }
}
