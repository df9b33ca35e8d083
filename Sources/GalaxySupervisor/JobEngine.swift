import FoundationEssentials
import GalaxyCore
import GalaxyRPC
import Logging

/// A request the engine refuses, with the JSON-RPC error the control API answers with.
public struct JobEngineError: Error, CustomStringConvertible, Sendable {
    public let rpcError: JSONRPCError
    public var description: String { rpcError.message }

    static func runNotFound(_ id: Int64) -> JobEngineError {
        JobEngineError(rpcError: JSONRPCError(code: GalaxyErrorCode.runNotFound, message: "no such run: \(id)"))
    }

    static func databaseUnavailable(_ error: any Error) -> JobEngineError {
        JobEngineError(rpcError: JSONRPCError(
            code: GalaxyErrorCode.databaseUnavailable, message: "database unavailable: \(error)"))
    }

    static let shuttingDown = JobEngineError(rpcError: JSONRPCError(
        code: JSONRPCError.Code.shuttingDown, message: "galaxyd is shutting down"))
}

/// galaxyd's server error codes beyond those GalaxyRPC defines (see protocol/galaxyd.openrpc.json).
public enum GalaxyErrorCode {
    public static let runNotFound = JSONRPCError.Code.notFound
    public static let databaseUnavailable = -32006
    public static let standby = -32007
}

/// Runs jobs: the daily collection, backfills and snapshots, each a run of collector tasks in child processes.
///
/// The engine is the one place that knows what is running. Its in-memory records answer `status` without touching
/// the database (so `status` stays fast and works while PostgreSQL is away); `job_runs`/`job_tasks` are written at
/// every transition so a restarted daemon can mark what was interrupted and resume backfills. A task's failure never
/// stops its run: the run goes on with the next collector, and its final state says what happened
/// (`succeeded`, `partial`, `failed`, `cancelled`, `interrupted`).
public actor JobEngine {
    struct TaskRecord {
        var status: TaskStatus
        var task: CollectorTask
        /// Days already settled in the ledger when the task was planned (backfill chunks).
        var baselineDone: Int
        /// Calendar days of the range for backfill chunks; the child's own count for daily tasks.
        var daysTotal: Int
        /// Progress of finished attempts, and of the running one.
        var finished = CollectorProgress()
        var live: CollectorProgress?

        var daysDone: Int { min(daysTotal, baselineDone + finished.daysDone + (live?.daysDone ?? 0)) }
        var daysFailed: Int { live?.daysFailed ?? finished.daysFailed }
        var rows: Int { finished.rows + (live?.rows ?? 0) }
        var requests: Int { finished.requests + (live?.requests ?? 0) }
        /// Days this run has processed itself (the rate behind the ETA).
        var processed: Int { finished.daysDone + (live?.daysDone ?? 0) + daysFailed }
    }

    struct RunRecord {
        var status: RunStatus
        var started: ContinuousClock.Instant
        var tasks: [TaskRecord]
        var dailyDate: TradeDate?
    }

    struct LiveChild {
        var runId: Int64
        var taskId: Int64
        var task: CollectorTask
        var pid: Int32
        var startedAt: Date
        var restarts: Int
    }

    private let settings: SupervisorSettings
    private let store: SupervisorDatabase
    private let runner: TaskRunner
    private let board: ChildHealthBoard
    private let logger: Logger
    private let slots: AsyncSemaphore
    private var runs: [Int64: RunRecord] = [:]
    private var executions: [Int64: Task<Void, Never>] = [:]
    private var children: [Int32: LiveChild] = [:]
    private var shuttingDown = false
    /// Set while ``fence(reason:)`` stops everything: tasks end `interrupted`, and run rows are left to the next
    /// leader's recovery.
    private let fencing = SharedFlag()
    private let historyLimit = 20
    /// `GALAXY_ON_FAILURE`: told when a run ends failed or partial (and, by the daemon and scheduler, of breaker
    /// openings and missed fires).
    nonisolated let hooks: FailureHooks
    /// Counters and histograms for `metrics`.
    nonisolated let metrics: MetricsRecorder

    init(settings: SupervisorSettings, store: SupervisorDatabase, board: ChildHealthBoard, environment: [String: String],
         logger: Logger) {
        self.settings = settings
        self.store = store
        self.board = board
        self.logger = logger
        self.runner = TaskRunner(
            settings: settings, launcher: CollectorLauncher(settings: settings, inherited: environment), board: board,
            fencing: fencing)
        self.slots = AsyncSemaphore(settings.configuration.maxChildren)
        self.hooks = FailureHooks(settings: settings, inherited: environment, logger: logger)
        self.metrics = MetricsRecorder(
            sources: Dataset.allCases.map { settings.configuration.source(for: $0).rawValue })
    }

    /// Proves the engine's executor is not stalled (the watchdog asks before every ping).
    public func ping() -> Bool { true }

    // MARK: - Starting work

    /// Starts the daily run for `date`, or returns the id of the one already running for that date.
    public func runDaily(date: TradeDate, requestedBy: String) async throws -> (runId: Int64, alreadyRunning: Bool) {
        if let running = runs.values.first(where: { $0.dailyDate == date && !$0.status.isFinished }) {
            return (running.status.id, true)
        }
        let tasks = Dataset.dailyOrder.map { dataset in
            CollectorTask(job: .dataset(dataset), range: DateRange(single: date), mode: .daily(heal: settings.healDays))
        }
        let id = try await createRun(
            kind: "daily", params: ["date": .string(date.iso)], requestedBy: requestedBy, dailyDate: date)
        try await addTasks(to: id, tasks.map { ($0, 0, 0) })
        // Two independent chains (DESIGN §4): stock→sector→price→valuation and etf→etf_price. The recorded order
        // stays the dependency order; GALAXY_MAX_CHILDREN bounds how many run at once.
        let taskIDs = runs[id]!.tasks.map(\.status.id)
        start(id) { engine in
            await withTaskGroup(of: Void.self) { group in
                for chain in [Array(taskIDs[0..<4]), Array(taskIDs[4..<6])] {
                    group.addTask {
                        for taskID in chain { await engine.execute(runID: id, taskID: taskID) }
                    }
                }
            }
        }
        return (id, false)
    }

    /// Starts a backfill, or returns the id of the backfill already running.
    public func backfill(
        startYear: Int, datasets: [Dataset]?, onlyFailed: Bool, end: TradeDate, requestedBy: String
    ) async throws -> (runId: Int64, alreadyRunning: Bool) {
        if let running = runs.values.first(where: { $0.status.kind == "backfill" && !$0.status.isFinished }) {
            return (running.status.id, true)
        }
        let datasets = datasets ?? Dataset.backfillDefault
        var params: [String: JSONValue] = [
            "startYear": .integer(Int64(startYear)), "datasets": .array(datasets.map { .string($0.rawValue) }),
        ]
        if onlyFailed { params["onlyFailed"] = .bool(true) }
        let chunks = try await plan(startYear: startYear, datasets: datasets, onlyFailed: onlyFailed, end: end)
        let id = try await createRun(kind: "backfill", params: .object(params), requestedBy: requestedBy)
        try await addTasks(to: id, chunks)
        startBackfill(id)
        return (id, false)
    }

    /// Starts the snapshot for `date`; it waits (bounded) for that day's prices first.
    public func snapshot(date: TradeDate, requestedBy: String) async throws -> Int64 {
        if let running = runs.values.first(where: { $0.status.kind == "snapshot" && !$0.status.isFinished }) {
            return running.status.id
        }
        let id = try await createRun(kind: "snapshot", params: ["date": .string(date.iso)], requestedBy: requestedBy)
        try await addTasks(to: id, [(CollectorTask(job: .snapshot, range: DateRange(single: date), mode: .daily(heal: 0)), 0, 0)])
        let taskID = runs[id]!.tasks[0].status.id
        let wait = settings.snapshotPriceWait
        let store = self.store
        start(id) { engine in
            let deadline = ContinuousClock.now + wait
            while !((try? await store.isSettled(.price, on: date)) ?? false) {
                if Task.isCancelled { return }
                if ContinuousClock.now >= deadline {
                    await engine.failTask(
                        runID: id, taskID: taskID,
                        error: "prices for \(date.iso) were not collected within \(wait); no snapshot taken")
                    return
                }
                try? await Task.sleep(for: .seconds(min(15, max(0.05, (deadline - .now).seconds))))
            }
            await engine.execute(runID: id, taskID: taskID)
        }
        return id
    }

    /// Cancels a run: its children are stopped (TERM, grace, KILL) and it ends `cancelled`. Cancelling a finished
    /// run returns its final state.
    public func cancel(_ id: Int64) async throws -> String {
        guard var record = runs[id] else {
            if let stored = try? await store.recentRuns(limit: 200).first(where: { $0.id == id }) {
                return stored.state
            }
            throw JobEngineError.runNotFound(id)
        }
        guard !record.status.isFinished else { return record.status.state }
        record.status.state = "cancelling"
        runs[id] = record
        logger.notice("cancelling run", metadata: ["run": "\(id)"])
        executions[id]?.cancel()
        return "cancelling"
    }

    // MARK: - Recovery and shutdown

    /// Called whenever this daemon becomes leader: marks what a dead daemon left running as interrupted, resumes its
    /// backfills from the ledger (same run id, no collected day fetched again), and loads recent history for
    /// `status` (replacing what this daemon remembers of runs it no longer executes: after a fence, another leader
    /// may have finished them). Runs this process is executing are not touched: a leader that lost its database
    /// connection and takes the lock back is still running them.
    public func recover(end: TradeDate) async {
        do {
            let interrupted = try await store.recoverInterrupted(except: Set(executions.keys))
            for run in try await store.recentRuns(limit: historyLimit).reversed() where executions[run.id] == nil {
                runs[run.id] = RunRecord(status: run, started: .now, tasks: [])
            }
            for backfill in interrupted {
                await resumeBackfill(backfill.id, params: backfill.params, end: end)
            }
        } catch {
            logger.error("cannot recover interrupted work: \(error)")
        }
    }

    private func resumeBackfill(_ id: Int64, params: JSONValue, end: TradeDate) async {
        guard executions[id] == nil, let startYear = params["startYear"]?.integerValue else { return }
        let datasets = params["datasets"]?.arrayValue?.compactMap { $0.stringValue.flatMap(Dataset.init(rawValue:)) }
        let onlyFailed = params["onlyFailed"] == .bool(true)
        do {
            let chunks = try await plan(
                startYear: Int(startYear), datasets: datasets ?? Dataset.backfillDefault, onlyFailed: onlyFailed,
                end: end)
            try await store.setRunState(id, state: "running")
            var record = runs[id] ?? RunRecord(
                status: RunStatus(
                    id: id, kind: "backfill", state: "running", params: params, requestedBy: "resumed",
                    createdAt: Timestamps.rfc3339(Date()), startedAt: nil, finishedAt: nil, progress: RunProgress(),
                    tasks: [], error: nil),
                started: .now, tasks: [])
            record.status.state = "running"
            record.status.finishedAt = nil
            record.started = .now
            record.tasks = []
            runs[id] = record
            try await addTasks(to: id, chunks)
            logger.notice("resuming interrupted backfill", metadata: ["run": "\(id)", "chunks": "\(chunks.count)"])
            startBackfill(id)
        } catch {
            logger.error("cannot resume backfill: \(error)", metadata: ["run": "\(id)"])
        }
    }

    /// Stops every run (children get TERM, grace, KILL); tasks and runs are recorded `interrupted`, so the next
    /// daemon resumes them. Returns when every child is gone.
    public func shutdown() async {
        shuttingDown = true
        let running = executions
        for (_, execution) in running { execution.cancel() }
        for (_, execution) in running { await execution.value }
    }

    /// Stops every run because this daemon is no longer sure it leads (its lease ran out, or another galaxyd holds
    /// the lock): children get TERM and, after at most 3 s, KILL; their tasks are recorded `interrupted` where the
    /// database answers. The runs themselves are not written: a new leader may already have resumed them, and
    /// its recovery marks whatever this daemon left active. Returns when every child is gone; the engine takes new
    /// runs again when this daemon leads again.
    public func fence(reason: String) async -> Int {
        fencing.set(true)
        defer { fencing.set(false) }
        let running = executions
        let stopped = children.count
        for (id, execution) in running {
            runs[id]?.status.error = "fenced: \(reason)"
            execution.cancel()
        }
        for (_, execution) in running { await execution.value }
        return stopped
    }

    // MARK: - Status

    public func runStatuses(runId: Int64?) throws -> [RunStatus] {
        if let runId {
            guard let record = runs[runId] else { throw JobEngineError.runNotFound(runId) }
            return [snapshot(of: record)]
        }
        return runs.values.sorted { $0.status.id > $1.status.id }.prefix(historyLimit).map(snapshot(of:))
    }

    public func childStatuses() -> [ChildStatus] {
        children.values.sorted { $0.pid < $1.pid }.map { child in
            let health = board.health(of: child.pid)
            return ChildStatus(
                runId: child.runId, taskId: child.taskId, collector: child.task.job.rawValue,
                rangeStart: child.task.range.start.iso, rangeEnd: child.task.range.end.iso, pid: child.pid,
                state: executions[child.runId]?.isCancelled == true ? "stopping" : (health?.ready == true ? "running" : "starting"),
                startedAt: Timestamps.rfc3339(child.startedAt), runtimeSeconds: Date().timeIntervalSince(child.startedAt),
                lastHeartbeat: health?.lastHeartbeat.map(Timestamps.rfc3339), status: health?.status,
                restarts: child.restarts)
        }
    }

    public var activeRunCount: Int { runs.values.filter { !$0.status.isFinished }.count }

    private func snapshot(of record: RunRecord) -> RunStatus {
        var status = record.status
        guard !record.tasks.isEmpty else { return status }
        var progress = RunProgress()
        var processed = 0
        for task in record.tasks {
            progress.daysDone += task.daysDone
            progress.daysFailed += task.daysFailed
            progress.daysTotal += task.daysTotal
            progress.rows += task.rows
            progress.requests += task.requests
            processed += task.processed
            if case .dataset(let dataset) = task.task.job {
                var entry = progress.perDataset[dataset.rawValue] ?? DatasetProgress()
                entry.daysDone += task.daysDone
                entry.daysFailed += task.daysFailed
                entry.daysTotal += task.daysTotal
                entry.rows += task.rows
                progress.perDataset[dataset.rawValue] = entry
            }
        }
        let elapsed = (ContinuousClock.now - record.started).seconds
        if elapsed > 0 { progress.requestsPerSecond = (Double(progress.requests) / elapsed * 100).rounded() / 100 }
        let remaining = max(0, progress.daysTotal - progress.daysDone - progress.daysFailed)
        if !status.isFinished, processed > 0, elapsed > 0 {
            progress.etaSeconds = (Double(remaining) / (Double(processed) / elapsed)).rounded()
        } else if status.isFinished || remaining == 0 {
            progress.etaSeconds = status.isFinished ? 0 : nil
        }
        status.progress = progress
        status.tasks = record.tasks.map { task in
            var row = task.status
            row.rows = task.rows
            return row
        }
        return status
    }

    // MARK: - Execution

    private func plan(startYear: Int, datasets: [Dataset], onlyFailed: Bool, end: TradeDate) async throws
        -> [(CollectorTask, Int, Int)]
    {
        guard (BackfillPlanner.earliestYear...end.year).contains(startYear) else {
            throw JobEngineError(rpcError: .invalidParams(
                "params.startYear: \(startYear) is outside \(BackfillPlanner.earliestYear)…\(end.year)"))
        }
        var result: [(CollectorTask, Int, Int)] = []
        let whole = DateRange(TradeDate(year: startYear, month: 1, day: 1)!, end)!
        for dataset in datasets {
            let coverage: LedgerCoverage
            do {
                coverage = try await store.coverage(dataset, in: whole)
            } catch {
                throw JobEngineError.databaseUnavailable(error)
            }
            let chunks = try BackfillPlanner.plan(
                dataset: dataset, startYear: startYear, end: end, coverage: coverage, onlyFailed: onlyFailed)
            for chunk in chunks {
                let settled = onlyFailed ? 0 : chunk.range.filter { coverage.done.contains($0) }.count
                let total = onlyFailed ? chunk.range.filter { coverage.failed.contains($0) }.count : chunk.range.dayCount
                result.append((CollectorTask(job: .dataset(dataset), range: chunk.range,
                                             mode: onlyFailed ? .onlyFailed : .range), settled, total))
            }
        }
        return result
    }

    private func createRun(kind: String, params: JSONValue, requestedBy: String, dailyDate: TradeDate? = nil)
        async throws -> Int64
    {
        if shuttingDown { throw JobEngineError.shuttingDown }
        let (id, created): (Int64, Date)
        do {
            (id, created) = try await store.createRun(
                kind: kind, params: params, state: "running", requestedBy: requestedBy)
        } catch {
            throw JobEngineError.databaseUnavailable(error)
        }
        let createdText = Timestamps.rfc3339(created)
        runs[id] = RunRecord(
            status: RunStatus(
                id: id, kind: kind, state: "running", params: params, requestedBy: requestedBy, createdAt: createdText,
                startedAt: createdText, finishedAt: nil, progress: RunProgress(), tasks: [], error: nil),
            started: .now, tasks: [], dailyDate: dailyDate)
        logger.notice("run started", metadata: [
            "run": "\(id)", "kind": "\(kind)", "requested_by": "\(requestedBy)",
            LogMessageID.metadataKey: "\(LogMessageID.runStarted)",
        ])
        trimHistory()
        return id
    }

    /// Adds planned tasks (task, days already settled, days in total) to a run, in order.
    private func addTasks(to id: Int64, _ planned: [(CollectorTask, Int, Int)]) async throws {
        let position = runs[id]?.tasks.count ?? 0
        let ids: [Int64]
        do {
            ids = try await store.createTasks(runId: id, firstPosition: position, tasks: planned.map { ($0.0, $0.2) })
        } catch {
            throw JobEngineError.databaseUnavailable(error)
        }
        for (taskID, (task, settled, total)) in zip(ids, planned) {
            runs[id]?.tasks.append(TaskRecord(
                status: TaskStatus(
                    id: taskID, collector: task.job.rawValue, rangeStart: task.range.start.iso,
                    rangeEnd: task.range.end.iso, state: "pending", attempts: 0, rows: 0),
                task: task, baselineDone: settled, daysTotal: total))
        }
    }

    private func startBackfill(_ id: Int64) {
        let taskIDs = runs[id]?.tasks.filter { $0.status.state == "pending" }.map(\.status.id) ?? []
        start(id) { engine in
            await withTaskGroup(of: Void.self) { group in
                for taskID in taskIDs {
                    group.addTask { await engine.execute(runID: id, taskID: taskID) }
                }
            }
        }
    }

    private func start(_ id: Int64, _ body: @escaping @Sendable (JobEngine) async -> Void) {
        executions[id] = Task {
            await body(self)
            await self.finishRun(id)
        }
    }

    /// Runs one task to its end: attempts with exponential backoff while the failure is worth retrying.
    func execute(runID: Int64, taskID: Int64) async {
        guard let task = record(runID, taskID)?.task else { return }
        let logger = logger.with([
            "run": "\(runID)", "task": "\(taskID)", "collector": "\(task.job)", "range": "\(task.range)",
        ])
        var attempt = 0
        var outcome = AttemptOutcome()
        var firstStarted: ContinuousClock.Instant?
        while attempt < settings.maxAttempts, !Task.isCancelled {
            guard await slots.acquire() else { break }
            firstStarted = firstStarted ?? .now
            if attempt > 0 { metrics.taskRetried(collector: task.job.rawValue) }
            attempt += 1
            let number = attempt
            outcome = await runner.runAttempt(
                task, runID: runID, taskID: taskID, logger: logger,
                onStart: { pid in await self.attemptStarted(runID, taskID, pid: pid, attempt: number) },
                onProgress: { progress in await self.progressed(runID, taskID, progress) })
            await slots.release()
            attemptEnded(runID, taskID, outcome: outcome, attempt: attempt)
            if outcome.succeeded || !outcome.isRetryable || attempt == settings.maxAttempts { break }
            let delay = retryDelay(after: attempt)
            logger.info("retrying in \(delay.seconds.fixed(1))s (\(outcome.summary))")
            try? await Task.sleep(for: delay)
        }
        let cancelled = Task.isCancelled || outcome.stopKind == .stopped
        let state: String
        if outcome.succeeded {
            state = "succeeded"
        } else if cancelled {
            state = shuttingDown || fencing.value ? "interrupted" : "cancelled"
        } else {
            state = "failed"
        }
        let duration = firstStarted.map { ContinuousClock.now - $0 }
        metrics.taskEnded(collector: task.job.rawValue, outcome: state, duration: duration)
        await taskEnded(runID, taskID, state: state, outcome: outcome, attempts: attempt)
    }

    private func retryDelay(after attempt: Int) -> Duration {
        let base = settings.retryBaseDelay.seconds * Double(1 << min(max(attempt - 1, 0), 30))
        let capped = min(base, settings.retryMaxDelay.seconds)
        return .seconds(capped * Double.random(in: 0.8...1.2))
    }

    private func record(_ runID: Int64, _ taskID: Int64) -> TaskRecord? {
        runs[runID]?.tasks.first { $0.status.id == taskID }
    }

    private func update(_ runID: Int64, _ taskID: Int64, _ change: (inout TaskRecord) -> Void) {
        guard let index = runs[runID]?.tasks.firstIndex(where: { $0.status.id == taskID }) else { return }
        change(&runs[runID]!.tasks[index])
    }

    private func attemptStarted(_ runID: Int64, _ taskID: Int64, pid: Int32, attempt: Int) async {
        guard let task = record(runID, taskID)?.task else { return }
        children[pid] = LiveChild(
            runId: runID, taskId: taskID, task: task, pid: pid, startedAt: Date(), restarts: attempt - 1)
        update(runID, taskID) {
            $0.status.state = "running"
            $0.status.pid = pid
            $0.status.attempts = attempt
        }
        do {
            try await store.taskStarted(taskID, pid: pid)
        } catch {
            logger.warning("cannot record task start: \(error)", metadata: ["run": "\(runID)"])
        }
    }

    private func progressed(_ runID: Int64, _ taskID: Int64, _ progress: CollectorProgress) {
        update(runID, taskID) { record in
            metrics.progressed(
                collector: record.task.job.rawValue, source: source(of: record.task.job),
                from: record.live ?? CollectorProgress(), to: progress)
            record.live = progress
            if record.task.mode != .range, record.task.mode != .onlyFailed {
                record.daysTotal = max(record.daysTotal, progress.daysTotal)
            }
        }
    }

    /// The source a collector's requests go to; nil for the snapshot, which asks KRX nothing.
    private func source(of job: CollectorJob) -> String? {
        guard case .dataset(let dataset) = job else { return nil }
        return settings.configuration.source(for: dataset).rawValue
    }

    private func attemptEnded(_ runID: Int64, _ taskID: Int64, outcome: AttemptOutcome, attempt: Int) {
        if let pid = outcome.pid { children[pid] = nil }
        update(runID, taskID) { record in
            if let live = outcome.progress ?? record.live {
                record.finished.daysDone += live.daysDone
                record.finished.daysFailed = live.daysFailed
                record.finished.rows += live.rows
                record.finished.requests += live.requests
                if record.task.mode != .range, record.task.mode != .onlyFailed {
                    record.daysTotal = max(record.daysTotal, live.daysTotal)
                }
            }
            record.live = nil
            record.status.attempts = attempt
            if let exit = outcome.exit {
                var killed = outcome.stopKind
                switch exit.termination {
                case .exited(let code):
                    record.status.exitCode = code
                    record.status.signal = nil
                case .signaled(let signal):
                    record.status.signal = signal
                    record.status.exitCode = nil
                    killed = killed ?? .signal
                }
                record.status.runtimeSeconds = (exit.runtime.seconds * 1000).rounded() / 1000
                record.status.peakRssKiB = exit.peakRSSKiB
                metrics.childEnded(collector: record.task.job.rawValue, killed: killed, peakRSSKiB: exit.peakRSSKiB)
            }
            record.status.error = outcome.succeeded ? nil : outcome.summary
        }
    }

    private func failTask(runID: Int64, taskID: Int64, error: String) async {
        update(runID, taskID) { record in
            metrics.taskEnded(collector: record.task.job.rawValue, outcome: "failed", duration: nil)
            record.status.error = error
        }
        await taskEnded(runID, taskID, state: "failed", outcome: AttemptOutcome(), attempts: 0)
        runs[runID]?.status.error = error
    }

    private func taskEnded(_ runID: Int64, _ taskID: Int64, state: String, outcome: AttemptOutcome, attempts: Int)
        async
    {
        update(runID, taskID) { $0.status.state = state }
        guard let record = record(runID, taskID) else { return }
        var status = record.status
        status.rows = record.rows
        do {
            try await store.taskFinished(status, daysDone: record.daysDone)
        } catch {
            logger.warning("cannot record task end: \(error)", metadata: ["run": "\(runID)"])
        }
    }

    private func finishRun(_ id: Int64) async {
        executions[id] = nil
        // Read before the final state is set, which then appears together with the day counts.
        guard let ended = runs[id] else { return }
        let days = await days(of: ended)
        guard var record = runs[id] else { return }
        let states = record.tasks.map(\.status.state)
        let state: String
        if states.contains("interrupted") || ((shuttingDown || fencing.value) && states.contains("pending")) {
            state = "interrupted"
        } else if record.status.state == "cancelling" || states.contains("cancelled") {
            state = "cancelled"
        } else if !states.isEmpty, states.allSatisfy({ $0 == "succeeded" }) {
            state = "succeeded"
        } else if states.isEmpty {
            state = "succeeded"
        } else if states.contains("succeeded") {
            state = "partial"
        } else {
            state = "failed"
        }
        for index in record.tasks.indices where record.tasks[index].status.state == "pending" {
            record.tasks[index].status.state = state == "interrupted" ? "interrupted" : "cancelled"
        }
        record.status.state = state
        record.status.finishedAt = Timestamps.rfc3339(Date())
        metrics.runEnded(kind: record.status.kind, outcome: state, duration: .now - record.started)
        if record.status.error == nil, state == "failed" || state == "partial" {
            let failed = record.tasks.filter { $0.status.state == "failed" }.map(\.status.collector)
            record.status.error = "failed: " + failed.joined(separator: ", ")
        }
        record.status.days = days
        runs[id] = record
        let final = snapshot(of: record)
        runs[id]?.status.progress = final.progress
        var summary: [String: JSONValue] = [:]
        if let progress = try? JSONValue(encoding: final.progress) { summary["progress"] = progress }
        if let error = record.status.error { summary["error"] = .string(error) }
        if let days = record.status.days, let value = try? JSONValue(encoding: days) { summary["days"] = value }
        if fencing.value {
            logger.warning("run interrupted by fencing: the next leader resumes it", metadata: ["run": "\(id)"])
            return
        }
        do {
            try await store.finishRun(id, state: state, summary: .object(summary))
        } catch {
            logger.error("cannot record the end of run \(id): \(error)")
        }
        let level: Logger.Level = state == "succeeded" ? .notice : .warning
        logger.log(level: level, "run \(state)", metadata: [
            "run": "\(id)", "kind": "\(record.status.kind)", "rows": "\(final.progress.rows)",
            LogMessageID.metadataKey: "\(LogMessageID.runFinished)",
        ])
        hooks.runEnded(final)
    }

    /// What the days of a finished run's dataset tasks became, from the ledger; nil for a snapshot, or when the
    /// database does not answer (the summary then shows the progress counts).
    private func days(of record: RunRecord) async -> RunDays? {
        let spans = record.tasks.compactMap { task -> (dataset: Dataset, held: DateRange, touched: DateRange)? in
            guard case .dataset(let dataset) = task.task.job else { return nil }
            var touched = task.task.range
            if case .daily(let heal) = task.task.mode, heal > 0 {
                touched = DateRange(touched.start.adding(days: -heal), touched.end) ?? touched
            }
            return (dataset, task.task.range, touched)
        }
        guard !spans.isEmpty, !fencing.value else { return nil }
        do {
            return try await store.runDays(runId: record.status.id, spans: spans)
        } catch {
            logger.warning(
                "cannot read the run's days from the ledger: \(error)", metadata: ["run": "\(record.status.id)"])
            return nil
        }
    }

    private func trimHistory() {
        let finished = runs.values.filter(\.status.isFinished).map(\.status.id).sorted()
        for id in finished.dropLast(historyLimit) { runs[id] = nil }
    }
}

extension Logger {
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}

