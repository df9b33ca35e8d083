import FoundationEssentials
import GalaxyCore
import GalaxyRPC
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the ledger says about how current each dataset is, read by ``SupervisorDatabase/freshness(of:today:)``.
struct LedgerFreshness: Sendable {
    struct Unsettled: Sendable, Equatable {
        var date: TradeDate
        var status: DayStatus
        var error: String?
    }

    /// The newest `collected` day per dataset (absent: never collected).
    var lastCollected: [Dataset: TradeDate] = [:]
    /// The newest `failed` or `pending` day after it: why a dataset is behind, when the ledger knows.
    var newestUnsettled: [Dataset: Unsettled] = [:]
    var calendar = TradingCalendar()

    /// The last trading day whose `deadline` (exchange time) has passed at `now`.
    func due(at now: LocalTime, deadline: ClockTime) -> TradeDate {
        let passed = ClockTime(hour: now.hour, minute: now.minute).map { $0 >= deadline } ?? true
        return calendar.tradingDay(atOrBefore: passed ? now.date : now.date.previous)
    }

    /// How current `dataset` is when `due` is the last trading day whose data should be in. The Open API publishes a
    /// day the next morning, so its datasets are due one trading day later.
    func freshness(of dataset: Dataset, source: SourceKind, due: TradeDate) -> DatasetFreshness {
        let expected = source == .openapi ? calendar.tradingDay(atOrBefore: due.previous) : due
        let name = dataset.rawValue
        guard let last = lastCollected[dataset] else {
            return DatasetFreshness(
                dataset: name, source: source.rawValue, lastCollected: nil, expected: expected.iso,
                ageTradingDays: nil, status: .critical,
                detail: "\(name) was never collected (galaxyctl backfill, or run-daily, collects it)")
        }
        let age = calendar.tradingDays(after: last, through: expected)
        var detail = "\(name) current through \(last.iso)"
        var status = CheckStatus.ok
        if age > 0 {
            status = .critical
            detail = "\(name) \(age) trading day\(age == 1 ? "" : "s") behind (last collected \(last.iso), "
                + "\(expected.iso) due)"
            if let unsettled = newestUnsettled[dataset] {
                detail += "; \(unsettled.date.iso) is \(unsettled.status.rawValue)"
                if let error = unsettled.error { detail += ": " + Self.shortened(error) }
                // Only the newest day is missing and the source has not published it yet: worth a look, not a page.
                if age == 1, unsettled.status == .pending, unsettled.date == expected { status = .warning }
            }
        }
        return DatasetFreshness(
            dataset: name, source: source.rawValue, lastCollected: last.iso, expected: expected.iso,
            ageTradingDays: age, status: status, detail: detail)
    }

    static func shortened(_ text: String, to limit: Int = 160) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}

/// What monitoring systems read of galaxyd: `metrics` (the Prometheus text, also written to
/// `GALAXY_METRICS_FILE`) and `check` (one verdict with the monitoring-plugin scale).
///
/// Nothing here waits for the database on a caller's behalf except `check`, which must say what the ledger holds
/// now, and does so within ``checkTimeout``. The ledger's freshness for `metrics` is re-read on the daemon's beat
/// (``refresh()``), so a scrape during a partition answers at once with the database gauge at 0.
final class Monitor: Sendable {
    let engine: JobEngine
    let scheduler: Scheduler
    let statusSource: StatusSource
    let settings: SupervisorSettings
    private let cached = Mutex<LedgerFreshness?>(nil)
    static let checkTimeout: Duration = .seconds(5)

    init(engine: JobEngine, scheduler: Scheduler, statusSource: StatusSource, settings: SupervisorSettings) {
        self.engine = engine
        self.scheduler = scheduler
        self.statusSource = statusSource
        self.settings = settings
    }

    private var timeZone: TimeZoneRules { scheduler.timeZone }

    private func localNow() -> LocalTime {
        timeZone.localTime(atUTC: Int64(scheduler.now.timeIntervalSince1970.rounded(.down)))
    }

    /// Re-reads the ledger's freshness for `metrics`; a failed or slow read (a partition) keeps the last one, so
    /// the metrics file goes on being written with the database gauge at 0.
    func refresh() async {
        guard statusSource.databaseReachable else { return }
        if case .success(let freshness)? = await readLedger(today: localNow().date) {
            cached.withLock { $0 = freshness }
        }
    }

    // MARK: - metrics

    func metricsText() async -> String {
        let leader = statusSource.isLeader()
        let active = await engine.activeRunCount
        let children = await engine.childStatuses().count
        var out = PrometheusText()
        out.family("galaxy_build_info", .gauge, help: "galaxyd's version, as a label; the value is always 1.")
        out.sample("galaxy_build_info", [("version", settings.version)], 1)
        out.family("galaxy_start_time_seconds", .gauge, help: "When this galaxyd started, in seconds since the epoch.")
        out.sample("galaxy_start_time_seconds", [], statusSource.started.timeIntervalSince1970.rounded(.down))
        out.family(
            "galaxy_leader", .gauge, help: "1 while this galaxyd holds the scheduler lock (runs the schedule), else 0.")
        out.sample("galaxy_leader", [], leader ? 1 : 0)
        out.family(
            "galaxy_fenced", .gauge,
            help: "1 after this galaxyd fenced itself (lost its lease) and does not lead again.")
        out.sample("galaxy_fenced", [], statusSource.leadership.fence != nil && !leader ? 1 : 0)
        out.family("galaxy_database_reachable", .gauge, help: "1 when PostgreSQL answered galaxyd's last call, else 0.")
        out.sample("galaxy_database_reachable", [], statusSource.databaseReachable ? 1 : 0)
        out.family("galaxy_runs_active", .gauge, help: "Runs this galaxyd is executing.")
        out.sample("galaxy_runs_active", [], Double(active))
        out.family("galaxy_children_running", .gauge, help: "Collector child processes alive now.")
        out.sample("galaxy_children_running", [], Double(children))

        engine.metrics.render(into: &out, collectors: CollectorJob.allNames)

        out.family(
            "galaxy_krx_request_rate_limit", .gauge,
            help: "GALAXY_RATE: requests per second allowed to KRX, all collectors together (0: unlimited).")
        out.sample("galaxy_krx_request_rate_limit", [], settings.configuration.rate)
        let source = settings.configuration.source.rawValue
        let breaker = statusSource.openBreaker
        out.family(
            "galaxy_breaker_open", .gauge,
            help: "1 while the circuit breaker keeps galaxy away from the source (KRX showed a block page).")
        out.sample("galaxy_breaker_open", [("source", source)], breaker == nil ? 0 : 1)
        out.family(
            "galaxy_breaker_open_until_timestamp_seconds", .gauge,
            help: "When an open circuit breaker lets requests through again, in seconds since the epoch.")
        if let breaker {
            out.sample("galaxy_breaker_open_until_timestamp_seconds", [("source", source)],
                       breaker.openUntil.timeIntervalSince1970.rounded(.down))
        }

        if let ledger = cached.withLock({ $0 }) {
            out.family(
                "galaxy_dataset_last_collected_timestamp_seconds", .gauge,
                help: "The newest collected trade date of each dataset, as 00:00 of that day in GALAXY_TZ, in "
                    + "seconds since the epoch.")
            for dataset in Dataset.dailyOrder {
                guard let last = ledger.lastCollected[dataset] else { continue }
                let midnight = timeZone.utcSeconds(of: LocalTime(date: last, hour: 0, minute: 0)) ?? 0
                out.sample("galaxy_dataset_last_collected_timestamp_seconds", [("dataset", dataset.rawValue)],
                           Double(midnight))
            }
            out.family(
                "galaxy_dataset_age_trading_days", .gauge,
                help: "Trading days each dataset's newest collected day lags the last trading day the daily schedule "
                    + "has fired for (a day later for Open API datasets): 0 is current, +Inf never collected.")
            let fired = await scheduler.lastDailyFireDate ?? localNow().date.previous
            let due = ledger.calendar.tradingDay(atOrBefore: fired)
            for dataset in Dataset.dailyOrder {
                let freshness = ledger.freshness(
                    of: dataset, source: settings.configuration.source(for: dataset), due: due)
                // Never collected is infinitely behind: an alert on `> 0` fires for it too.
                out.sample("galaxy_dataset_age_trading_days", [("dataset", dataset.rawValue)],
                           freshness.ageTradingDays.map(Double.init) ?? .infinity)
            }
        }
        return out.text
    }

    /// Writes the metrics to `path` as node_exporter's textfile collector wants them: a new file renamed over the
    /// old one, so a scrape never reads half a file; mode 0644, since node_exporter runs as another user.
    func writeMetrics(to path: String) async throws(MetricsFileError) {
        let text = await metricsText()
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MetricsFileError(path: temporary, errno: errno) }
        _ = fchmod(fd, 0o644)
        guard writeFully(fd, text) else {
            let error = MetricsFileError(path: temporary, errno: errno)
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = MetricsFileError(path: path, errno: errno)
            unlink(temporary)
            throw error
        }
    }

    // MARK: - check

    func check(_ params: CheckParams) async throws(JSONRPCError) -> CheckReport {
        let deadline = try params.deadlineTime()
        let datasets = try params.selectedDatasets()
        let now = localNow()
        var checks: [CheckItem] = []

        var ledger: LedgerFreshness?
        let fix = "(check the server and GALAXY_DATABASE_URL)"
        switch statusSource.databaseReachable ? await readLedger(today: now.date) : .failure(nil) {
        case .success(let freshness):
            ledger = freshness
            cached.withLock { $0 = freshness }
            checks.append(CheckItem(name: "database", status: .ok, detail: "database ok"))
        case .failure(let problem):
            let reason = problem.map { ": \($0)" } ?? ": galaxyd cannot reach PostgreSQL"
            checks.append(CheckItem(
                name: "database", status: .critical, detail: "database unreachable\(reason) \(fix)"))
        case nil:
            // Connected, but the read is stuck behind other work or the server is slow: worth a look, not a page.
            checks.append(CheckItem(
                name: "database", status: .warning,
                detail: "the ledger did not answer within \(Self.checkTimeout) (a slow or busy database) \(fix)"))
        }
        checks.append(leaderItem())
        if let breaker = statusSource.openBreaker {
            checks.append(CheckItem(
                name: "breaker", status: .warning,
                detail: "breaker open until \(Timestamps.rfc3339(breaker.openUntil)) (\(breaker.reason)): no request "
                    + "to KRX before then"))
        } else {
            checks.append(CheckItem(name: "breaker", status: .ok, detail: "breaker closed"))
        }
        if !settings.problems.isEmpty {
            checks.append(CheckItem(
                name: "configuration", status: .warning, detail: settings.problems.joined(separator: "; ")))
        }

        let due = (ledger ?? LedgerFreshness()).due(at: now, deadline: deadline)
        var freshness: [DatasetFreshness] = []
        if let ledger {
            freshness = datasets.map {
                ledger.freshness(of: $0, source: settings.configuration.source(for: $0), due: due)
            }
            let behind = freshness.filter { $0.status != .ok }
            let worst = behind.map(\.status).max() ?? .ok
            let detail = behind.isEmpty
                ? "\(datasets.count)/\(datasets.count) datasets current through \(due.iso) (due by \(deadline) "
                    + "\(timeZone.identifier))"
                : behind.map(\.detail).joined(separator: "; ")
            checks.insert(CheckItem(name: "data", status: worst, detail: detail), at: 0)
        } else {
            checks.insert(
                CheckItem(name: "data", status: .unknown, detail: "cannot read the ledger, so freshness is unknown"),
                at: 0)
        }

        let status = checks.map(\.status).max() ?? .ok
        let summary = status == .ok
            ? checks.map(\.detail).joined(separator: "; ")
            : checks.filter { $0.status != .ok }.map(\.detail).joined(separator: "; ")
        return CheckReport(
            status: status, summary: summary, checkedAt: Timestamps.rfc3339(scheduler.now),
            deadline: deadline.description, timeZone: timeZone.identifier, due: due.iso, checks: checks,
            datasets: freshness)
    }

    private func leaderItem() -> CheckItem {
        if statusSource.isLeader() {
            return CheckItem(name: "leader", status: .ok, detail: "this galaxyd leads")
        }
        if statusSource.databaseReachable, let holder = statusSource.leadership.holder {
            return CheckItem(name: "leader", status: .ok, detail: "leader: \(holder)")
        }
        return CheckItem(
            name: "leader", status: .critical,
            detail: "no galaxyd is known to hold the scheduler lock: nothing runs the daily schedule")
    }

    private enum LedgerRead: Sendable {
        case success(LedgerFreshness)
        /// The database's error, or nil when galaxyd already knows it cannot reach it.
        case failure(String?)
    }

    /// The read in flight: a check or refresh that comes while one waits on the database joins it, so reads that
    /// a slow database holds up do not pile up on its one connection.
    private let inflight = SharedTask<LedgerRead>()

    /// The ledger's freshness now, or why not; nil when it did not answer within ``checkTimeout`` (a monitoring
    /// system's own timeout is typically 10 s; an answer that says "the database is slow" beats none).
    private func readLedger(today: TradeDate) async -> LedgerRead? {
        let store = statusSource.store
        let read = inflight.join { () -> LedgerRead in
            do {
                return .success(try await store.freshness(of: Dataset.dailyOrder, today: today))
            } catch {
                return .failure("\(error)")
            }
        }
        return await read.task.value(within: Self.checkTimeout)
    }
}

/// `GALAXY_METRICS_FILE` cannot be written.
struct MetricsFileError: Error, CustomStringConvertible, Sendable {
    var path: String
    var errno: Int32

    var description: String {
        "cannot write \(path): \(String(cString: strerror(errno)))"
    }
}
