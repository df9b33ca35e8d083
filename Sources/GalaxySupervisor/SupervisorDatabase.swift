import Foundation
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

    func createRun(kind: String, params: JSONValue, state: String, requestedBy: String) async throws -> (Int64, Date) {
        let paramsText = params.jsonText
        return try await database.withConnection { connection in
            let result = try connection.query(
                """
                INSERT INTO job_runs (kind, params, state, requested_by, started_at)
                VALUES ($1, $2::jsonb, $3, $4, now()) RETURNING id, created_at
                """, [kind, paramsText, state, requestedBy])
            let row = result.first!
            return (try row.decode(0, as: Int64.self), try row.decode(1, as: Date.self))
        }
    }

    func finishRun(_ id: Int64, state: String, summary: JSONValue) async throws {
        let summaryText = summary.jsonText
        try await database.withConnection { connection in
            _ = try connection.query(
                "UPDATE job_runs SET state = $2, finished_at = now(), summary = $3::jsonb WHERE id = $1",
                [id, state, summaryText])
        }
    }

    func setRunState(_ id: Int64, state: String) async throws {
        try await database.withConnection { connection in
            _ = try connection.query("UPDATE job_runs SET state = $2, finished_at = NULL WHERE id = $1", [id, state])
        }
    }

    func createTasks(runId: Int64, firstPosition: Int, tasks: [(CollectorTask, Int)]) async throws -> [Int64] {
        let rows = tasks.map { ($0.0.job.rawValue, $0.0.range.start, $0.0.range.end, $0.1) }
        return try await database.withConnection { connection in
            try connection.transaction { connection in
                try rows.enumerated().map { offset, row in
                    let result = try connection.query(
                        """
                        INSERT INTO job_tasks (run_id, position, collector, range_start, range_end, state, days_total)
                        VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id
                        """, [runId, firstPosition + offset, row.0, row.1, row.2, row.3])
                    return try result.scalar(as: Int64.self)
                }
            }
        }
    }

    func taskStarted(_ id: Int64, pid: Int32, attempts: Int) async throws {
        try await database.withConnection { connection in
            _ = try connection.query(
                """
                UPDATE job_tasks SET state = 'running', pid = $2, attempts = $3, started_at = coalesce(started_at, now())
                WHERE id = $1
                """, [id, pid, attempts])
        }
    }

    func taskFinished(_ task: TaskStatus, daysDone: Int) async throws {
        let runtimeMilliseconds = task.runtimeSeconds.map { Int64($0 * 1000) }
        let peak = task.peakRssKiB.map(Int64.init)
        try await database.withConnection { connection in
            _ = try connection.query(
                """
                UPDATE job_tasks SET state = $2, attempts = $3, rows = $4, exit_code = $5, signal = $6,
                    runtime_ms = $7, peak_rss_kb = $8, error = $9, days_done = $10, finished_at = now()
                WHERE id = $1
                """,
                [task.id, task.state, task.attempts, Int64(task.rows), task.exitCode, task.signal, runtimeMilliseconds,
                 peak, task.error, daysDone])
        }
    }

    /// What a daemon that died left behind: tasks and runs still marked active become `interrupted`. Returns the
    /// backfill runs among them, which the new leader resumes.
    func recoverInterrupted() async throws -> [(id: Int64, params: JSONValue, requestedBy: String)] {
        try await database.withConnection { connection in
            try connection.transaction { connection in
                _ = try connection.query(
                    """
                    UPDATE job_tasks SET state = 'interrupted', finished_at = now(),
                        error = coalesce(error, 'galaxyd stopped while the task ran')
                    WHERE state IN ('running', 'pending')
                    """)
                let result = try connection.query(
                    """
                    UPDATE job_runs SET state = 'interrupted', finished_at = now()
                    WHERE state IN ('queued', 'running', 'cancelling')
                    RETURNING id, kind, params::text, coalesce(requested_by, '')
                    """)
                return try result.rows.compactMap { row in
                    guard try row.decode(1, as: String.self) == "backfill" else { return nil }
                    let params = (try? JSONValue(parsing: try row.decode(2, as: String.self))) ?? .object([:])
                    return (try row.decode(0, as: Int64.self), params, try row.decode(3, as: String.self))
                }.sorted { $0.0 < $1.0 }
            }
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
                if try row.decode(1, as: String.self) == DayStatus.failed.rawValue {
                    coverage.failed.insert(date)
                } else {
                    coverage.done.insert(date)
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

    /// Recent runs with their tasks, newest first, to show history after a restart.
    func recentRuns(limit: Int) async throws -> [RunStatus] {
        try await database.withConnection { connection in
            let runs = try connection.query(
                """
                SELECT id, kind, state, params::text, coalesce(requested_by, ''), created_at, started_at, finished_at,
                    summary::text
                FROM job_runs ORDER BY id DESC LIMIT $1
                """, [limit])
            return try runs.rows.map { row in
                let id = try row.decode(0, as: Int64.self)
                let tasks = try connection.query(
                    """
                    SELECT id, collector, range_start, range_end, state, attempts, rows, pid, exit_code, signal,
                        runtime_ms, peak_rss_kb, error, days_done, days_total
                    FROM job_tasks WHERE run_id = $1 ORDER BY position, id
                    """, [id])
                var progress = RunProgress()
                let taskStatuses = try tasks.rows.map { task in
                    let rows = Int(try task.decode(6, as: Int64.self))
                    progress.daysDone += try task.decode(13, as: Int.self)
                    progress.daysTotal += try task.decode(14, as: Int.self)
                    progress.rows += rows
                    return TaskStatus(
                        id: try task.decode(0, as: Int64.self), collector: try task.decode(1, as: String.self),
                        rangeStart: try task.decode(2, as: TradeDate?.self)?.iso ?? "",
                        rangeEnd: try task.decode(3, as: TradeDate?.self)?.iso ?? "",
                        state: try task.decode(4, as: String.self), attempts: try task.decode(5, as: Int.self),
                        rows: rows, pid: try task.decode(7, as: Int32?.self), exitCode: try task.decode(8, as: Int32?.self),
                        signal: try task.decode(9, as: Int32?.self),
                        runtimeSeconds: try task.decode(10, as: Int64?.self).map { Double($0) / 1000 },
                        peakRssKiB: try task.decode(11, as: Int64?.self).map { Int($0) },
                        error: try task.decode(12, as: String?.self))
                }
                let summary = try row.decode(8, as: String?.self).flatMap { try? JSONValue(parsing: $0) }
                if let saved = summary?["progress"], let decoded = try? saved.decode(as: RunProgress.self) {
                    progress = decoded
                }
                return RunStatus(
                    id: id, kind: try row.decode(1, as: String.self), state: try row.decode(2, as: String.self),
                    params: (try? JSONValue(parsing: try row.decode(3, as: String.self))) ?? .object([:]),
                    requestedBy: try row.decode(4, as: String.self),
                    createdAt: Timestamps.rfc3339(try row.decode(5, as: Date.self)),
                    startedAt: try row.decode(6, as: Date?.self).map(Timestamps.rfc3339),
                    finishedAt: try row.decode(7, as: Date?.self).map(Timestamps.rfc3339),
                    progress: progress, tasks: taskStatuses, error: summary?["error"]?.stringValue)
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
