import FoundationEssentials
import GalaxyCore

/// One row of the `collection_days` ledger.
public struct LedgerDay: Sendable, Equatable {
    public var dataset: Dataset
    public var date: TradeDate
    public var status: DayStatus
    public var rows: Int
    public var attempts: Int
    public var lastError: String?
    public var updatedAt: Date
}

/// Which datasets the ledger records as having traded or not on one day (``Ledger/sessionEvidence(of:in:)``).
public struct SessionEvidence: Sendable, Equatable {
    public var collected: [Dataset] = []
    public var noSession: [Dataset] = []

    public init(collected: [Dataset] = [], noSession: [Dataset] = []) {
        self.collected = collected
        self.noSession = noSession
    }
}

/// Read queries over the `collection_days` ledger, as the scheduler and backfill need them. The ledger is the
/// only record of which days exist: galaxy learns trading days from the source and this table, never from a list.
public struct Ledger {
    public let connection: Connection

    public init(_ connection: Connection) { self.connection = connection }

    /// The ledger rows of `dataset` in `range` (oldest first), optionally only those with one of `statuses`.
    public func days(
        _ dataset: Dataset, in range: DateRange, statuses: Set<DayStatus>? = nil
    ) throws(PostgresError) -> [LedgerDay] {
        let filter = statuses.map { $0.map(\.rawValue).sorted() }
        let result = try connection.query(
            """
            SELECT dataset, trade_date, status, rows, attempts, last_error, updated_at FROM collection_days
            WHERE dataset = $1 AND trade_date BETWEEN $2::date AND $3::date
              AND ($4::text[] IS NULL OR status = ANY ($4::text[]))
            ORDER BY trade_date
            """,
            [dataset.rawValue, range.start, range.end, filter.map(Self.textArray)])
        return try result.rows.map { (row) throws(PostgresError) -> LedgerDay in try Self.day(row) }
    }

    /// The ledger row of one day, if any.
    public func day(_ dataset: Dataset, on date: TradeDate) throws(PostgresError) -> LedgerDay? {
        try days(dataset, in: DateRange(single: date)).first
    }

    /// Days of `dataset` in `range` that failed (and were never settled since), oldest first.
    public func failedDays(_ dataset: Dataset, in range: DateRange) throws(PostgresError) -> [TradeDate] {
        try days(dataset, in: range, statuses: [.failed]).map(\.date)
    }

    /// Days of `range` the ledger has no settled answer for (no row, `failed` or `pending`): what backfill and the
    /// daily self-healing still have to fetch, oldest first. Weekends are included: whether a date traded is the
    /// source's to say, and the collector records `no_session` for it.
    public func unsettledDays(_ dataset: Dataset, in range: DateRange) throws(PostgresError) -> [TradeDate] {
        let result = try connection.query(
            """
            SELECT d::date FROM generate_series($2::date, $3::date, interval '1 day') AS d
            WHERE NOT EXISTS (
                SELECT 1 FROM collection_days c
                WHERE c.dataset = $1 AND c.trade_date = d::date AND c.status IN ('collected', 'no_session'))
            ORDER BY 1
            """,
            [dataset.rawValue, range.start, range.end])
        return try result.rows.map { (row) throws(PostgresError) -> TradeDate in try row.decode(0, as: TradeDate.self) }
    }

    /// What the ledger says about the sessions of `range`: per day, which of `datasets` it records `collected`
    /// (someone stored prices: the market traded) and which `no_session` (someone found it closed). This is galaxy's
    /// own calendar data, the evidence a collector weighs against its source's answer. Days without either are absent.
    public func sessionEvidence(of datasets: [Dataset], in range: DateRange) throws(PostgresError)
        -> [TradeDate: SessionEvidence]
    {
        guard !datasets.isEmpty else { return [:] }
        let result = try connection.query(
            """
            SELECT trade_date, dataset, status FROM collection_days
            WHERE dataset = ANY ($1::text[]) AND trade_date BETWEEN $2::date AND $3::date
              AND status IN ('collected', 'no_session')
            ORDER BY trade_date, dataset
            """,
            [Self.textArray(datasets.map(\.rawValue)), range.start, range.end])
        var evidence: [TradeDate: SessionEvidence] = [:]
        for row in result.rows {
            let date = try row.decode(0, as: TradeDate.self)
            guard let dataset = Dataset(rawValue: try row.decode(1, as: String.self)) else { continue }
            if try row.decode(2, as: String.self) == DayStatus.collected.rawValue {
                evidence[date, default: SessionEvidence()].collected.append(dataset)
            } else {
                evidence[date, default: SessionEvidence()].noSession.append(dataset)
            }
        }
        return evidence
    }

    /// The earliest and latest settled (`collected` or `no_session`) dates of `dataset`; nil when none.
    public func settledBounds(_ dataset: Dataset) throws(PostgresError) -> DateRange? {
        try bounds(dataset, statuses: ["collected", "no_session"])
    }

    /// The earliest and latest `collected` dates of `dataset`; nil when none.
    public func collectedBounds(_ dataset: Dataset) throws(PostgresError) -> DateRange? {
        try bounds(dataset, statuses: ["collected"])
    }

    /// Count of days per status for `dataset` in `range` (for progress and `status`).
    public func statusCounts(_ dataset: Dataset, in range: DateRange) throws(PostgresError) -> [DayStatus: Int] {
        let result = try connection.query(
            """
            SELECT status, count(*) FROM collection_days
            WHERE dataset = $1 AND trade_date BETWEEN $2::date AND $3::date GROUP BY status
            """,
            [dataset.rawValue, range.start, range.end])
        var counts: [DayStatus: Int] = [:]
        for row in result.rows {
            if let status = DayStatus(rawValue: try row.decode(0, as: String.self)) {
                counts[status] = try row.decode(1, as: Int.self)
            }
        }
        return counts
    }

    /// The ledger of `datasets` as one letter per calendar day, per dataset and year, in ONE aggregate query (the
    /// coverage calendar): `C` collected, `N` no_session, `F` failed, `P` pending, `-` no row. Each year's text runs
    /// from the later of `first` and January 1st to the earlier of `last` and December 31st. `first` nil means
    /// January 1st of the earliest year with a ledger row of `datasets` (or of `last`'s year when there is none).
    public func dayLetters(
        of datasets: [Dataset], first: TradeDate?, last: TradeDate
    ) throws(PostgresError) -> [(dataset: Dataset, year: Int, letters: String)] {
        guard !datasets.isEmpty else { return [] }
        let result = try connection.query(
            """
            WITH span AS (
                SELECT coalesce($2::date, least(date_trunc('year', min(trade_date))::date,
                                                date_trunc('year', $3::date)::date)) AS first
                FROM collection_days WHERE dataset = ANY ($1::text[]))
            SELECT d.dataset, extract(year FROM g.day)::int,
                   string_agg(CASE c.status WHEN 'collected' THEN 'C' WHEN 'no_session' THEN 'N'
                                            WHEN 'failed' THEN 'F' WHEN 'pending' THEN 'P' ELSE '-' END,
                              '' ORDER BY g.day)
            FROM span
            CROSS JOIN unnest($1::text[]) WITH ORDINALITY AS d(dataset, position)
            CROSS JOIN LATERAL generate_series(span.first, $3::date, interval '1 day') AS g(day)
            LEFT JOIN collection_days c ON c.dataset = d.dataset AND c.trade_date = g.day::date
            GROUP BY d.position, d.dataset, 2
            ORDER BY d.position, 2
            """,
            [Self.textArray(datasets.map(\.rawValue)), first, last])
        return try result.rows.map { (row) throws(PostgresError) -> (dataset: Dataset, year: Int, letters: String) in
            let name = try row.decode(0, as: String.self)
            guard let dataset = Dataset(rawValue: name) else {
                throw PostgresError(kind: .decoding, message: "unknown ledger dataset \(name)")
            }
            return (dataset, try row.decode(1, as: Int.self), try row.decode(2, as: String.self))
        }
    }

    private func bounds(_ dataset: Dataset, statuses: [String]) throws(PostgresError) -> DateRange? {
        let result = try connection.query(
            """
            SELECT min(trade_date), max(trade_date) FROM collection_days
            WHERE dataset = $1 AND status = ANY ($2::text[])
            """,
            [dataset.rawValue, Self.textArray(statuses)])
        guard let row = result.first,
            let earliest = try row.decode(0, as: TradeDate?.self),
            let latest = try row.decode(1, as: TradeDate?.self)
        else { return nil }
        return DateRange(earliest, latest)
    }

    /// A text[] literal of simple words (our own status names; no quoting needed, but quoted anyway).
    static func textArray(_ words: [String]) -> String {
        "{" + words.map { "\"" + $0 + "\"" }.joined(separator: ",") + "}"
    }

    private static func day(_ row: Row) throws(PostgresError) -> LedgerDay {
        let datasetText = try row.decode("dataset", as: String.self)
        let statusText = try row.decode("status", as: String.self)
        guard let dataset = Dataset(rawValue: datasetText), let status = DayStatus(rawValue: statusText) else {
            throw PostgresError(kind: .decoding, message: "unknown ledger entry \(datasetText)/\(statusText)")
        }
        return LedgerDay(
            dataset: dataset, date: try row.decode("trade_date"), status: status, rows: try row.decode("rows"),
            attempts: try row.decode("attempts"), lastError: try row.decode("last_error"),
            updatedAt: try row.decode("updated_at"))
    }
}
