import FoundationEssentials
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC

/// The supervisor's SQL: runs and tasks in `job_runs`/`job_tasks`, and what it reads of the ledger.
///
/// Every call runs on the daemon's database thread (``DatabaseWorker``), never on the cooperative pool. The
/// in-memory run state is the source of truth while galaxyd runs; these rows are its durable record, read back at
/// start to resume interrupted backfills and to show recent history.
struct SupervisorDatabase: Sendable {
    let database: DatabaseWorker

    func migrate() async throws -> [Int] {
        try await database.withConnection { connection in
            try Migrator().migrate(connection).map(\.version)
        }
    }

    /// The server process serving the daemon's connection (`pg_backend_pid()`).
    func backendPID() async throws -> Int32 {
        try await database.withConnection { connection in
            Int32(try connection.query("SELECT pg_backend_pid()").scalar(as: Int64.self))
        }
    }

    func createRun(kind: String, params: JSONValue, state: String, requestedBy: String) async throws -> (Int64, Date) {
        let paramsText = params.jsonText
        return try await database.withConnection { connection in
            let jobs = JobStore(connection)
            let id = try jobs.createRun(
                kind: kind, params: PostgresJSON(paramsText), state: state, requestedBy: requestedBy)
            try jobs.setRunState(id, state: state)
            return (id, try jobs.run(id)?.createdAt ?? Date())
        }
    }

    func finishRun(_ id: Int64, state: String, summary: JSONValue) async throws {
        let summaryText = summary.jsonText
        try await database.withConnection { connection in
            try JobStore(connection).setRunState(id, state: state, finished: true, summary: PostgresJSON(summaryText))
        }
    }

    func setRunState(_ id: Int64, state: String) async throws {
        try await database.withConnection { connection in
            try JobStore(connection).setRunState(id, state: state)
        }
    }

    /// Adds tasks (with their total days) to a run in one transaction; returns their ids in order.
    func createTasks(runId: Int64, firstPosition: Int, tasks: [(CollectorTask, Int)]) async throws -> [Int64] {
        let rows = tasks.map { ($0.0.job.rawValue, $0.0.range, $0.1) }
        return try await database.withConnection { connection in
            try connection.transaction { connection in
                try rows.enumerated().map { offset, row in
                    try JobStore(connection).addTask(
                        runID: runId, position: firstPosition + offset, collector: row.0, range: row.1,
                        state: "pending", daysTotal: row.2)
                }
            }
        }
    }

    func taskStarted(_ id: Int64, pid: Int32) async throws {
        try await database.withConnection { connection in
            try JobStore(connection).startTask(id, pid: pid)
        }
    }

    func taskFinished(_ task: TaskStatus, daysDone: Int) async throws {
        let outcome = TaskOutcome(
            exitCode: task.exitCode, signal: task.signal, runtimeMilliseconds: task.runtimeSeconds.map { Int64($0 * 1000) },
            peakRSSKilobytes: task.peakRssKiB.map(Int64.init), rows: Int64(task.rows), error: task.error)
        try await database.withConnection { connection in
            let jobs = JobStore(connection)
            try jobs.updateTaskProgress(task.id, daysDone: daysDone, rows: Int64(task.rows))
            try jobs.finishTask(task.id, state: task.state, outcome: outcome)
        }
    }

    /// What the previous leader left unfinished. A daemon that died left runs and tasks marked active: they become
    /// `interrupted`. A daemon that stopped cleanly (SIGTERM: `systemctl stop`, `restart`, an upgrade) already
    /// recorded its runs `interrupted`. Returns the backfills of both kinds, which the new leader resumes from the
    /// ledger; resuming sets a run `running` again, so each interruption is resumed once. `live` are the runs this
    /// process is executing itself (it may be taking the lock back after losing its connection): they are left alone.
    func recoverInterrupted(except live: Set<Int64>) async throws -> [(id: Int64, params: JSONValue, requestedBy: String)] {
        let liveArray = "{" + live.map(String.init).joined(separator: ",") + "}"
        return try await database.withConnection { connection in
            let active = ["queued", "pending", "running", "cancelling"]
            let backfills = try JobStore(connection).runs(inStates: active + ["interrupted"])
                .filter { $0.kind == "backfill" && !live.contains($0.id) }
                .map { run in (run.id, (try? JSONValue(parsing: run.params.text)) ?? .object([:]), run.requestedBy ?? "") }
            try connection.transaction { connection in
                let states = "{" + active.joined(separator: ",") + "}"
                _ = try connection.query(
                    """
                    UPDATE job_tasks SET state = 'interrupted', finished_at = now(),
                        error = coalesce(error, 'galaxyd stopped while the task ran')
                    WHERE state = ANY ($1::text[]) AND NOT (run_id = ANY ($2::bigint[]))
                    """, [states, liveArray])
                _ = try connection.query(
                    """
                    UPDATE job_runs SET state = 'interrupted', finished_at = now()
                    WHERE state = ANY ($1::text[]) AND NOT (id = ANY ($2::bigint[]))
                    """, [states, liveArray])
            }
            return backfills
        }
    }

    /// The states of every run of `kind` (`daily`, `snapshot`) recorded for `date`.
    func runStates(kind: String, for date: TradeDate) async throws -> [String] {
        try await database.withConnection { connection in
            try connection.query(
                "SELECT state FROM job_runs WHERE kind = $1 AND params->>'date' = $2", [kind, date.iso]
            ).rows.map { try $0.decode(0, as: String.self) }
        }
    }

    /// The ledger as backfill planning sees it, for one dataset over `range`.
    func coverage(_ dataset: Dataset, in range: DateRange) async throws -> LedgerCoverage {
        try await database.withConnection { connection in
            var coverage = LedgerCoverage()
            let days = try connection.query(
                """
                SELECT trade_date, status FROM collection_days
                WHERE dataset = $1 AND trade_date BETWEEN $2 AND $3
                """, [dataset.rawValue, range.start, range.end])
            for row in days.rows {
                let date = try row.decode(0, as: TradeDate.self)
                switch DayStatus(rawValue: try row.decode(1, as: String.self)) {
                case .failed: coverage.failed.insert(date)
                case .collected, .noSession: coverage.done.insert(date)
                case .pending, nil: break  // not settled: planned again like a missing day
                }
            }
            let bounds = try connection.query(
                "SELECT min(trade_date), max(trade_date) FROM collection_days WHERE dataset = $1 AND status = 'collected'",
                [dataset.rawValue])
            coverage.earliestCollected = try bounds.first?.decode(0, as: TradeDate?.self)
            coverage.latestCollected = try bounds.first?.decode(1, as: TradeDate?.self)
            return coverage
        }
    }

    /// The `coverage` calendar: the ledger of `datasets` from January 1st of `fromYear` (nil: the earliest year it
    /// holds) through `through`, read in one aggregate query.
    func coverageReport(
        _ datasets: [Dataset], fromYear: Int?, toYear: Int, through: TradeDate
    ) async throws -> CoverageReport {
        let first = fromYear.flatMap { TradeDate(year: $0, month: 1, day: 1) }
        let letters = try await database.withConnection { connection in
            try Ledger(connection).dayLetters(of: datasets, first: first, last: through)
        }
        return CoverageReport(ledger: letters, datasets: datasets, toYear: toYear, through: through)
    }

    /// What the days of a run's tasks became (``RunDays``), in one query: per dataset, ledger rows written since the
    /// run started count by their status over `touched` (a daily task's healing window included); over `held`,
    /// rows settled before it count as already held and days without either as not fetched.
    func runDays(runId: Int64, spans: [(dataset: Dataset, held: DateRange, touched: DateRange)]) async throws
        -> RunDays
    {
        func array(_ items: [String]) -> String { "{" + items.joined(separator: ",") + "}" }
        let datasets = array(spans.map(\.dataset.rawValue)), heldFrom = array(spans.map(\.held.start.iso))
        let first = array(spans.map(\.touched.start.iso)), last = array(spans.map(\.held.end.iso))
        return try await database.withConnection { connection in
            let result = try connection.query(
                """
                WITH run AS (SELECT coalesce(started_at, created_at) AS started FROM job_runs WHERE id = $1),
                outcome AS (
                    SELECT CASE WHEN c.updated_at >= run.started THEN c.status
                                WHEN c.status IN ('collected', 'no_session') THEN 'held' ELSE 'none' END AS outcome,
                           g.day >= t.held_from AS held_range
                    FROM run
                    CROSS JOIN unnest($2::text[], $3::date[], $4::date[], $5::date[])
                        AS t(dataset, held_from, first, last)
                    CROSS JOIN LATERAL generate_series(t.first, t.last, interval '1 day') AS g(day)
                    LEFT JOIN collection_days c ON c.dataset = t.dataset AND c.trade_date = g.day::date)
                SELECT coalesce(outcome, 'none'), count(*) FROM outcome
                WHERE held_range OR outcome IN ('collected', 'no_session', 'failed', 'pending')
                GROUP BY 1
                """, [runId, datasets, heldFrom, first, last])
            var days = RunDays()
            for row in result.rows {
                let count = try row.decode(1, as: Int.self)
                switch try row.decode(0, as: String.self) {
                case "collected": days.collected = count
                case "no_session": days.noSession = count
                case "failed": days.failed = count
                case "pending": days.pending = count
                case "held": days.alreadyHeld = count
                default: days.notFetched = count
                }
            }
            return days
        }
    }

    /// How current the ledger is (``LedgerFreshness``), in two index-backed queries: per dataset its newest
    /// `collected` day and the newest `failed` or `pending` day after it; then the closed days (a per-day dataset
    /// recorded `no_session`, none `collected`) from the oldest of those days, at most 400 days back, through today.
    func freshness(of datasets: [Dataset], today: TradeDate) async throws -> LedgerFreshness {
        let names = "{" + datasets.map(\.rawValue).joined(separator: ",") + "}"
        let witnesses = "{" + Dataset.allCases.filter { !$0.isMaster }.map(\.rawValue).joined(separator: ",") + "}"
        return try await database.withConnection { connection in
            var freshness = LedgerFreshness()
            let newest = try connection.query(
                """
                SELECT w.dataset, l.last, u.trade_date, u.status, u.last_error
                FROM unnest($1::text[]) AS w(dataset)
                CROSS JOIN LATERAL (
                    SELECT max(trade_date) AS last FROM collection_days c
                    WHERE c.dataset = w.dataset AND c.status = 'collected') l
                LEFT JOIN LATERAL (
                    SELECT trade_date, status, last_error FROM collection_days c
                    WHERE c.dataset = w.dataset AND c.status IN ('failed', 'pending')
                      AND c.trade_date > coalesce(l.last, '-infinity'::date)
                    ORDER BY trade_date DESC LIMIT 1) u ON true
                """, [names])
            for row in newest.rows {
                guard let dataset = Dataset(rawValue: try row.decode(0, as: String.self)) else { continue }
                freshness.lastCollected[dataset] = try row.decode(1, as: TradeDate?.self)
                if let date = try row.decode(2, as: TradeDate?.self),
                    let status = DayStatus(rawValue: try row.decode(3, as: String.self))
                {
                    freshness.newestUnsettled[dataset] = .init(
                        date: date, status: status, error: try row.decode(4, as: String?.self))
                }
            }
            let oldest = freshness.lastCollected.values.min() ?? today
            let from = max(min(oldest, today.adding(days: -40)), today.adding(days: -400))
            let closed = try connection.query(
                """
                SELECT trade_date FROM collection_days
                WHERE dataset = ANY ($1::text[]) AND trade_date BETWEEN $2 AND $3
                GROUP BY trade_date
                HAVING bool_or(status = 'no_session') AND NOT bool_or(status = 'collected')
                """, [witnesses, from, today])
            freshness.calendar.closed = Set(try closed.rows.map { try $0.decode(0, as: TradeDate.self) })
            return freshness
        }
    }

    /// Whether the ledger has a settled (`collected` or `no_session`) day for `dataset` on `date`.
    func isSettled(_ dataset: Dataset, on date: TradeDate) async throws -> Bool {
        try await database.withConnection { connection in
            try connection.query(
                """
                SELECT count(*) FROM collection_days
                WHERE dataset = $1 AND trade_date = $2 AND status IN ('collected', 'no_session')
                """, [dataset.rawValue, date]
            ).scalar(as: Int64.self) > 0
        }
    }

    func breaker(for source: String) async throws -> SourceBreaker? {
        try await database.withConnection { connection in
            try BreakerStore(connection).openBreaker(for: source)
        }
    }

    /// Recent runs with their tasks, newest first, to show history after a restart and on a standby.
    func recentRuns(limit: Int) async throws -> [RunStatus] {
        try await database.withConnection { connection in
            let jobs = JobStore(connection)
            return try jobs.recentRuns(limit: limit).map { run in
                var progress = RunProgress()
                let tasks = try jobs.tasks(ofRun: run.id).map { task in
                    progress.daysDone += task.daysDone
                    progress.daysTotal += task.daysTotal
                    progress.rows += Int(task.rows)
                    return TaskStatus(
                        id: task.id, collector: task.collector, rangeStart: task.rangeStart?.iso ?? "",
                        rangeEnd: task.rangeEnd?.iso ?? "", state: task.state, attempts: task.attempts,
                        rows: Int(task.rows), pid: task.pid, exitCode: task.exitCode, signal: task.signal,
                        runtimeSeconds: task.runtimeMilliseconds.map { Double($0) / 1000 },
                        peakRssKiB: task.peakRSSKilobytes.map { Int($0) }, error: task.error)
                }
                let summary = run.summary.flatMap { try? JSONValue(parsing: $0.text) }
                if let saved = summary?["progress"], let decoded = try? saved.decode(as: RunProgress.self) {
                    progress = decoded
                }
                return RunStatus(
                    id: run.id, kind: run.kind, state: run.state,
                    params: (try? JSONValue(parsing: run.params.text)) ?? .object([:]),
                    requestedBy: run.requestedBy ?? "", createdAt: Timestamps.rfc3339(run.createdAt),
                    startedAt: run.startedAt.map(Timestamps.rfc3339), finishedAt: run.finishedAt.map(Timestamps.rfc3339),
                    progress: progress, tasks: tasks, error: summary?["error"]?.stringValue,
                    days: try? summary?["days"]?.decode(as: RunDays.self))
            }
        }
    }
}

/// RFC 3339 with the exchange's offset, as the API writes times.
enum Timestamps {
    static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .colon))
    }
}
