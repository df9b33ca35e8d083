import GalaxyCore

/// What ``DayWriter`` stored for one (dataset, trade date).
public struct DayWriteResult: Sendable, Equatable {
    public var dataset: Dataset
    public var date: TradeDate
    /// The ledger's status after the write. For a failed fetch of a day already collected this stays `collected`.
    public var status: DayStatus
    /// Rows handed in (and staged).
    public var rows: Int
    /// Rows inserted or actually changed; 0 when the same day is stored again unchanged.
    public var rowsChanged: Int
    /// The ledger's attempt count after this write.
    public var attempts: Int
    /// How the rows were stored.
    public var path: DayWritePath
}

/// How ``DayWriter`` stored a day, so callers (tests, the benchmark, logs) can tell the paths apart.
public enum DayWritePath: String, Sendable, Equatable {
    /// A daily dataset's day that had no rows yet: COPY straight into the table (the common, fast case).
    case copiedIntoTable
    /// COPY into a temporary table, then `INSERT … ON CONFLICT DO UPDATE` of the rows that differ: a day already
    /// stored, or a master dataset (`stock`, `etf`).
    case upserted
    /// `no_session`, `failed` or `pending`: the ledger row only.
    case ledgerOnly
}

/// The one idempotent write path every collector uses: the rows of one (dataset, trade date) and its ledger row in
/// ONE transaction.
///
/// - `collected`: the ledger row is upserted (`attempts = attempts + 1`), then the rows are stored in one of two ways.
///   A day that has no rows in the dataset's table yet (daily runs and backfills: the common case) is COPYed
///   straight into the table. Otherwise the rows are COPYed into the session's temporary staging table, then
///   `INSERT … SELECT … ON CONFLICT DO UPDATE` into the table (only rows whose values differ are rewritten).
///   Masters (`stock`, `etf`) always take the second way. Running the same day twice leaves the same rows and one
///   ledger row.
/// - Writers of the same daily (dataset, day) are serialised by a transaction-level advisory lock taken first
///   (``AdvisoryLockKey/dayWriteClass``), so "the day has no rows" stays true until the fast path commits: two
///   writers of a new day never collide on the primary key; the second one finds the rows and upserts.
/// - `no_session`: only the ledger row (rows = 0), with an optional note in `last_error`.
/// - `failed` and `pending`: only the ledger row with `last_error`. A day already settled (`collected` or
///   `no_session`) keeps its status and rows: a failed or premature re-fetch must not make good data look missing;
///   the reason is still recorded. Likewise a `no_session` answer for a day already `collected` keeps it collected.
///
/// If anything fails midway the transaction rolls back: neither rows nor the ledger row are left behind.
public struct DayWriter {
    public let connection: Connection

    public init(_ connection: Connection) { self.connection = connection }

    /// Stores one day's outcome. `rows` is required for `.collected` (and must be of `dataset`) and ignored
    /// otherwise; `error` is the reason of a `.failed` or `.pending` day and the note of a `.noSession` one.
    @discardableResult
    public func storeDay(
        dataset: Dataset, date: TradeDate, status: DayStatus, rows: DayRows? = nil, error: String? = nil
    ) throws -> DayWriteResult {
        switch status {
        case .collected:
            guard let rows else {
                throw PostgresError.usage("a collected \(dataset) day (\(date)) needs its rows")
            }
            guard rows.dataset == dataset else {
                throw PostgresError.usage("rows of \(rows.dataset) cannot be stored as \(dataset) (\(date))")
            }
            return try storeCollected(rows, date: date)
        case .noSession:
            return try storeNoSession(dataset, date: date, note: error)
        case .failed:
            return try storeFailed(dataset, date: date, error: error ?? "unknown error")
        case .pending:
            return try storePending(dataset, date: date, reason: error ?? "the answer may be premature")
        }
    }

    /// Stores the rows of one collected day and marks it `collected` in the ledger.
    @discardableResult
    public func storeCollected(_ rows: DayRows, date: TradeDate) throws -> DayWriteResult {
        let dataset = rows.dataset
        let table = DayTable.of(dataset)
        try validate(rows, table: table, date: date)
        return try connection.transaction { connection in
            if table.kind == .daily {
                try connection.query(
                    "SELECT pg_advisory_xact_lock($1, $2)", [table.lockClass, Int32(clamping: date.daysSinceEpoch)])
            }
            let ledger = try connection.query(table.ledgerCollected, [dataset.rawValue, date, rows.count])
            let stored = try ledger.first?.decode("stored", as: Bool.self) ?? true
            let changed: Int
            let path: DayWritePath = table.kind == .daily && !stored ? .copiedIntoTable : .upserted
            if path == .copiedIntoTable {
                // Fast path: nobody else can add rows of this day before we commit (the lock), and there are none.
                let copied = try connection.copyIn(table.directCopyStatement) { copy in
                    try rows.write(to: copy, date: date)
                }
                try Self.expect(copied, rows: rows.count, dataset: dataset, date: date)
                changed = copied
                if dataset == .sector {
                    try connection.query(DayTable.sectorToStocksFromTable, [date])
                }
            } else {
                try connection.executeScript(table.createStaging)
                let staged = try connection.copyIn(table.copyStatement) { copy in try rows.write(to: copy) }
                try Self.expect(staged, rows: rows.count, dataset: dataset, date: date)
                changed = try connection.query(table.upsert, [date]).rowsAffected
                if dataset == .sector {
                    try connection.query(DayTable.sectorToStocks, [date])
                }
            }
            return try Self.result(
                ledger, dataset: dataset, date: date, rows: rows.count, changed: changed, path: path)
        }
    }

    /// The ledger already counts `rows`; a COPY that loaded another number must not commit.
    private static func expect(_ loaded: Int, rows: Int, dataset: Dataset, date: TradeDate) throws(PostgresError) {
        guard loaded == rows else {
            throw PostgresError(
                kind: .server,
                message: "COPY loaded \(loaded) of \(rows) \(dataset) rows for \(date); the day was not stored")
        }
    }

    /// Marks a day on which the market did not trade. Stores no rows; a day already `collected` stays so. `note`
    /// (a disagreement worth keeping, say) goes to `last_error`.
    @discardableResult
    public func storeNoSession(_ dataset: Dataset, date: TradeDate, note: String? = nil) throws -> DayWriteResult {
        let ledger = try connection.query(
            """
            INSERT INTO collection_days (dataset, trade_date, status, rows, attempts, last_error)
            VALUES ($1, $2::date, 'no_session', 0, 1, $3)
            ON CONFLICT (dataset, trade_date) DO UPDATE
            SET status = CASE WHEN collection_days.status = 'collected' THEN 'collected' ELSE 'no_session' END,
                rows = CASE WHEN collection_days.status = 'collected' THEN collection_days.rows ELSE 0 END,
                last_error = CASE WHEN collection_days.status = 'collected'
                                  THEN 'the source reported no session for a day already collected'
                                  ELSE EXCLUDED.last_error END,
                attempts = collection_days.attempts + 1, updated_at = now()
            RETURNING status, attempts
            """,
            [dataset.rawValue, date, note.map { String($0.prefix(4000)) }])
        return try Self.result(ledger, dataset: dataset, date: date, rows: 0, changed: 0, path: .ledgerOnly)
    }

    /// Records a failed fetch. A day already `collected` or `no_session` keeps its status; `last_error` is set.
    @discardableResult
    public func storeFailed(_ dataset: Dataset, date: TradeDate, error: String) throws -> DayWriteResult {
        try storeUnsettled(.failed, dataset, date: date, reason: error.isEmpty ? "unknown error" : error)
    }

    /// Records an answer that may be premature (see `DayStatus.pending`), to be fetched again. A day already
    /// `collected` or `no_session` keeps its status; `last_error` is set.
    @discardableResult
    public func storePending(_ dataset: Dataset, date: TradeDate, reason: String) throws -> DayWriteResult {
        try storeUnsettled(.pending, dataset, date: date, reason: reason)
    }

    private func storeUnsettled(_ status: DayStatus, _ dataset: Dataset, date: TradeDate, reason: String) throws
        -> DayWriteResult
    {
        let ledger = try connection.query(
            """
            INSERT INTO collection_days (dataset, trade_date, status, rows, attempts, last_error)
            VALUES ($1, $2::date, $4, 0, 1, $3)
            ON CONFLICT (dataset, trade_date) DO UPDATE
            SET status = CASE WHEN collection_days.status IN ('collected', 'no_session')
                              THEN collection_days.status ELSE EXCLUDED.status END,
                last_error = EXCLUDED.last_error,
                attempts = collection_days.attempts + 1, updated_at = now()
            RETURNING status, attempts
            """,
            [dataset.rawValue, date, String(reason.prefix(4000)), status.rawValue])
        return try Self.result(ledger, dataset: dataset, date: date, rows: 0, changed: 0, path: .ledgerOnly)
    }

    private func validate(_ rows: DayRows, table: DayTable, date: TradeDate) throws(PostgresError) {
        if rows.count == 0 && table.kind == .daily {
            throw .usage(
                "a collected \(rows.dataset) day (\(date)) has no rows; a day without trading is no_session, "
                    + "and an unexpected empty answer is a failed day")
        }
        var seen = Set<String>(minimumCapacity: rows.count)
        for ticker in rows.tickers {
            guard !ticker.isEmpty else {
                throw .usage("a \(rows.dataset) row for \(date) has an empty ticker")
            }
            guard seen.insert(ticker).inserted else {
                throw .usage("ticker \(ticker) appears twice in the \(rows.dataset) rows for \(date)")
            }
        }
    }

    private static func result(
        _ ledger: QueryResult, dataset: Dataset, date: TradeDate, rows: Int, changed: Int, path: DayWritePath
    ) throws(PostgresError) -> DayWriteResult {
        guard let row = ledger.first else {
            throw PostgresError(kind: .decoding, message: "the ledger upsert returned no row")
        }
        let statusText = try row.decode("status", as: String.self)
        guard let status = DayStatus(rawValue: statusText) else {
            throw PostgresError(kind: .decoding, message: "unknown ledger status '\(statusText)'")
        }
        return DayWriteResult(
            dataset: dataset, date: date, status: status, rows: rows, rowsChanged: changed,
            attempts: try row.decode("attempts", as: Int.self), path: path)
    }
}
