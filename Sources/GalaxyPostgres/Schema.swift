/// galaxy's database schema (DESIGN §3) as ordered migrations. Never edit an applied migration: add a new one.
///
/// Conventions: tickers are TEXT (`00104K`), amounts in won and share counts BIGINT, ratios and NAV NUMERIC, dates
/// DATE, instants TIMESTAMPTZ. KRX's "-" is NULL, never 0: every market column except keys is NULLable (a halted
/// stock has 0 open/high/low and a close; a closed day has no row at all).
///
/// Masters and sectors:
/// - `stocks` / `etfs` hold the latest known master row per ticker. A master day upserts by ticker and moves
///   `last_seen` forward; an older snapshot (re-running a past day) never overwrites newer master data, it can only
///   move `first_seen` back. A ticker missing from today's master keeps its row (delisted stocks stay referable).
/// - `sectors(ticker, date, …)` is the per-day classification history; a sector day also sets `stocks.sector`
///   (and `sector_date`) for tickers in `stocks`, when the day is not older than what is there.
/// - Day tables (`prices`, `valuations`, `etf_prices`, `sectors`) have no foreign key to the masters: history
///   backfills include tickers long delisted from the current master.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "market tables", sql: marketTables),
        Migration(version: 2, name: "collection ledger", sql: ledger),
        Migration(version: 3, name: "job history", sql: jobHistory),
        Migration(version: 4, name: "source breakers", sql: breakers),
        Migration(version: 5, name: "portfolios", sql: portfolios),
        Migration(version: 6, name: "pending ledger days", sql: Migrator.pendingStatus),
    ]

    static let marketTables = """
        CREATE TABLE stocks (
            ticker          text PRIMARY KEY,
            isin            text NOT NULL,
            name            text NOT NULL,
            short_name      text,
            english_name    text,
            market          text NOT NULL,
            listed_on       date,
            security_group  text,
            section         text,
            share_kind      text,
            par_value       numeric,
            shares          bigint,
            sector          text,
            sector_date     date,
            first_seen      date NOT NULL,
            last_seen       date NOT NULL,
            updated_at      timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE sectors (
            ticker      text NOT NULL,
            date        date NOT NULL,
            name        text NOT NULL,
            market      text NOT NULL,
            industry    text,
            close       bigint,
            market_cap  bigint,
            PRIMARY KEY (ticker, date)
        );
        CREATE INDEX sectors_date ON sectors (date);

        CREATE TABLE prices (
            ticker      text NOT NULL,
            date        date NOT NULL,
            isin        text,
            name        text,
            market      text,
            open        bigint,
            high        bigint,
            low         bigint,
            close       bigint,
            change      bigint,
            change_rate numeric,
            change_code text,
            volume      bigint,
            value       bigint,
            market_cap  bigint,
            shares      bigint,
            PRIMARY KEY (ticker, date)
        );
        CREATE INDEX prices_date ON prices (date);

        CREATE TABLE valuations (
            ticker          text NOT NULL,
            date            date NOT NULL,
            close           bigint,
            eps             bigint,
            per             numeric,
            bps             bigint,
            pbr             numeric,
            dps             bigint,
            dividend_yield  numeric,
            PRIMARY KEY (ticker, date)
        );
        CREATE INDEX valuations_date ON valuations (date);

        CREATE TABLE etfs (
            ticker          text PRIMARY KEY,
            isin            text NOT NULL,
            name            text NOT NULL,
            short_name      text,
            english_name    text,
            listed_on       date,
            base_index      text,
            index_provider  text,
            leverage        text,
            replication     text,
            market_class    text,
            asset_class     text,
            shares          bigint,
            manager         text,
            creation_unit   bigint,
            total_fee       numeric,
            tax_type        text,
            first_seen      date NOT NULL,
            last_seen       date NOT NULL,
            updated_at      timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE etf_prices (
            ticker                  text NOT NULL,
            date                    date NOT NULL,
            isin                    text,
            name                    text,
            open                    bigint,
            high                    bigint,
            low                     bigint,
            close                   bigint,
            change                  bigint,
            change_rate             numeric,
            change_code             text,
            nav                     numeric,
            volume                  bigint,
            value                   bigint,
            market_cap              bigint,
            net_assets              bigint,
            shares                  bigint,
            base_index_name         text,
            base_index_close        numeric,
            base_index_change       numeric,
            base_index_change_rate  numeric,
            PRIMARY KEY (ticker, date)
        );
        CREATE INDEX etf_prices_date ON etf_prices (date);
        """

    static let ledger = """
        CREATE TABLE collection_days (
            dataset     text NOT NULL
                        CHECK (dataset IN ('stock', 'sector', 'price', 'valuation', 'etf', 'etf_price')),
            trade_date  date NOT NULL,
            status      text NOT NULL CHECK (status IN ('collected', 'no_session', 'failed')),
            rows        integer NOT NULL DEFAULT 0 CHECK (rows >= 0),
            attempts    integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
            last_error  text,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (dataset, trade_date)
        );
        CREATE INDEX collection_days_status ON collection_days (dataset, status, trade_date);
        """

    static let jobHistory = """
        CREATE TABLE job_runs (
            id            bigserial PRIMARY KEY,
            kind          text NOT NULL,
            params        jsonb NOT NULL DEFAULT '{}',
            state         text NOT NULL,
            requested_by  text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz,
            finished_at   timestamptz,
            summary       jsonb
        );
        CREATE INDEX job_runs_state ON job_runs (state, created_at);
        CREATE INDEX job_runs_kind ON job_runs (kind, created_at DESC);

        CREATE TABLE job_tasks (
            id           bigserial PRIMARY KEY,
            run_id       bigint NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
            position     integer NOT NULL DEFAULT 0,
            collector    text NOT NULL,
            range_start  date,
            range_end    date,
            state        text NOT NULL,
            attempts     integer NOT NULL DEFAULT 0,
            rows         bigint NOT NULL DEFAULT 0,
            days_done    integer NOT NULL DEFAULT 0,
            days_total   integer NOT NULL DEFAULT 0,
            pid          integer,
            exit_code    integer,
            signal       integer,
            runtime_ms   bigint,
            peak_rss_kb  bigint,
            error        text,
            created_at   timestamptz NOT NULL DEFAULT now(),
            started_at   timestamptz,
            finished_at  timestamptz,
            CHECK (range_start IS NULL OR range_end IS NULL OR range_start <= range_end)
        );
        CREATE INDEX job_tasks_run ON job_tasks (run_id, position);
        CREATE INDEX job_tasks_state ON job_tasks (state);
        """

    static let breakers = """
        CREATE TABLE source_breakers (
            source      text PRIMARY KEY,
            opened_at   timestamptz NOT NULL,
            open_until  timestamptz NOT NULL,
            reason      text NOT NULL
        );
        """

    static let portfolios = """
        CREATE TABLE portfolios (
            id          bigserial PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            cash        bigint NOT NULL DEFAULT 0,
            created_at  timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE holdings (
            portfolio_id  bigint NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
            ticker        text NOT NULL,
            quantity      bigint NOT NULL CHECK (quantity >= 0),
            PRIMARY KEY (portfolio_id, ticker)
        );

        CREATE TABLE portfolio_snapshots (
            portfolio_id     bigint NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
            date             date NOT NULL,
            value            bigint NOT NULL,
            cash             bigint NOT NULL DEFAULT 0,
            holdings_count   integer NOT NULL DEFAULT 0,
            priced_count     integer NOT NULL DEFAULT 0,
            unpriced_tickers text[] NOT NULL DEFAULT '{}',
            created_at       timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (portfolio_id, date)
        );
        """
}
