import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import KRXSimulator
import Testing

/// Prices and ETF prices from the Open API, the rest from the portal (a common deployment).
private let openAPI = [
    "GALAXY_SOURCE_PRICE": "openapi", "GALAXY_SOURCE_ETF_PRICE": "openapi", "KRX_AUTH_KEY": "demo-auth-key",
]

/// A second simulator of the same market whose "today" is `today`: its Open API answers `[]` for `today` and later,
/// which is what KRX answers for a trading day before its rows are published the next morning.
private func withEarlySimulator<T>(today: TradeDate, _ body: (KRXSimulator) async throws -> T) async throws -> T {
    let simulator = try await KRXSimulator.start(SimulatorConfiguration(seed: 7, today: SimDate(today.iso)!))
    do {
        let result = try await body(simulator)
        try? await simulator.shutdown()
        return result
    } catch {
        try? await simulator.shutdown()
        throw error
    }
}

/// A trading day is decided by the calendar and by content, never by "the list is non-empty" (issue 17).
@Suite("Closed days: content, calendar, late publication")
struct ClosedDayTests {
    @Test("a weekday holiday answered with \"\" rows ends no_session with no rows stored")
    func holidayRowsAreNoSession() async throws {
        try await withFixture { fixture in
            for dataset in [Dataset.price, .etfPrice] {
                let outcome = try await fixture.collect(
                    .dataset(dataset), .date(holiday, heal: 0), environment: openAPI)
                #expect(outcome.exitCode == .success, "\(dataset): \(outcome)")
                #expect(outcome.progress.rows == 0)
            }
            #expect(fixture.simulator.stats().count("openapi/etf_bydd_trd") == 1)
            let connection = try fixture.connect()
            defer { connection.close() }
            for dataset in [Dataset.price, .etfPrice] {
                let day = try #require(try Ledger(connection).day(dataset, on: holiday))
                #expect(day.status == .noSession && day.rows == 0, "\(dataset)")
            }
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices") == 0)
            #expect(try scalarInt(connection, "SELECT count(*) FROM etf_prices") == 0)
        }
    }

    @Test("soon after publication a holiday's \"\" rows are pending until the calendar (portal sector) says closed")
    func holidayPendingUntilTheCalendarSaysClosed() async throws {
        try await withFixture { fixture in
            let monday = TradeDate("2024-03-04")!  // the holiday (Friday 03-01) is three days old: provisional
            let early = try await fixture.collect(
                .dataset(.price), .date(holiday, heal: 0), environment: openAPI, today: monday)
            #expect(early.exitCode == .success, "\(early)")
            let connection = try fixture.connect()
            defer { connection.close() }
            let pending = try #require(try Ledger(connection).day(.price, on: holiday))
            #expect(pending.status == .pending)
            #expect(pending.lastError?.contains("fetched again until 2024-03-07") == true, "\(pending)")

            // The portal's sector screen answers "-" rows: galaxy's own calendar now lists the day as closed.
            let sector = try await fixture.collect(.dataset(.sector), .date(holiday, heal: 0), today: monday)
            #expect(sector.exitCode == .success, "\(sector)")
            #expect(try Ledger(connection).day(.sector, on: holiday)?.status == .noSession)

            // The next daily run's healing fetches the pending day again and settles it.
            let next = try await fixture.collect(
                .dataset(.price), .date(TradeDate("2024-03-05")!, heal: 4), environment: openAPI,
                today: TradeDate("2024-03-05")!)
            #expect(next.exitCode == .success, "\(next)")
            let settled = try #require(try Ledger(connection).day(.price, on: holiday))
            #expect(settled.status == .noSession && settled.rows == 0, "\(settled)")
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices WHERE date = $1", [holiday]) == 0)
            #expect(try Ledger(connection).day(.price, on: monday)?.status == .collected)
        }
    }

    @Test("an early empty answer for a trading day is pending, then collected by the next day's healing")
    func earlyEmptyAnswerIsCollectedLater() async throws {
        try await withFixture { fixture in
            let connection = try fixture.connect()
            defer { connection.close() }
            try await withEarlySimulator(today: tradingDay) { early in
                // Shortly after midnight: the client believes the day is published, KRX answers [] for it.
                var environment = openAPI
                environment["GALAXY_OPENAPI_URL"] = early.baseURL
                let outcome = try await fixture.collect(
                    .dataset(.price), .date(tradingDay, heal: 0), environment: environment, today: simToday)
                #expect(outcome.exitCode == .success, "\(outcome)")
                #expect(early.stats().count("openapi/stk_bydd_trd") == 1)
            }
            let pending = try #require(try Ledger(connection).day(.price, on: tradingDay))
            #expect(pending.status == .pending, "\(pending)")
            #expect(try Ledger(connection).unsettledDays(.price, in: DateRange(single: tradingDay)) == [tradingDay])

            // The daily run of the next day (its own date is not published yet) heals the pending day.
            let daily = try await fixture.collect(
                .dataset(.price), .date(simToday, heal: 2), environment: openAPI, today: simToday)
            #expect(daily.exitCode == .success, "\(daily)")
            #expect(daily.message.contains("2024-03-15 not published yet"), "\(daily.message)")
            let day = try #require(try Ledger(connection).day(.price, on: tradingDay))
            let expected = fixture.simulator.market.stocks(on: tradingDay.sim)
            #expect(day.status == .collected && day.rows == expected.count, "\(day)")
            #expect(day.lastError == nil)
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices WHERE date = $1", [tradingDay])
                        == expected.count)
            #expect(try Ledger(connection).day(.price, on: simToday) == nil, "today is left for the next run")
        }
    }

    @Test("calendar and content disagree: recorded failed with both sides, nothing stored")
    func disagreementIsRecorded() async throws {
        try await withFixture { fixture in
            let connection = try fixture.connect()
            defer { connection.close() }
            // Galaxy's calendar data says the day was closed, the Open API serves prices: not stored.
            try DayWriter(connection).storeNoSession(.sector, date: tradingDay)
            let priced = try await fixture.collect(.dataset(.price), .date(tradingDay, heal: 0), environment: openAPI)
            #expect(priced.exitCode == .partialFailure, "\(priced)")
            let refused = try #require(try Ledger(connection).day(.price, on: tradingDay))
            #expect(refused.status == .failed)
            #expect(refused.lastError?.contains("calendar and source disagree") == true)
            #expect(refused.lastError?.contains("the ledger has sector no_session") == true, "\(refused)")
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices") == 0)

            // The calendar says the day traded (ETF prices collected from the portal), the Open API's final answer
            // has no rows: failed, not a silent no_session.
            try connection.query("DELETE FROM collection_days WHERE dataset = 'sector'")
            let etf = try await fixture.collect(.dataset(.etfPrice), .date(tradingDay, heal: 0))
            #expect(etf.exitCode == .success, "\(etf)")
            try await withEarlySimulator(today: tradingDay) { early in
                var environment = openAPI
                environment["GALAXY_OPENAPI_URL"] = early.baseURL
                let late = try await fixture.collect(
                    .dataset(.price), .date(tradingDay, heal: 0), environment: environment,
                    today: TradeDate("2024-03-30")!)
                #expect(late.exitCode == .partialFailure, "\(late)")
            }
            let empty = try #require(try Ledger(connection).day(.price, on: tradingDay))
            #expect(empty.status == .failed)
            #expect(empty.lastError?.contains("the source answered no session, but the ledger has etf_price collected")
                        == true, "\(empty)")
        }
    }
}
