import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyPostgres
import KRXSimulator
import Testing

@Suite("Portfolio snapshot")
struct SnapshotTests {
    @Test("values holdings at the latest close (stocks and ETFs), lists unpriced tickers, idempotent per date")
    func snapshotValuesPortfolios() async throws {
        try await withFixture { fixture in
            let market = fixture.simulator.market
            let stock = try #require(market.stocks(on: tradingDay.sim).first)
            let etf = try #require(market.etfs(on: tradingDay.sim).first)
            let connection = try fixture.connect()
            defer { connection.close() }
            try connection.executeScript(
                """
                INSERT INTO portfolios (id, name, cash) VALUES (1, 'growth', 1000), (2, 'empty', 50);
                INSERT INTO holdings VALUES (1, '\(stock.ticker)', 10), (1, '\(etf.ticker)', 3), (1, 'ZZZZZZ', 7);
                """)

            let early = try await fixture.collect(.snapshot, .date(tradingDay, heal: 0))
            #expect(early.exitCode == .partialFailure)
            #expect(early.message.contains("prices for 2024-03-14 are not collected yet"))
            #expect(try scalarInt(connection, "SELECT count(*) FROM portfolio_snapshots") == 0)

            // Prices on the day before and on the day: the snapshot must take the latest close.
            for day in [tradingDay.previous, tradingDay] {
                #expect(try await fixture.collect(.dataset(.price), .date(day, heal: 0)).exitCode == .success)
                #expect(try await fixture.collect(.dataset(.etfPrice), .date(day, heal: 0)).exitCode == .success)
            }
            let close = try #require(market.day(of: stock, on: tradingDay.sim)).close
            let etfClose = try #require(market.day(of: etf, on: tradingDay.sim)).close

            for _ in 0..<2 {
                let outcome = try await fixture.collect(.snapshot, .date(tradingDay, heal: 0))
                #expect(outcome.exitCode == .success, "\(outcome)")
                #expect(outcome.progress.rows == 2)
            }
            let snapshots = try rows(
                connection, "SELECT portfolio_id, value, cash, holdings_count, priced_count, unpriced_tickers "
                    + "FROM portfolio_snapshots WHERE date = $1 ORDER BY portfolio_id", [tradingDay])
            #expect(snapshots.count == 2, "one row per portfolio, however often it runs")
            #expect(snapshots[0]["value"] == .some(String(1000 + 10 * close + 3 * etfClose)))
            #expect(snapshots[0]["holdings_count"] == .some("3"))
            #expect(snapshots[0]["priced_count"] == .some("2"))
            #expect(snapshots[0]["unpriced_tickers"] == .some("{ZZZZZZ}"))
            #expect(snapshots[1]["value"] == .some("50"))
            #expect(try scalarInt(connection, "SELECT count(*) FROM collection_days WHERE dataset NOT IN "
                                      + "('price', 'etf_price')") == 0, "a snapshot writes no ledger row")
        }
    }
}
