import FoundationEssentials
import Glibc
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import Logging
import Synchronization

/// The control API of DESIGN §5: the JSON-RPC methods galaxyd answers, as documented in
/// protocol/galaxyd.openrpc.json (served by `rpc.discover`).
struct ControlAPI: Sendable {
    let engine: JobEngine
    let scheduler: Scheduler
    let statusSource: StatusSource
    let monitor: Monitor
    let isLeader: @Sendable () -> Bool

    var registry: MethodRegistry {
        var registry = MethodRegistry()
        registry.register(GalaxyMethod.runDaily, mutating: true, params: RunDailyParams.self) { context, params in
            try requireLeader()
            let date = params.date?.date ?? scheduler.today
            logMutation(context, "runDaily", "date=\(date)")
            let (runId, already) = try await mapped { try await engine.runDaily(date: date, requestedBy: requester(context)) }
            return RunStartedResult(runId: runId, alreadyRunning: already)
        }
        registry.register(GalaxyMethod.backfill, mutating: true, params: BackfillParams.self) { context, params in
            try requireLeader()
            let today = scheduler.today
            try params.validate(currentYear: today.year)
            logMutation(context, "backfill", "startYear=\(params.startYear)")
            let (runId, already) = try await mapped {
                try await engine.backfill(
                    startYear: params.startYear, datasets: params.datasets, onlyFailed: params.onlyFailed ?? false,
                    end: today, requestedBy: requester(context))
            }
            return RunStartedResult(runId: runId, alreadyRunning: already)
        }
        registry.register(GalaxyMethod.cancel, mutating: true, params: CancelParams.self) { context, params in
            logMutation(context, "cancel", "run=\(params.runId)")
            let state = try await mapped { try await engine.cancel(params.runId) }
            return CancelResult(runId: params.runId, state: state == "cancelling" ? "cancelling" : state)
        }
        registry.registerEncoded(GalaxyMethod.status, mutating: false) { _, rawParams in
            let params = try StatusParams.decode(from: rawParams)
            return try await mapped { try await statusSource.encodedReport(runId: params.runId) }
        }
        registry.register(GalaxyMethod.coverage, mutating: false, params: CoverageParams.self) { _, params in
            let today = scheduler.today
            try params.validate(currentYear: today.year)
            let toYear = params.toYear ?? today.year
            let through = toYear == today.year ? today : TradeDate(year: toYear, month: 12, day: 31)!
            do {
                return try await statusSource.store.coverageReport(
                    params.selectedDatasets, fromYear: params.fromYear, toYear: toYear, through: through)
            } catch {
                throw JobEngineError.databaseUnavailable(error).rpcError
            }
        }
        registry.register(GalaxyMethod.check, mutating: false, params: CheckParams.self) { _, params in
            try await monitor.check(params)
        }
        registry.register(GalaxyMethod.metrics, mutating: false, params: NoParams.self) { _, _ in
            MetricsResult(text: await monitor.metricsText())
        }
        registry.register(GalaxyMethod.discover, mutating: false) { _, _ in
            try JSONValue(parsing: OpenRPCDocument.json)
        }
        return registry
    }

    private func requireLeader() throws(JSONRPCError) {
        guard statusSource.databaseReachable else {
            throw JSONRPCError(
                code: GalaxyErrorCode.databaseUnavailable,
                message: "database unavailable: galaxyd cannot reach PostgreSQL (check the server and GALAXY_DATABASE_URL); no work can start until it is back")
        }
        guard isLeader() else {
            throw JSONRPCError(
                code: GalaxyErrorCode.standby,
                message: "this galaxyd is a standby; the leader (the daemon holding the scheduler lock) runs jobs")
        }
    }

    private func requester(_ context: RPCRequestContext) -> String {
        context.peer.map { "uid=\($0.uid) pid=\($0.pid)" } ?? "unknown peer"
    }

    private func logMutation(_ context: RPCRequestContext, _ method: String, _ detail: String) {
        context.logger.notice("\(method) \(detail)", metadata: [
            "peer_pid": "\(context.peer?.pid ?? -1)", "peer_uid": "\(context.peer?.uid ?? UInt32.max)",
        ])
    }

    /// Turns the engine's refusals into their JSON-RPC errors.
    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as JobEngineError {
            throw error.rpcError
        }
    }
}

/// Assembles `status` from the engine, the scheduler and the database.
final class StatusSource: Sendable {
    let engine: JobEngine
    let scheduler: Scheduler
    let store: SupervisorDatabase
    let settings: SupervisorSettings
    let socketDescription: String
    let started = Date()
    let ready: @Sendable () -> Bool
    let isLeader: @Sendable () -> Bool
    let leadership: Leadership
    /// The source's breaker as last read, when it is open; refreshed in the background by ``refresh()``: `status`
    /// never waits for the database, so it stays fast under fifty polling clients and answers while PostgreSQL is away.
    var openBreaker: SourceBreaker? { openBreakerCache.withLock { $0 } }
    private let openBreakerCache = Mutex<SourceBreaker?>(nil)

    init(engine: JobEngine, scheduler: Scheduler, store: SupervisorDatabase, settings: SupervisorSettings,
         socketDescription: String, ready: @escaping @Sendable () -> Bool, isLeader: @escaping @Sendable () -> Bool,
         leadership: Leadership) {
        self.engine = engine
        self.scheduler = scheduler
        self.store = store
        self.settings = settings
        self.socketDescription = socketDescription
        self.ready = ready
        self.isLeader = isLeader
        self.leadership = leadership
    }

    func report(runId: Int64?) async throws -> StatusReport {
        let leader = isLeader()
        var runs: [RunStatus]
        var databaseState = "ok"
        if leader {
            runs = try await engine.runStatuses(runId: runId)
        } else {
            // A standby runs nothing itself: it shows what the leader recorded. A database known to be unreachable
            // (a partition) is not asked: `status` must answer at once, not after the network gives up.
            do {
                guard databaseReachable else { throw CancellationError() }
                runs = try await store.recentRuns(limit: 20)
                if let runId {
                    runs = runs.filter { $0.id == runId }
                    if runs.isEmpty { throw JobEngineError.runNotFound(runId) }
                }
            } catch let error as JobEngineError {
                throw error
            } catch {
                // What this process itself runs or ran: a leader that lost its lock with the database (a PostgreSQL
                // restart) is still executing its runs, and `status` must keep showing them.
                runs = (try? await engine.runStatuses(runId: runId)) ?? []
                noteDatabase(reachable: false)
                databaseState = "unavailable"
            }
        }
        let source = settings.configuration.source
        let breaker = openBreaker.map {
            BreakerStatus(state: "open", openUntil: Timestamps.rfc3339($0.openUntil), reason: $0.reason)
        } ?? BreakerStatus(state: "closed", openUntil: nil, reason: nil)
        if !databaseReachable { databaseState = "unavailable" }
        return StatusReport(
            daemon: DaemonStatus(
                version: settings.version, pid: getpid(), startedAt: Timestamps.rfc3339(started),
                uptimeSeconds: (Date().timeIntervalSince(started) * 10).rounded() / 10, ready: ready(),
                leader: leader, socket: socketDescription, database: databaseState, leaderName: leadership.holder,
                fenced: leadership.fence, problems: settings.problems),
            schedule: await scheduler.status(),
            children: await engine.childStatuses(),
            runs: runs,
            source: SourceStatus(kind: source.rawValue, rate: settings.configuration.rate, breaker: breaker))
    }

    /// The report as JSON. Callers that ask while the same report is being built share that one (single flight):
    /// fifty clients polling `status` at once cost one report and one encoding, and no answer is older than the
    /// build that was under way when the question came (a cache with a lifetime would hand out older ones). A report
    /// equal to the last one encoded reuses that text: encoding, not building, is what a report costs.
    func encodedReport(runId: Int64?) async throws -> EncodedJSON {
        let build = inflight.withLock { flights -> Task<EncodedJSON, any Error> in
            if let running = flights[runId] { return running }
            let task = Task { try self.encoded(try await self.report(runId: runId), runId: runId) }
            flights[runId] = task
            return task
        }
        defer { inflight.withLock { flights in if flights[runId] == build { flights[runId] = nil } } }
        return try await build.value
    }

    private let inflight = Mutex<[Int64?: Task<EncodedJSON, any Error>]>([:])

    private func encoded(_ report: StatusReport, runId: Int64?) throws -> EncodedJSON {
        if let last = lastEncoded.withLock({ $0[runId] }), last.report == report { return last.text }
        let text = try EncodedJSON(encoding: report)
        lastEncoded.withLock { last in
            if last.count >= 8 { last = last.filter { $0.key == nil } }  // bounded, whatever ids clients ask for
            last[runId] = (report, text)
        }
        return text
    }

    /// The last report encoded, per `runId` asked for (nil = all runs).
    private let lastEncoded = Mutex<[Int64?: (report: StatusReport, text: EncodedJSON)]>([:])

    /// Whether the database answered the last check (the breaker refresh or the leader lock, whichever came last).
    var databaseReachable: Bool { reachable.load(ordering: .acquiring) }
    private let reachable = Atomic<Bool>(true)

    /// Records what a database call just found.
    func noteDatabase(reachable value: Bool) { reachable.store(value, ordering: .releasing) }

    /// Re-reads the source's breaker (the daemon calls this on its status beat). Returns it when it is open.
    @discardableResult
    func refresh() async -> SourceBreaker? {
        let source = settings.configuration.source.rawValue
        do {
            let open = try await store.breaker(for: source)
            openBreakerCache.withLock { $0 = open }
            noteDatabase(reachable: true)
            return open
        } catch {
            noteDatabase(reachable: false)
            return nil
        }
    }
}
