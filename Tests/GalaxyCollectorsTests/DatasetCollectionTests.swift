import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import KRXSimulator
import Testing

/// Each collector on a trading day stores exactly what the simulator served; closed days, re-runs, ranges.
@Suite("Collectors store the simulator's rows")
struct DatasetCollectionTests {
    @Test("price: every stock of the day, values equal to the simulator's, alphanumeric tickers as text")
    func prices() async throws {
        try await withFixture { fixture in
            let outcome = try await fixture.collect(.dataset(.price), .date(tradingDay, heal: 0))
            #expect(outcome.exitCode == .success, "\(outcome)")

            let market = fixture.simulator.market
            let expected = market.stocks(on: tradingDay.sim)
            let connection = try fixture.connect()
            defer { connection.close() }
            let stored = try rows(
                connection, "SELECT ticker, isin, open, high, low, close, volume, value, market_cap, shares FROM prices "
                    + "WHERE date = $1", [tradingDay])
            #expect(stored.count == expected.count)
            #expect(outcome.progress.rows == expected.count)
            #expect(Set(stored.compactMap { $0["ticker"] ?? nil }) == Set(expected.map(\.ticker)))

            let byTicker = Dictionary(uniqueKeysWithValues: stored.map { ($0["ticker"]!!, $0) })
            let alphanumeric = expected.filter { $0.ticker.contains(where: \.isLetter) }
            #expect(!alphanumeric.isEmpty, "the simulator lists alphanumeric tickers such as 00104K")
            let sample = Array(expected.prefix(20)) + Array(alphanumeric.prefix(5))
            for stock in sample {
                let day = try #require(market.day(of: stock, on: tradingDay.sim))
                let row = try #require(byTicker[stock.ticker])
                #expect(row["isin"] == .some(stock.isin))
                #expect(row["open"] == .some(String(day.open)), "\(stock.ticker)")
                #expect(row["high"] == .some(String(day.high)))
                #expect(row["low"] == .some(String(day.low)))
                #expect(row["close"] == .some(String(day.close)))
                #expect(row["volume"] == .some(String(day.volume)))
                #expect(row["value"] == .some(String(day.value)))
                #expect(row["market_cap"] == .some(String(day.marketCap)))
                #expect(row["shares"] == .some(String(day.listedShares)))
            }
            let ledger = try #require(try Ledger(connection).day(.price, on: tradingDay))
            #expect(ledger.status == .collected)
            #expect(ledger.rows == expected.count)
        }
    }

    @Test("valuation: loss-makers' EPS/PER and preferreds' BPS/PBR are NULL, never 0")
    func valuations() async throws {
        try await withFixture { fixture in
            let outcome = try await fixture.collect(.dataset(.valuation), .date(tradingDay, heal: 0))
            #expect(outcome.exitCode == .success, "\(outcome)")

            let market = fixture.simulator.market
            let expected = market.stocks(on: tradingDay.sim)
            let connection = try fixture.connect()
            defer { connection.close() }
            let stored = try rows(connection, "SELECT ticker, eps, per, bps, pbr, dps FROM valuations WHERE date = $1",
                                  [tradingDay])
            #expect(stored.count == expected.count)
            let byTicker = Dictionary(uniqueKeysWithValues: stored.map { ($0["ticker"]!!, $0) })
            var nullEPS = 0
            var nullBPS = 0
            for stock in expected {
                let valuation = try #require(market.valuation(of: stock, on: tradingDay.sim))
                let row = try #require(byTicker[stock.ticker])
                #expect(row["eps"] == .some(valuation.eps.map(String.init)), "\(stock.ticker)")
                #expect(row["bps"] == .some(valuation.bps.map(String.init)), "\(stock.ticker)")
                #expect(row["dps"] == .some(String(valuation.dps)))
                if valuation.eps == nil {
                    nullEPS += 1
                    #expect(row["per"] == .some(nil))
                }
                if valuation.bps == nil { nullBPS += 1 }
            }
            #expect(nullEPS > 0, "the sample must contain loss-makers")
            #expect(nullBPS > 0, "the sample must contain preferred shares")
        }
    }

    @Test("etf_price, sector, stock and etf masters: counts and sampled values")
    func otherDatasets() async throws {
        try await withFixture { fixture in
            for dataset in [Dataset.stock, .sector, .etf, .etfPrice] {
                let outcome = try await fixture.collect(.dataset(dataset), .date(tradingDay, heal: 0))
                #expect(outcome.exitCode == .success, "\(dataset): \(outcome)")
            }
            let market = fixture.simulator.market
            let stocks = market.stocks(on: tradingDay.sim)
            let etfs = market.etfs(on: tradingDay.sim)
            let connection = try fixture.connect()
            defer { connection.close() }

            // The portal's master is today's snapshot restricted to what was listed by the day: a stock listed then
            // but delisted since is not in it (the calibrated market delists stocks every year).
            let listedToday = Set(market.stocks(on: fixture.simulator.today).map(\.ticker))
            let masterStocks = stocks.filter { listedToday.contains($0.ticker) }
            #expect(try scalarInt(connection, "SELECT count(*) FROM stocks") == masterStocks.count)
            #expect(try scalarInt(connection, "SELECT count(*) FROM etfs") == etfs.count)
            #expect(
                try scalarInt(connection, "SELECT count(*) FROM sectors WHERE date = $1", [tradingDay])
                    == stocks.filter { $0.market != .konex }.count)
            #expect(
                try scalarInt(connection, "SELECT count(*) FROM etf_prices WHERE date = $1", [tradingDay]) == etfs.count)

            let alphanumeric = try #require(stocks.first { $0.ticker.contains(where: \.isLetter) })
            let master = try rows(connection, "SELECT isin, name FROM stocks WHERE ticker = $1", [alphanumeric.ticker])
            #expect(master.first?["isin"] == .some(alphanumeric.isin))
            let industry = try rows(connection, "SELECT industry FROM sectors WHERE ticker = $1 AND date = $2",
                                    [stocks.first { $0.market == .kospi }!.ticker, tradingDay])
            #expect(industry.first?["industry"] == .some(stocks.first { $0.market == .kospi }!.industry))

            let etfRows = try rows(
                connection, "SELECT ticker, close, volume, base_index_close FROM etf_prices WHERE date = $1",
                [tradingDay])
            let byTicker = Dictionary(uniqueKeysWithValues: etfRows.map { ($0["ticker"]!!, $0) })
            for etf in etfs.prefix(30) {
                let day = try #require(market.day(of: etf, on: tradingDay.sim))
                #expect(byTicker[etf.ticker]?["close"] == .some(String(day.close)))
                #expect(byTicker[etf.ticker]?["volume"] == .some(String(day.volume)))
            }
            if let unpublished = etfs.first(where: { !$0.indexPublished }) {
                #expect(byTicker[unpublished.ticker]?["base_index_close"] == .some(nil), "unpublished index is NULL")
            }
            let statuses = try rows(connection, "SELECT dataset, status FROM collection_days WHERE trade_date = $1",
                                    [tradingDay])
            #expect(statuses.count == 4)
            #expect(statuses.allSatisfy { $0["status"] == .some("collected") })
        }
    }

    @Test("a holiday is no_session with no rows")
    func holidayIsNoSession() async throws {
        try await withFixture { fixture in
            #expect(!fixture.simulator.market.isTradingDay(holiday.sim))
            for dataset in [Dataset.price, .valuation, .etfPrice, .sector] {
                let outcome = try await fixture.collect(.dataset(dataset), .date(holiday, heal: 0))
                #expect(outcome.exitCode == .success, "\(dataset): \(outcome)")
                #expect(outcome.progress.rows == 0)
            }
            let connection = try fixture.connect()
            defer { connection.close() }
            let ledger = try rows(connection, "SELECT status, rows FROM collection_days WHERE trade_date = $1", [holiday])
            #expect(ledger.count == 4)
            #expect(ledger.allSatisfy { $0["status"] == .some("no_session") && $0["rows"] == .some("0") })
            for table in ["prices", "valuations", "etf_prices", "sectors"] {
                #expect(try scalarInt(connection, "SELECT count(*) FROM \(table)") == 0, "\(table)")
            }
        }
    }

    @Test("a re-run stores no duplicates and the same values")
    func rerunIsIdempotent() async throws {
        try await withFixture { fixture in
            let checksum = """
                SELECT count(*)::text || ':' || sum(close)::text || ':' || sum(volume)::text || ':' || count(DISTINCT ticker)
                FROM prices
                """
            _ = try await fixture.collect(.dataset(.price), .date(tradingDay, heal: 0))
            let connection = try fixture.connect()
            defer { connection.close() }
            let first = try connection.query(checksum).scalar(as: String.self)
            let again = try await fixture.collect(.dataset(.price), .date(tradingDay, heal: 0))
            #expect(again.exitCode == .success)
            #expect(try connection.query(checksum).scalar(as: String.self) == first)
            let ledger = try #require(try Ledger(connection).day(.price, on: tradingDay))
            #expect(ledger.attempts == 2)
            #expect(try scalarInt(connection, "SELECT count(*) FROM collection_days") == 1)
        }
    }

    @Test("--from/--to fetches only unsettled days; --only-failed and --force; --date --heal fills holes")
    func rangeSemantics() async throws {
        try await withFixture { fixture in
            let week = DateRange(TradeDate("2024-03-09")!, TradeDate("2024-03-14")!)!  // Sat … Thu
            let first = try await fixture.collect(.dataset(.price), .range(week, mode: .unsettled))
            #expect(first.exitCode == .success)
            #expect(first.progress.daysTotal == 6)
            #expect(first.progress.daysDone == 6)
            let tradingDays = week.filter { fixture.simulator.market.isTradingDay($0.sim) }.count
            #expect(tradingDays == 4)
            #expect(first.progress.requests == tradingDays + 1, "one calendar request, none for the weekend")

            fixture.simulator.resetStats()
            let resumed = try await fixture.collect(.dataset(.price), .range(week, mode: .unsettled))
            #expect(resumed.exitCode == .success)
            #expect(resumed.progress.daysTotal == 0)
            #expect(fixture.simulator.stats().count("portal") == 0, "settled days are not fetched again")

            let onlyFailed = try await fixture.collect(.dataset(.price), .range(week, mode: .onlyFailed))
            #expect(onlyFailed.progress.daysTotal == 0)

            let forced = try await fixture.collect(.dataset(.price), .range(week, mode: .all))
            #expect(forced.progress.daysTotal == 6)
            #expect(fixture.simulator.stats().count("portal/MDCSTAT01501") == tradingDays)

            // A hole in the ledger before D is healed; settled days are not fetched again.
            let connection = try fixture.connect()
            defer { connection.close() }
            try connection.query("DELETE FROM collection_days WHERE trade_date = '2024-03-12'")
            fixture.simulator.resetStats()
            let healed = try await fixture.collect(.dataset(.price), .date(simToday.previous, heal: 5))
            #expect(healed.exitCode == .success)
            #expect(healed.progress.daysTotal == 2, "the hole on 03-12 plus D itself")
            #expect(fixture.simulator.stats().count("portal/MDCSTAT01501") == 2)
        }
    }

    @Test("Open API source stores the same prices as the portal for the same day")
    func openAPIMatchesPortal() async throws {
        try await withFixture { fixture in
            let other = try TestDatabase.create(migrated: true)
            defer { other.drop() }
            let portal = try await fixture.collect(.dataset(.price), .date(tradingDay, heal: 0))
            #expect(portal.exitCode == .success)
            let openAPI = try await fixture.collect(
                .dataset(.price), .date(tradingDay, heal: 0),
                environment: ["GALAXY_DATABASE_URL": other.url, "GALAXY_SOURCE_PRICE": "openapi",
                              "KRX_AUTH_KEY": "demo-auth-key"])
            #expect(openAPI.exitCode == .success, "\(openAPI)")
            #expect(fixture.simulator.stats().count("openapi") > 0)

            let query = "SELECT ticker, open, high, low, close, volume, value, market_cap FROM prices ORDER BY ticker"
            let portalConnection = try fixture.connect()
            defer { portalConnection.close() }
            let openAPIConnection = try other.connect()
            defer { openAPIConnection.close() }
            let portalRows = try rows(portalConnection, query)
            let openAPIRows = try rows(openAPIConnection, query)
            #expect(portalRows.count > 2000)
            #expect(portalRows == openAPIRows)
        }
    }
}
