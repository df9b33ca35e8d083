import FoundationEssentials
import GalaxyCore

/// One row of `job_runs`: a daily run, a backfill or a snapshot, as the supervisor records it.
public struct JobRunRecord: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var params: PostgresJSON
    /// The supervisor's state name (`queued`, `running`, `succeeded`, `failed`, `cancelled`, `interrupted`, …);
    /// the schema does not constrain it so the job engine can evolve without a migration.
    public var state: String
    public var requestedBy: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var summary: PostgresJSON?
}

/// One row of `job_tasks`: one collector child over one date range.
public struct JobTaskRecord: Sendable, Equatable {
    public var id: Int64
    public var runID: Int64
    public var position: Int
    public var collector: String
    public var rangeStart: TradeDate?
    public var rangeEnd: TradeDate?
    public var state: String
    public var attempts: Int
    public var rows: Int64
    public var daysDone: Int
    public var daysTotal: Int
    public var pid: Int32?
    public var exitCode: Int32?
    public var signal: Int32?
    public var runtimeMilliseconds: Int64?
    public var peakRSSKilobytes: Int64?
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}

/// How a collector child ended, for ``JobStore/finishTask(_:state:outcome:)``.
public struct TaskOutcome: Sendable, Equatable {
    public var exitCode: Int32?
    public var signal: Int32?
    public var runtimeMilliseconds: Int64?
    public var peakRSSKilobytes: Int64?
    public var rows: Int64?
    public var error: String?

    public init(
        exitCode: Int32? = nil, signal: Int32? = nil, runtimeMilliseconds: Int64? = nil,
        peakRSSKilobytes: Int64? = nil, rows: Int64? = nil, error: String? = nil
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.runtimeMilliseconds = runtimeMilliseconds
        self.peakRSSKilobytes = peakRSSKilobytes
        self.rows = rows
        self.error = error
    }
}

/// Small helpers over `job_runs` / `job_tasks` for the supervisor. States are free text chosen by the job engine.
public struct JobStore {
    public let connection: Connection

    public init(_ connection: Connection) { self.connection = connection }

    /// Records a new run and returns its id.
    public func createRun(
        kind: String, params: PostgresJSON = PostgresJSON("{}"), state: String = "queued", requestedBy: String? = nil
    ) throws(PostgresError) -> Int64 {
        try connection.query(
            "INSERT INTO job_runs (kind, params, state, requested_by) VALUES ($1, $2::jsonb, $3, $4) RETURNING id",
            [kind, params, state, requestedBy]
        ).scalar(as: Int64.self)
    }

    /// Sets a run's state; `started_at` is set the first time it becomes `running`, `finished_at` when `finished`.
    public func setRunState(
        _ id: Int64, state: String, finished: Bool = false, summary: PostgresJSON? = nil
    ) throws(PostgresError) {
        try connection.query(
            """
            UPDATE job_runs SET state = $2,
                started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
                finished_at = CASE WHEN $3::boolean THEN now() WHEN $2 = 'running' THEN NULL ELSE finished_at END,
                summary = coalesce($4::jsonb, summary)
            WHERE id = $1
            """,
            [id, state, finished, summary])
    }

    public func run(_ id: Int64) throws(PostgresError) -> JobRunRecord? {
        try runs(where: "id = $1", [id]).first
    }

    /// The most recent runs, newest first.
    public func recentRuns(limit: Int = 20) throws(PostgresError) -> [JobRunRecord] {
        try runs(where: "true", [], limit: limit)
    }

    /// Runs in any of `states` (e.g. the running ones to resume after a restart), oldest first.
    public func runs(inStates states: [String]) throws(PostgresError) -> [JobRunRecord] {
        try runs(where: "state = ANY ($1::text[])", [Ledger.textArray(states)], oldestFirst: true)
    }

    /// Adds a task to a run and returns its id.
    public func addTask(
        runID: Int64, position: Int, collector: String, range: DateRange?, state: String = "queued",
        daysTotal: Int? = nil
    ) throws(PostgresError) -> Int64 {
        try connection.query(
            """
            INSERT INTO job_tasks (run_id, position, collector, range_start, range_end, state, days_total)
            VALUES ($1, $2, $3, $4::date, $5::date, $6, $7) RETURNING id
            """,
            [runID, position, collector, range?.start, range?.end, state, daysTotal ?? range?.dayCount ?? 0]
        ).scalar(as: Int64.self)
    }

    /// Marks a task as started by child `pid` (attempts + 1).
    public func startTask(_ id: Int64, pid: Int32, state: String = "running") throws(PostgresError) {
        try connection.query(
            """
            UPDATE job_tasks SET state = $2, pid = $3, attempts = attempts + 1, started_at = now(), finished_at = NULL,
                exit_code = NULL, signal = NULL, error = NULL
            WHERE id = $1
            """,
            [id, state, pid])
    }

    /// Records progress reported by the child.
    public func updateTaskProgress(_ id: Int64, daysDone: Int, rows: Int64) throws(PostgresError) {
        try connection.query("UPDATE job_tasks SET days_done = $2, rows = $3 WHERE id = $1", [id, daysDone, rows])
    }

    /// Records how a task ended.
    public func finishTask(_ id: Int64, state: String, outcome: TaskOutcome) throws(PostgresError) {
        try connection.query(
            """
            UPDATE job_tasks SET state = $2, exit_code = $3, signal = $4, runtime_ms = $5, peak_rss_kb = $6,
                rows = coalesce($7, rows), error = $8, finished_at = now()
            WHERE id = $1
            """,
            [
                id, state, outcome.exitCode, outcome.signal, outcome.runtimeMilliseconds, outcome.peakRSSKilobytes,
                outcome.rows, outcome.error,
            ])
    }

    public func tasks(ofRun runID: Int64) throws(PostgresError) -> [JobTaskRecord] {
        let result = try connection.query(
            """
            SELECT id, run_id, position, collector, range_start, range_end, state, attempts, rows, days_done,
                   days_total, pid, exit_code, signal, runtime_ms, peak_rss_kb, error, created_at, started_at,
                   finished_at
            FROM job_tasks WHERE run_id = $1 ORDER BY position, id
            """,
            [runID])
        return try result.rows.map { (row) throws(PostgresError) -> JobTaskRecord in
            JobTaskRecord(
                id: try row.decode("id"), runID: try row.decode("run_id"), position: try row.decode("position"),
                collector: try row.decode("collector"), rangeStart: try row.decode("range_start"),
                rangeEnd: try row.decode("range_end"), state: try row.decode("state"),
                attempts: try row.decode("attempts"), rows: try row.decode("rows"),
                daysDone: try row.decode("days_done"), daysTotal: try row.decode("days_total"),
                pid: try row.decode("pid"), exitCode: try row.decode("exit_code"), signal: try row.decode("signal"),
                runtimeMilliseconds: try row.decode("runtime_ms"), peakRSSKilobytes: try row.decode("peak_rss_kb"),
                error: try row.decode("error"), createdAt: try row.decode("created_at"),
                startedAt: try row.decode("started_at"), finishedAt: try row.decode("finished_at"))
        }
    }

    /// At daemon start: every run and task still in one of `activeStates` belonged to a daemon that died; mark
    /// them `interrupted` (resumable). Returns the number of runs changed.
    @discardableResult
    public func markInterrupted(activeStates: [String] = ["running"], as state: String = "interrupted")
        throws -> Int
    {
        try connection.transaction { connection in
            let states = Ledger.textArray(activeStates)
            try connection.query(
                "UPDATE job_tasks SET state = $2, finished_at = now() WHERE state = ANY ($1::text[])", [states, state])
            return try connection.query(
                "UPDATE job_runs SET state = $2, finished_at = now() WHERE state = ANY ($1::text[])", [states, state]
            ).rowsAffected
        }
    }

    private func runs(
        where condition: String, _ parameters: [(any PostgresEncodable)?], limit: Int? = nil, oldestFirst: Bool = false
    ) throws(PostgresError) -> [JobRunRecord] {
        let order = oldestFirst ? "ASC" : "DESC"
        let limitClause = limit.map { " LIMIT \(max(0, $0))" } ?? ""
        let result = try connection.query(
            """
            SELECT id, kind, params, state, requested_by, created_at, started_at, finished_at, summary
            FROM job_runs WHERE \(condition) ORDER BY id \(order)\(limitClause)
            """,
            parameters)
        return try result.rows.map { (row) throws(PostgresError) -> JobRunRecord in
            JobRunRecord(
                id: try row.decode("id"), kind: try row.decode("kind"), params: try row.decode("params"),
                state: try row.decode("state"), requestedBy: try row.decode("requested_by"),
                createdAt: try row.decode("created_at"), startedAt: try row.decode("started_at"),
                finishedAt: try row.decode("finished_at"), summary: try row.decode("summary"))
        }
    }
}
