import GalaxyCore
import GalaxyPostgres

/// The 18:30 job: values every portfolio's holdings at the latest close on or before a date and upserts one row per
/// portfolio into `portfolio_snapshots` — idempotent per (portfolio, date), so a re-run replaces, never duplicates.
///
/// A holding is priced from `prices.close` (a stock), else from `etf_prices.close` (an ETF), taking the latest
/// non-NULL close on or before the date: a halted or suspended ticker keeps its last known value instead of counting
/// as zero. Tickers with no close at all are listed in `unpriced_tickers`, so a wrong valuation is visible.
/// Snapshots are not a KRX dataset and write no ledger row.
public struct PortfolioSnapshotter {
    public let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    public enum Result: Sendable, Equatable {
        /// The ledger has no settled `price` day for the date: valuing now would use stale closes.
        case pricesMissing
        /// Snapshots were written for this many portfolios.
        case stored(portfolios: Int)
    }

    public func snapshot(on date: TradeDate) throws -> Result {
        try connection.transaction { connection in
            let settled = try connection.query(
                """
                SELECT 1 FROM collection_days
                WHERE dataset = 'price' AND trade_date = $1::date AND status IN ('collected', 'no_session')
                """,
                [date])
            guard settled.count > 0 else { return .pricesMissing }
            let stored = try connection.query(Self.upsert, [date])
            return .stored(portfolios: stored.rowsAffected)
        }
    }

    static let upsert = """
        WITH valued AS (
            SELECT h.portfolio_id, h.ticker, h.quantity,
                   COALESCE(
                       (SELECT p.close FROM prices p
                        WHERE p.ticker = h.ticker AND p.date <= $1::date AND p.close IS NOT NULL
                        ORDER BY p.date DESC LIMIT 1),
                       (SELECT e.close FROM etf_prices e
                        WHERE e.ticker = h.ticker AND e.date <= $1::date AND e.close IS NOT NULL
                        ORDER BY e.date DESC LIMIT 1)) AS close
            FROM holdings h
        )
        INSERT INTO portfolio_snapshots
            (portfolio_id, date, value, cash, holdings_count, priced_count, unpriced_tickers)
        SELECT po.id, $1::date,
               (po.cash + COALESCE(sum(v.quantity::numeric * v.close), 0))::bigint,
               po.cash,
               count(v.ticker),
               count(v.close),
               COALESCE(array_agg(v.ticker ORDER BY v.ticker) FILTER (WHERE v.ticker IS NOT NULL AND v.close IS NULL),
                        '{}')
        FROM portfolios po
        LEFT JOIN valued v ON v.portfolio_id = po.id
        GROUP BY po.id, po.cash
        ON CONFLICT (portfolio_id, date) DO UPDATE
        SET value = EXCLUDED.value, cash = EXCLUDED.cash, holdings_count = EXCLUDED.holdings_count,
            priced_count = EXCLUDED.priced_count, unpriced_tickers = EXCLUDED.unpriced_tickers, created_at = now()
        """
}
