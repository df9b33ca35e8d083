import FoundationEssentials
import GalaxyCore

/// How one dataset's typed rows map onto its table: the staged columns (in COPY order) and a function that writes
/// one row's fields. The trade date is not staged per row; it is bound once as a parameter when the staged rows are
/// inserted.
struct DayTable {
    enum Kind {
        /// One row per (ticker, date): prices, valuations, sectors, etf_prices.
        case daily
        /// One row per ticker, the latest snapshot winning: stocks, etfs.
        case master
    }

    let dataset: Dataset
    let table: String
    let kind: Kind
    /// Staged columns with their SQL types; the first is always `ticker`.
    let columns: [(name: String, type: String)]

    var stagingTable: String { "galaxy_stage_\(table)" }

    /// The first key of this table's per-day write lock (see ``AdvisoryLockKey/dayWriteClass``).
    var lockClass: Int32 {
        let ordinal: Int32 =
            switch dataset {
            case .stock: 1
            case .sector: 2
            case .price: 3
            case .valuation: 4
            case .etf: 5
            case .etfPrice: 6
            }
        return AdvisoryLockKey.dayWriteClass | ordinal
    }

    static func of(_ dataset: Dataset) -> DayTable {
        switch dataset {
        case .stock: stocks
        case .sector: sectors
        case .price: prices
        case .valuation: valuations
        case .etf: etfs
        case .etfPrice: etfPrices
        }
    }

    static let stocks = DayTable(
        dataset: .stock, table: "stocks", kind: .master,
        columns: [
            ("ticker", "text"), ("isin", "text"), ("name", "text"), ("short_name", "text"), ("english_name", "text"),
            ("market", "text"), ("listed_on", "date"), ("security_group", "text"), ("section", "text"),
            ("share_kind", "text"), ("par_value", "numeric"), ("shares", "bigint"),
        ])

    static let sectors = DayTable(
        dataset: .sector, table: "sectors", kind: .daily,
        columns: [
            ("ticker", "text"), ("name", "text"), ("market", "text"), ("industry", "text"), ("close", "bigint"),
            ("market_cap", "bigint"),
        ])

    static let prices = DayTable(
        dataset: .price, table: "prices", kind: .daily,
        columns: [
            ("ticker", "text"), ("isin", "text"), ("name", "text"), ("market", "text"), ("open", "bigint"),
            ("high", "bigint"), ("low", "bigint"), ("close", "bigint"), ("change", "bigint"),
            ("change_rate", "numeric"), ("change_code", "text"), ("volume", "bigint"), ("value", "bigint"),
            ("market_cap", "bigint"), ("shares", "bigint"),
        ])

    static let valuations = DayTable(
        dataset: .valuation, table: "valuations", kind: .daily,
        columns: [
            ("ticker", "text"), ("close", "bigint"), ("eps", "bigint"), ("per", "numeric"), ("bps", "bigint"),
            ("pbr", "numeric"), ("dps", "bigint"), ("dividend_yield", "numeric"),
        ])

    static let etfs = DayTable(
        dataset: .etf, table: "etfs", kind: .master,
        columns: [
            ("ticker", "text"), ("isin", "text"), ("name", "text"), ("short_name", "text"), ("english_name", "text"),
            ("listed_on", "date"), ("base_index", "text"), ("index_provider", "text"), ("leverage", "text"),
            ("replication", "text"), ("market_class", "text"), ("asset_class", "text"), ("shares", "bigint"),
            ("manager", "text"), ("creation_unit", "bigint"), ("total_fee", "numeric"), ("tax_type", "text"),
        ])

    static let etfPrices = DayTable(
        dataset: .etfPrice, table: "etf_prices", kind: .daily,
        columns: [
            ("ticker", "text"), ("isin", "text"), ("name", "text"), ("open", "bigint"), ("high", "bigint"),
            ("low", "bigint"), ("close", "bigint"), ("change", "bigint"), ("change_rate", "numeric"),
            ("change_code", "text"), ("nav", "numeric"), ("volume", "bigint"), ("value", "bigint"),
            ("market_cap", "bigint"), ("net_assets", "bigint"), ("shares", "bigint"), ("base_index_name", "text"),
            ("base_index_close", "numeric"), ("base_index_change", "numeric"),
            ("base_index_change_rate", "numeric"),
        ])

    // MARK: - SQL

    /// Makes the session's staging table (once per session) and empties it.
    ///
    /// The table lives as long as the connection and is emptied at every COMMIT (`ON COMMIT DELETE ROWS`, a cheap
    /// truncation PostgreSQL skips for transactions that did not touch temporary tables), instead of being created
    /// and dropped per day: that cost catalog writes on every re-stored day and bloated `pg_class`/`pg_attribute`
    /// over a long backfill. The `DELETE` covers a store nested in a caller's transaction, where an earlier day's
    /// staged rows are still there.
    var createStaging: String {
        let definitions = columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        return "CREATE TEMP TABLE IF NOT EXISTS \(stagingTable) (\(definitions)) ON COMMIT DELETE ROWS; "
            + "DELETE FROM pg_temp.\(stagingTable)"
    }

    var copyStatement: String {
        "COPY \(stagingTable) (\(columns.map(\.name).joined(separator: ", "))) FROM STDIN"
    }

    /// COPY straight into a daily table, the trade date as the second field of every row (the fast path of a day
    /// that has no rows yet; see ``DayWriter``).
    var directCopyStatement: String {
        let names = ["ticker", "date"] + columns.dropFirst().map(\.name)
        return "COPY \(table) (\(names.joined(separator: ", "))) FROM STDIN"
    }

    /// The ledger upsert of a collected day, which also says whether the table already holds rows of that day.
    /// `$1` dataset, `$2` trade date, `$3` rows.
    ///
    /// Run after the day's write lock is taken: this statement's snapshot then sees every row a writer of the same
    /// day committed before us, so `stored` stays true or false until we commit. The `EXISTS` is served by the
    /// `<table>_date` index.
    var ledgerCollected: String {
        let stored = kind == .daily ? "EXISTS (SELECT 1 FROM \(table) WHERE date = $2::date)" : "true"
        return """
            WITH ledger AS (
                INSERT INTO collection_days (dataset, trade_date, status, rows, attempts, last_error)
                VALUES ($1, $2::date, 'collected', $3, 1, NULL)
                ON CONFLICT (dataset, trade_date) DO UPDATE
                SET status = 'collected', rows = EXCLUDED.rows, attempts = collection_days.attempts + 1,
                    last_error = NULL, updated_at = now()
                RETURNING status, attempts)
            SELECT status, attempts, \(stored) AS stored FROM ledger
            """
    }

    /// `INSERT … SELECT … ON CONFLICT … DO UPDATE` from the staging table; `$1` is the trade date.
    ///
    /// Updates only rows whose values differ (`IS DISTINCT FROM`), so re-running a day that is already stored
    /// writes no new row versions at all.
    var upsert: String {
        let names = columns.map(\.name)
        let values = names.dropFirst()
        switch kind {
        case .daily:
            let target = (["ticker", "date"] + values).joined(separator: ", ")
            let source = (["ticker", "$1::date"] + values).joined(separator: ", ")
            let set = values.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            let old = values.map { "\(table).\($0)" }.joined(separator: ", ")
            let new = values.map { "EXCLUDED.\($0)" }.joined(separator: ", ")
            return """
                INSERT INTO \(table) (\(target)) SELECT \(source) FROM \(stagingTable)
                ON CONFLICT (ticker, date) DO UPDATE SET \(set)
                WHERE (\(old)) IS DISTINCT FROM (\(new))
                """
        case .master:
            let target = (names + ["first_seen", "last_seen", "updated_at"]).joined(separator: ", ")
            let source = (names + ["$1::date", "$1::date", "now()"]).joined(separator: ", ")
            let newer = "EXCLUDED.last_seen >= \(table).last_seen"
            let set =
                values.map { "\($0) = CASE WHEN \(newer) THEN EXCLUDED.\($0) ELSE \(table).\($0) END" }
                + [
                    "first_seen = LEAST(\(table).first_seen, EXCLUDED.first_seen)",
                    "last_seen = GREATEST(\(table).last_seen, EXCLUDED.last_seen)",
                    "updated_at = now()",
                ]
            let old = values.map { "\(table).\($0)" }.joined(separator: ", ")
            let new = values.map { "EXCLUDED.\($0)" }.joined(separator: ", ")
            return """
                INSERT INTO \(table) (\(target)) SELECT \(source) FROM \(stagingTable)
                ON CONFLICT (ticker) DO UPDATE SET \(set.joined(separator: ", "))
                WHERE EXCLUDED.last_seen > \(table).last_seen OR EXCLUDED.first_seen < \(table).first_seen
                   OR (\(newer) AND (\(old)) IS DISTINCT FROM (\(new)))
                """
        }
    }

    /// After a sector day: the current sector on `stocks`, unless a newer sector day already set it. `$1` is the date.
    static let sectorToStocks = sectorToStocks(from: "galaxy_stage_sectors s")

    /// ``sectorToStocks`` after the fast path, which staged nothing: the day's rows are all of `sectors` on that
    /// date, since the day had none before.
    static let sectorToStocksFromTable = sectorToStocks(from: "sectors s", where: "s.date = $1::date AND ")

    private static func sectorToStocks(from source: String, where condition: String = "") -> String {
        """
        UPDATE stocks SET sector = s.industry, sector_date = $1::date, updated_at = now()
        FROM \(source)
        WHERE \(condition)stocks.ticker = s.ticker
          AND (stocks.sector_date IS NULL OR stocks.sector_date <= $1::date)
          AND (stocks.sector IS DISTINCT FROM s.industry OR stocks.sector_date IS DISTINCT FROM $1::date)
        """
    }
}

// MARK: - Rows to COPY fields

extension DayRows {
    /// The tickers, for the duplicate check before staging.
    var tickers: [String] {
        switch self {
        case .stocks(let rows): rows.map(\.ticker)
        case .sectors(let rows): rows.map(\.ticker)
        case .prices(let rows): rows.map(\.ticker)
        case .valuations(let rows): rows.map(\.ticker)
        case .etfs(let rows): rows.map(\.ticker)
        case .etfPrices(let rows): rows.map(\.ticker)
        }
    }

    /// Writes every row in the column order of ``DayTable/of(_:)``; with `date`, that date follows the ticker in
    /// every row (the column order of ``DayTable/directCopyStatement``).
    func write(to copy: CopyWriter, date: TradeDate? = nil) throws(PostgresError) {
        switch self {
        case .stocks(let rows):
            for row in rows {
                copy.field(row.ticker)
                if let date { copy.field(date) }
                copy.field(row.isin)
                copy.field(row.name)
                copy.field(row.shortName)
                copy.field(row.englishName)
                copy.field(row.market)
                copy.field(row.listedOn)
                copy.field(row.securityGroup)
                copy.field(row.section)
                copy.field(row.shareKind)
                copy.field(row.parValue)
                copy.field(row.shares)
                try copy.endRow()
            }
        case .sectors(let rows):
            for row in rows {
                copy.field(row.ticker)
                if let date { copy.field(date) }
                copy.field(row.name)
                copy.field(row.market)
                copy.field(row.industry)
                copy.field(row.close)
                copy.field(row.marketCap)
                try copy.endRow()
            }
        case .prices(let rows):
            for row in rows {
                copy.field(row.ticker)
                if let date { copy.field(date) }
                copy.field(row.isin)
                copy.field(row.name)
                copy.field(row.market)
                copy.field(row.open)
                copy.field(row.high)
                copy.field(row.low)
                copy.field(row.close)
                copy.field(row.change)
                copy.field(row.changeRate)
                copy.field(row.changeCode)
                copy.field(row.volume)
                copy.field(row.value)
                copy.field(row.marketCap)
                copy.field(row.shares)
                try copy.endRow()
            }
        case .valuations(let rows):
            for row in rows {
                copy.field(row.ticker)
                if let date { copy.field(date) }
                copy.field(row.close)
                copy.field(row.eps)
                copy.field(row.per)
                copy.field(row.bps)
                copy.field(row.pbr)
                copy.field(row.dps)
                copy.field(row.dividendYield)
                try copy.endRow()
            }
        case .etfs(let rows):
            for row in rows {
                copy.field(row.ticker)
                if let date { copy.field(date) }
                copy.field(row.isin)
                copy.field(row.name)
                copy.field(row.shortName)
                copy.field(row.englishName)
                copy.field(row.listedOn)
                copy.field(row.baseIndex)
                copy.field(row.indexProvider)
                copy.field(row.leverage)
                copy.field(row.replication)
                copy.field(row.marketClass)
                copy.field(row.assetClass)
                copy.field(row.shares)
                copy.field(row.manager)
                copy.field(row.creationUnit)
                copy.field(row.totalFee)
                copy.field(row.taxType)
                try copy.endRow()
            }
        case .etfPrices(let rows):
            for row in rows {
                copy.field(row.ticker)
                if let date { copy.field(date) }
                copy.field(row.isin)
                copy.field(row.name)
                copy.field(row.open)
                copy.field(row.high)
                copy.field(row.low)
                copy.field(row.close)
                copy.field(row.change)
                copy.field(row.changeRate)
                copy.field(row.changeCode)
                copy.field(row.nav)
                copy.field(row.volume)
                copy.field(row.value)
                copy.field(row.marketCap)
                copy.field(row.netAssets)
                copy.field(row.shares)
                copy.field(row.baseIndexName)
                copy.field(row.baseIndexClose)
                copy.field(row.baseIndexChange)
                copy.field(row.baseIndexChangeRate)
                try copy.endRow()
            }
        }
    }
}
