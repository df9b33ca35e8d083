import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

/// Synthetic rows with the shapes KRX sends: NULLs where "-", halted stocks with 0 OHLC, Korean names.
enum SampleRows {
    static func prices(count: Int, day: Int = 0) -> [PriceRow] {
        (0..<count).map { index in
            let close = Int64(10_000 + index * 10 + day)
            let halted = index % 50 == 7
            return PriceRow(
                ticker: String(format: "%06d", index), isin: "KR7\(String(format: "%06d", index))003",
                name: "종목 \(index)", market: index % 3 == 0 ? "KSQ" : "STK",
                open: halted ? 0 : close - 100, high: halted ? 0 : close + 200, low: halted ? 0 : close - 300,
                close: close, change: Int64(day) - 50, changeRate: Decimal(string: "-0.45"),
                changeCode: halted ? "0" : "2", volume: halted ? 0 : Int64(index) * 1_000, value: Int64(index) * close,
                marketCap: close * 5_969_782_550, shares: 5_969_782_550)
        }
    }
}

@Suite("The day write path")
struct DayWriterTests {
    private let day = TradeDate(year: 2024, month: 1, day: 2)!

    private func snapshot(_ connection: Connection, _ table: String) throws -> [[String?]] {
        let result = try connection.query("SELECT * FROM \(table) ORDER BY 1, 2")
        return result.rows.map { row in (0..<result.columns.count).map { row.text($0) } }
    }

    @Test func sameDayTwiceGivesIdenticalRowsAndOneLedgerRow() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let rows = SampleRows.prices(count: 500)

        let first = try writer.storeDay(dataset: .price, date: day, status: .collected, rows: .prices(rows))
        #expect(first.status == .collected)
        #expect(first.rows == 500)
        #expect(first.rowsChanged == 500)
        let before = try snapshot(connection, "prices")

        let second = try writer.storeDay(dataset: .price, date: day, status: .collected, rows: .prices(rows))
        #expect(second.rowsChanged == 0)
        #expect(second.attempts == 2)
        #expect(try snapshot(connection, "prices") == before)
        #expect(before.count == 500)

        let ledger = try #require(try Ledger(connection).day(.price, on: day))
        #expect(ledger.status == .collected)
        #expect(ledger.rows == 500)
        #expect(ledger.attempts == 2)
        #expect(try connection.query("SELECT count(*) FROM collection_days").scalar(as: Int.self) == 1)

        // NULLs and the halted stock's zero OHLC arrive as sent.
        let halted = try #require(
            try connection.query("SELECT open, close, change_rate FROM prices WHERE ticker = '000007'").first)
        #expect(try halted["open", as: Int64?.self] == 0)
        #expect(try halted["close", as: Int64?.self] == 10_070)
        #expect(try halted["change_rate", as: Decimal?.self] == Decimal(string: "-0.45"))
        #expect(try connection.query("SELECT name FROM prices WHERE ticker = '000012'").scalar(as: String.self)
            == "종목 12")
    }

    @Test func correctedRowsAreUpdated() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        var rows = SampleRows.prices(count: 10)
        try writer.storeCollected(.prices(rows), date: day)
        rows[3].close = nil
        rows[4].volume = 123
        let result = try writer.storeCollected(.prices(rows), date: day)
        #expect(result.rowsChanged == 2)
        #expect(try connection.query("SELECT close FROM prices WHERE ticker = '000003'").scalar(as: Int64?.self) == nil)
        #expect(try connection.query("SELECT volume FROM prices WHERE ticker = '000004'").scalar(as: Int64.self) == 123)
    }

    @Test func noSessionWritesOnlyTheLedger() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let result = try DayWriter(connection).storeDay(dataset: .price, date: day, status: .noSession)
        #expect(result.status == .noSession)
        #expect(try connection.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 0)
        let ledger = try #require(try Ledger(connection).day(.price, on: day))
        #expect(ledger.status == .noSession)
        #expect(ledger.rows == 0)
    }

    /// `pending` (migration 6): unsettled like a failed day, never downgrades a settled one, settled by a later
    /// answer; `no_session` keeps a note.
    @Test func pendingDaysStayUnsettledUntilAnswered() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let (first, second, third) = (day, day.next, day.adding(days: 2))
        let reason = "no rows with prices yet; fetched again until 2024-01-09"
        #expect(try writer.storeDay(dataset: .price, date: first, status: .pending, error: reason).status == .pending)
        let ledger = Ledger(connection)
        #expect(try ledger.day(.price, on: first)?.lastError == reason)
        #expect(try ledger.unsettledDays(.price, in: DateRange(first, third)!) == [first, second, third])

        try writer.storeCollected(.prices(SampleRows.prices(count: 4)), date: second)
        #expect(try writer.storePending(.price, date: second, reason: reason).status == .collected)
        try writer.storeNoSession(.price, date: third, note: "the calendar lists no session")
        #expect(try writer.storePending(.price, date: third, reason: reason).status == .noSession)
        #expect(try ledger.unsettledDays(.price, in: DateRange(first, third)!) == [first])

        // The re-check's answer settles the pending day.
        #expect(try writer.storeNoSession(.price, date: first, note: "closed").status == .noSession)
        let settled = try #require(try ledger.day(.price, on: first))
        #expect(settled.lastError == "closed" && settled.attempts == 2 && settled.rows == 0)
        #expect(try ledger.sessionEvidence(of: [.price, .sector], in: DateRange(first, third)!)
                    == [second: SessionEvidence(collected: [.price]), first: SessionEvidence(noSession: [.price]),
                        third: SessionEvidence(noSession: [.price])])
    }

    @Test func failedRefetchDoesNotClobberACollectedDay() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let other = day.next
        try writer.storeCollected(.prices(SampleRows.prices(count: 5)), date: day)
        let failed = try writer.storeDay(dataset: .price, date: day, status: .failed, error: "HTTP 503 from KRX")
        #expect(failed.status == .collected)
        let ledger = try #require(try Ledger(connection).day(.price, on: day))
        #expect(ledger.status == .collected)
        #expect(ledger.rows == 5)
        #expect(ledger.lastError == "HTTP 503 from KRX")
        #expect(ledger.attempts == 2)
        #expect(try connection.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 5)

        // A day that was never collected becomes failed, and a later success clears the error.
        #expect(try writer.storeFailed(.price, date: other, error: "timeout").status == .failed)
        #expect(try Ledger(connection).failedDays(.price, in: DateRange(day, other)!) == [other])
        try writer.storeCollected(.prices(SampleRows.prices(count: 3)), date: other)
        let healed = try #require(try Ledger(connection).day(.price, on: other))
        #expect(healed.status == .collected)
        #expect(healed.lastError == nil)
        #expect(healed.attempts == 2)
    }

    @Test func failureMidTransactionLeavesNothingBehind() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        // Make the ledger upsert fail (a failure after the ledger row, mid-COPY, is in DayWriterPathTests).
        try connection.executeScript(
            "ALTER TABLE collection_days ADD CONSTRAINT refuse_day CHECK (trade_date <> DATE '2024-01-02')")
        let error = try #require(throws: PostgresError.self) {
            try DayWriter(connection).storeCollected(.prices(SampleRows.prices(count: 100)), date: day)
        }
        #expect(error.sqlState == "23514")
        #expect(!connection.isInTransaction)
        #expect(try connection.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 0)
        #expect(try connection.query("SELECT count(*) FROM collection_days").scalar(as: Int.self) == 0)
        // The temp table went with the rollback; the connection writes the next day normally.
        let next = try DayWriter(connection).storeCollected(.prices(SampleRows.prices(count: 100)), date: day.next)
        #expect(next.rowsChanged == 100)
    }

    @Test func callerMistakesAreRejectedBeforeWriting() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let empty = try #require(throws: PostgresError.self) { try writer.storeCollected(.prices([]), date: day) }
        #expect(empty.kind == .usage)
        #expect(empty.description.contains("no_session"))
        let mismatch = try #require(throws: PostgresError.self) {
            try writer.storeDay(
                dataset: .valuation, date: day, status: .collected, rows: .prices(SampleRows.prices(count: 1)))
        }
        #expect(mismatch.kind == .usage)
        var duplicated = SampleRows.prices(count: 3)
        duplicated.append(duplicated[1])
        let duplicate = try #require(throws: PostgresError.self) {
            try writer.storeCollected(.prices(duplicated), date: day)
        }
        #expect(duplicate.description.contains("000001"))
        #expect(try connection.query("SELECT count(*) FROM collection_days").scalar(as: Int.self) == 0)
    }

    @Test func mastersKeepTheNewestSnapshotAndSectorsUpdateStocks() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let newer = TradeDate(year: 2024, month: 3, day: 4)!
        let older = TradeDate(year: 2024, month: 1, day: 2)!
        let current = StockRow(
            ticker: "00104K", isin: "KR700104K007", name: "CJ씨푸드1우",
            listedOn: TradeDate(year: 1996, month: 5, day: 1),
            market: "KOSPI", shareKind: "구형우선주", parValue: Decimal(5000), shares: 1_000_000)
        var stale = current
        stale.name = "옛 이름"
        stale.shares = 900_000
        try writer.storeCollected(.stocks([current]), date: newer)
        // Re-running an older master day must not overwrite the newer snapshot, only extend first_seen.
        try writer.storeCollected(.stocks([stale]), date: older)
        let row = try #require(try connection.query("SELECT * FROM stocks WHERE ticker = '00104K'").first)
        #expect(try row["name", as: String.self] == "CJ씨푸드1우")
        #expect(try row["shares", as: Int64?.self] == 1_000_000)
        #expect(try row["par_value", as: Decimal?.self] == 5000)
        #expect(try row["first_seen", as: TradeDate.self] == older)
        #expect(try row["last_seen", as: TradeDate.self] == newer)

        try writer.storeCollected(
            .sectors([SectorRow(ticker: "00104K", name: "CJ씨푸드1우", market: "KOSPI", industry: "음식료품")]), date: newer)
        try writer.storeCollected(
            .sectors([SectorRow(ticker: "00104K", name: "CJ씨푸드1우", market: "KOSPI", industry: "옛 업종")]), date: older)
        let sector = try #require(try connection.query("SELECT sector, sector_date FROM stocks").first)
        #expect(try sector["sector", as: String?.self] == "음식료품")
        #expect(try sector["sector_date", as: TradeDate?.self] == newer)
        #expect(try connection.query("SELECT count(*) FROM sectors").scalar(as: Int.self) == 2)
    }

    @Test func everyDatasetRoundTrips() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        try writer.storeCollected(
            .valuations([
                ValuationRow(ticker: "005930", close: 70_000, eps: 2_131, per: Decimal(string: "32.85"), bps: 52_002,
                    pbr: Decimal(string: "1.35"), dps: 1_444, dividendYield: Decimal(string: "2.06")),
                ValuationRow(ticker: "000001", close: 1_000),
            ]), date: day)
        try writer.storeCollected(
            .etfs([
                ETFRow(ticker: "069500", isin: "KR7069500007", name: "KODEX 200", baseIndex: "코스피 200",
                    leverage: "일반", shares: 1_000, totalFee: Decimal(string: "0.150000"))
            ]), date: day)
        try writer.storeCollected(
            .etfPrices([
                ETFPriceRow(ticker: "069500", close: 35_000, nav: Decimal(string: "35012.34"), volume: 1,
                    baseIndexName: "코스피 200", baseIndexClose: Decimal(string: "350.12"))
            ]), date: day)
        let valuation = try #require(try connection.query("SELECT * FROM valuations WHERE ticker = '000001'").first)
        #expect(try valuation["per", as: Decimal?.self] == nil)
        #expect(try valuation["close", as: Int64?.self] == 1_000)
        #expect(try connection.query("SELECT per FROM valuations WHERE ticker = '005930'").scalar(as: Decimal.self)
            == Decimal(string: "32.85"))
        #expect(try connection.query("SELECT total_fee FROM etfs").scalar(as: Decimal.self) == Decimal(string: "0.15"))
        #expect(try connection.query("SELECT nav FROM etf_prices").scalar(as: Decimal.self)
            == Decimal(string: "35012.34"))
        let ledger = try connection.query("SELECT dataset FROM collection_days ORDER BY dataset").rows.map {
            try $0.decode(0, as: String.self)
        }
        #expect(ledger == ["etf", "etf_price", "valuation"])
    }
}
