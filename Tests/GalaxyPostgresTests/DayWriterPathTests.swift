import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

/// The two ways ``DayWriter`` stores a collected day (COPY straight into the table for a new day, staging + upsert
/// otherwise), their equivalence, and what keeps them safe: the per-day lock and one transaction per day.
@Suite("The day write path's fast path")
struct DayWriterPathTests {
    private let day = TradeDate(year: 2024, month: 1, day: 2)!

    /// Rows with every awkward kind of value: escapes, Korean text, NULLs, long and tiny NUMERICs.
    private func awkwardPrices(count: Int) -> [PriceRow] {
        var rows = SampleRows.prices(count: count)
        rows[1].name = "탭\t역슬래시\\ 줄\n바꿈\r끝"
        rows[2].changeRate = Decimal(string: "-0.000001")
        rows[3].changeRate = nil
        rows[4].changeRate = Decimal(string: "123456789012345678.123456789")
        rows[5].market = ""
        rows[6].isin = nil
        rows[8].close = Int64.min + 1
        rows[9].volume = Int64.max
        return rows
    }

    private func snapshot(_ connection: Connection, _ table: String) throws -> [[String?]] {
        let result = try connection.query("SELECT * FROM \(table) ORDER BY 1, 2")
        return result.rows.map { row in (0..<result.columns.count).map { row.text($0) } }
    }

    @Test func newDayIsCopiedIntoTheTableWithTheSameRowsAsTheUpsertPath() throws {
        let rows = awkwardPrices(count: 300)

        let fastDatabase = try TestDatabase.create(migrated: true)
        defer { fastDatabase.drop() }
        let fast = try fastDatabase.connect()
        let direct = try DayWriter(fast).storeCollected(.prices(rows), date: day)
        #expect(direct.path == .copiedIntoTable)
        #expect(direct.rowsChanged == 300)
        #expect(direct.rows == 300)
        #expect(direct.attempts == 1)
        #expect(direct.status == .collected)

        // The same rows through the upsert path: a placeholder row makes the day "already stored".
        let slowDatabase = try TestDatabase.create(migrated: true)
        defer { slowDatabase.drop() }
        let slow = try slowDatabase.connect()
        try slow.query("INSERT INTO prices (ticker, date) VALUES ('ZZZZZZ', $1)", [day])
        let upserted = try DayWriter(slow).storeCollected(.prices(rows), date: day)
        #expect(upserted.path == .upserted)
        #expect(upserted.rowsChanged == 300)
        try slow.query("DELETE FROM prices WHERE ticker = 'ZZZZZZ'")

        let stored = try snapshot(fast, "prices")
        #expect(stored.count == 300)
        #expect(stored == (try snapshot(slow, "prices")))
        #expect(try fast.query("SELECT name FROM prices WHERE ticker = '000001'").scalar(as: String.self)
            == "탭\t역슬래시\\ 줄\n바꿈\r끝")
        #expect(try fast.query("SELECT change_rate::text FROM prices WHERE ticker = '000004'").scalar(as: String.self)
            == "123456789012345678.123456789")
        #expect(try fast.query("SELECT change_rate FROM prices WHERE ticker = '000003'").scalar(as: Decimal?.self)
            == nil)
        #expect(try fast.query("SELECT market FROM prices WHERE ticker = '000005'").scalar(as: String?.self) == "")
        #expect(try fast.query("SELECT count(*) FROM prices WHERE date = $1", [day]).scalar(as: Int.self) == 300)
        let ledger = try #require(try Ledger(fast).day(.price, on: day))
        #expect(ledger.status == .collected)
        #expect(ledger.rows == 300)
    }

    @Test func secondStoreOfADayTakesTheUpsertPathAndChangesNothing() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let rows = awkwardPrices(count: 200)
        #expect(try writer.storeCollected(.prices(rows), date: day).path == .copiedIntoTable)
        let before = try connection.query("SELECT ticker, xmin::text FROM prices ORDER BY ticker").rows.map {
            [$0.text(0), $0.text(1)]
        }
        let again = try writer.storeCollected(.prices(rows), date: day)
        #expect(again.path == .upserted)
        #expect(again.rowsChanged == 0)
        #expect(again.attempts == 2)
        // No row was rewritten: every row version is the one the first store made.
        let after = try connection.query("SELECT ticker, xmin::text FROM prices ORDER BY ticker").rows.map {
            [$0.text(0), $0.text(1)]
        }
        #expect(after == before)
        #expect(try connection.query("SELECT count(*) FROM collection_days").scalar(as: Int.self) == 1)
        // Another day of the same dataset is new again: fast path.
        #expect(try writer.storeCollected(.prices(rows), date: day.next).path == .copiedIntoTable)
    }

    @Test func changedValueReStoredRewritesExactlyThatRow() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        var rows = SampleRows.prices(count: 100)
        try writer.storeCollected(.prices(rows), date: day)
        let versions = "SELECT ticker, xmin::text FROM prices ORDER BY ticker"
        let before = Dictionary(
            uniqueKeysWithValues: try connection.query(versions).rows.map { ($0.text(0) ?? "", $0.text(1)) })

        rows[42].changeRate = Decimal(string: "3.14")
        let result = try writer.storeCollected(.prices(rows), date: day)
        #expect(result.path == .upserted)
        #expect(result.rowsChanged == 1)
        let after = Dictionary(
            uniqueKeysWithValues: try connection.query(versions).rows.map { ($0.text(0) ?? "", $0.text(1)) })
        let rewritten = after.keys.filter { after[$0] != before[$0] }
        #expect(rewritten == ["000042"])
        #expect(try connection.query("SELECT change_rate FROM prices WHERE ticker = '000042'").scalar(as: Decimal.self)
            == Decimal(string: "3.14"))
    }

    @Test func twoWritersOfTheSameNewDayStoreEachRowOnce() async throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let rows = SampleRows.prices(count: 2_000)
        let date = day
        let lockKeys: [(any PostgresEncodable)?] = [AdvisoryLockKey.dayWriteClass | 3, Int32(date.daysSinceEpoch)]

        // A third session holds the day's write lock (prices are table 3 of the documented key space), so both
        // writers are queued on it before either looks at the table; releasing it lets them race for real.
        let holder = try database.connect()
        try holder.executeScript("BEGIN")
        try holder.query("SELECT pg_advisory_xact_lock($1, $2)", lockKeys)

        let workers = [DatabaseWorker(url: database.url), DatabaseWorker(url: database.url)]
        defer { workers.forEach { $0.shutdown() } }
        async let first = workers[0].withConnection { connection in
            try DayWriter(connection).storeCollected(.prices(rows), date: date)
        }
        async let second = workers[1].withConnection { connection in
            try DayWriter(connection).storeCollected(.prices(rows), date: date)
        }

        let observer = try database.connect()
        let waiting = """
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
              AND classid = $1::bigint::oid AND objid = $2::bigint::oid
            """
        let deadline = ContinuousClock.now + .seconds(20)
        while try observer.query(waiting, lockKeys).scalar(as: Int.self) < 2 {
            guard ContinuousClock.now < deadline else {
                Issue.record("the two writers never queued on the day's lock")
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        try holder.executeScript("COMMIT")

        let results = try await [first, second]
        #expect(results.map(\.path.rawValue).sorted() == ["copiedIntoTable", "upserted"])
        #expect(results.map(\.rowsChanged).sorted() == [0, 2_000])
        #expect(results.map(\.attempts).sorted() == [1, 2])
        #expect(try observer.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 2_000)
        #expect(try observer.query("SELECT count(DISTINCT ticker) FROM prices").scalar(as: Int.self) == 2_000)
        let ledger = try #require(try Ledger(observer).day(.price, on: date))
        #expect(ledger.attempts == 2)
        #expect(ledger.status == .collected)
        #expect(try observer.query("SELECT count(*) FROM collection_days").scalar(as: Int.self) == 1)
    }

    @Test func writersRacingWithoutHelpNeverHitADuplicateKey() async throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let workers = (0..<4).map { _ in DatabaseWorker(url: database.url) }
        defer { workers.forEach { $0.shutdown() } }
        let rows = SampleRows.prices(count: 500)
        let dates = (0..<5).map { day.adding(days: $0) }
        // Four writers store the same five new days at the same time; every store must succeed.
        let results = try await withThrowingTaskGroup(of: [DayWriteResult].self) { group in
            for worker in workers {
                group.addTask {
                    try await worker.withConnection { connection in
                        try dates.map { date in try DayWriter(connection).storeCollected(.prices(rows), date: date) }
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(results.count == 20)
        for date in dates {
            let ofDay = results.filter { $0.date == date }
            #expect(ofDay.filter { $0.path == .copiedIntoTable }.count == 1)
            #expect(ofDay.map(\.rowsChanged).reduce(0, +) == 500)
        }
        let connection = try database.connect()
        #expect(try connection.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 2_500)
        #expect(try connection.query("SELECT sum(attempts) FROM collection_days").scalar(as: Int.self) == 20)
    }

    @Test func failureMidCopyRollsBackRowsAndLedger() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        try writer.storeFailed(.price, date: day, error: "HTTP 503 from KRX")
        // The server refuses a row near the end, after several 64 KiB chunks of the COPY were already sent.
        try connection.executeScript("ALTER TABLE prices ADD CONSTRAINT refuse_row CHECK (ticker <> '002990')")
        let rows = SampleRows.prices(count: 3_000)
        let error = try #require(throws: PostgresError.self) {
            try writer.storeCollected(.prices(rows), date: day)
        }
        #expect(error.sqlState == "23514")
        #expect(!connection.isInTransaction)
        #expect(try connection.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 0)
        let ledger = try #require(try Ledger(connection).day(.price, on: day))
        #expect(ledger.status == .failed)
        #expect(ledger.attempts == 1)
        #expect(ledger.lastError == "HTTP 503 from KRX")

        // The lock went with the rollback: the same day stores normally on the same connection.
        try connection.executeScript("ALTER TABLE prices DROP CONSTRAINT refuse_row")
        let stored = try writer.storeCollected(.prices(rows), date: day)
        #expect(stored.path == .copiedIntoTable)
        #expect(stored.rowsChanged == 3_000)
        #expect(stored.attempts == 2)
    }

    @Test func daysStoredInsideOneCallerTransactionDoNotSeeEachOthersStagedRows() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let other = day.next
        try writer.storeCollected(.prices(SampleRows.prices(count: 10)), date: day)
        try writer.storeCollected(.prices(SampleRows.prices(count: 5)), date: other)
        // Both days exist, so both re-stores stage their rows; the staging table outlives the inner SAVEPOINTs.
        try connection.transaction { connection in
            let changed = SampleRows.prices(count: 10, day: 1)
            let first = try DayWriter(connection).storeCollected(.prices(changed), date: day)
            #expect(first.path == .upserted)
            #expect(first.rowsChanged == 10)
            let second = try DayWriter(connection).storeCollected(.prices(SampleRows.prices(count: 5)), date: other)
            #expect(second.path == .upserted)
            #expect(second.rowsChanged == 0)
        }
        #expect(try connection.query("SELECT count(*) FROM prices WHERE date = $1", [other]).scalar(as: Int.self) == 5)
        #expect(try connection.query("SELECT count(*) FROM prices").scalar(as: Int.self) == 15)
    }

    @Test func sectorDayUpdatesStocksOnBothPaths() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        try writer.storeCollected(
            .stocks([StockRow(ticker: "005930", isin: "KR7005930003", name: "삼성전자", market: "KOSPI")]), date: day)
        let first = try writer.storeCollected(
            .sectors([SectorRow(ticker: "005930", name: "삼성전자", market: "KOSPI", industry: "전기전자")]), date: day)
        #expect(first.path == .copiedIntoTable)
        #expect(try connection.query("SELECT sector FROM stocks").scalar(as: String?.self) == "전기전자")
        let corrected = try writer.storeCollected(
            .sectors([SectorRow(ticker: "005930", name: "삼성전자", market: "KOSPI", industry: "전기·전자")]), date: day)
        #expect(corrected.path == .upserted)
        #expect(corrected.rowsChanged == 1)
        #expect(try connection.query("SELECT sector FROM stocks").scalar(as: String?.self) == "전기·전자")
    }

    @Test func copyWritesDecimalsExactlyAsTheirPostgresText() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE d (id bigint, v text)")
        var generator = SystemRandomNumberGenerator()
        var values: [Decimal] = [
            0, 1, -1, Decimal(string: "-0.45")!, Decimal(string: "1.50")!, Decimal(string: "1E+5")!,
            Decimal(string: "0.000000000000000000000000000001")!,
            Decimal(string: "99999999999999999999999999999999999999")!,
            Decimal(Int(-1500)) / 100, Decimal(1) / 3, Decimal(2).squareRootApproximation,
            Decimal.greatestFiniteMagnitude, Decimal.leastNonzeroMagnitude, -Decimal.greatestFiniteMagnitude,
        ]
        for _ in 0..<3_000 {
            let significand = Decimal(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63))
            let exponent = Int.random(in: -40...20, using: &generator)
            let sign: FloatingPointSign = Bool.random(using: &generator) ? .minus : .plus
            values.append(Decimal(sign: sign, exponent: exponent, significand: significand))
        }
        values.append(values[20] * values[21] + values[22])
        try connection.copyIn("COPY d (id, v) FROM STDIN") { copy in
            for (index, value) in values.enumerated() {
                copy.field(Int64(index))
                copy.field(value)
                try copy.endRow()
            }
        }
        let sent = try connection.query("SELECT v FROM d ORDER BY id").rows.map { try $0.decode(0, as: String.self) }
        #expect(sent == values.map(\.postgresText))
    }
}

extension Decimal {
    /// A value with a long, non-terminating mantissa (for the COPY text test).
    fileprivate var squareRootApproximation: Decimal {
        var estimate = self / 2
        for _ in 0..<20 { estimate = (estimate + self / estimate) / 2 }
        return estimate
    }
}
