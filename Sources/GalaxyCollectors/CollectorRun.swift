import Foundation
import GalaxyCore
import GalaxyKRX
import GalaxyPostgres
import Logging

/// Builds the KRX client for a dataset. The default is `KRXSources.make` (configuration, `GALAXY_RATE`,
/// `GALAXY_RATE_FILE`); tests inject clients with short retry delays or a simulator's "today".
public typealias KRXSourceFactory =
    @Sendable (Dataset, GalaxyConfiguration, any CircuitBreakerStore, Logger) throws -> any KRXSource

/// One `galaxy-collector` run: fetch → parse → store, one day at a time, each day's rows and ledger row through the
/// foundation's idempotent write path (`DayWriter`), with progress to the supervisor and an honest exit status.
///
/// A plain synchronous loop on the calling thread: libpq and libcurl block, and this process does nothing else. A
/// range's days are fetched one step ahead on a dedicated thread (`DayPrefetcher`), so fetching day N+1 overlaps
/// storing day N; days are still fetched, stored and recorded in date order.
/// Order of a run: open the database (exit 75 if unreachable) → `READY=1` → check the source's credentials (78) and
/// persisted circuit breaker (69) → plan the days from the ledger (`STATUS=` with the day count) → per day: fetch,
/// then (unless cancelled) write the day in one transaction and report `STATUS=`/`X_GALAXY_PROGRESS=` →
/// `STOPPING=1`.
///
/// Each fetched day is weighed against the calendar (`DayVerdict`): `collected`, `no_session`, `pending` (an answer
/// without prices that may be premature) or `failed` (calendar and source disagree). Days the source has not
/// published yet (the Open API's today) are not fetched and get no ledger row: the next daily run collects them.
/// Errors that concern one day (a malformed answer, a 5xx that outlasted the retries) fail that day — recorded
/// `failed` with the reason — and the run goes on. Errors that would recur on every request stop
/// the run after recording the current day: a block page (69), refused credentials (77), a spent Open API quota or a
/// lost database (75).
public final class CollectorRun {
    public let request: CollectorRequest
    public let configuration: GalaxyConfiguration
    public let control: CollectorControl
    private let reporter: CollectorReporter?
    private let makeSource: KRXSourceFactory
    private let migrate: Bool
    private var logger: Logger
    private var fetchSeconds = 0.0
    private var storeSeconds = 0.0
    private var fetchWaitSeconds = 0.0

    /// - Parameters:
    ///   - reporter: where READY/STATUS/progress/WATCHDOG go; nil reports nothing.
    ///   - control: shared with the signal handler (cancellation) of the executable.
    ///   - migrate: apply the schema migrations first (by-hand runs and benchmarks; galaxyd migrates at start).
    ///   - makeSource: builds the KRX client; defaults to `KRXSources.make` with the process environment.
    public init(
        request: CollectorRequest, configuration: GalaxyConfiguration, reporter: CollectorReporter? = nil,
        control: CollectorControl = CollectorControl(), logger: Logger, migrate: Bool = false,
        makeSource: KRXSourceFactory? = nil
    ) {
        self.request = request
        self.configuration = configuration
        self.reporter = reporter
        self.control = control
        self.migrate = migrate
        self.makeSource = makeSource ?? Self.defaultSource
        var logger = logger
        logger[metadataKey: "collector"] = "\(request.job.rawValue)"
        logger[metadataKey: "days"] = "\(request.days)"
        self.logger = logger
    }

    /// The default client: `GalaxyKRX.KRXSources.make` with this process's environment.
    public static let defaultSource: KRXSourceFactory = { dataset, configuration, store, logger in
        try KRXSources.make(for: dataset, configuration: configuration, breakerStore: store, logger: logger)
    }

    /// Runs to the end (or to cancellation) and returns the outcome; never throws.
    public func run() -> CollectorOutcome {
        let outcome: CollectorOutcome
        do {
            outcome = try runThrowing()
        } catch let failure as CollectorFailure {
            outcome = failure.outcome(progress: control.progress)
        } catch {
            outcome = CollectorOutcome(
                exitCode: .internalError, progress: control.progress, message: "unexpected error: \(error)")
        }
        var timed = outcome
        timed.fetchSeconds = fetchSeconds
        timed.storeSeconds = storeSeconds
        timed.fetchWaitSeconds = fetchWaitSeconds
        reporter?.finished(status: Self.statusLine(timed), progress: timed.progress)
        let level: Logger.Level = timed.exitCode == .success ? .info : .error
        logger.log(
            level: level, "collector finished",
            metadata: ["outcome": "\(timed)", "fetchSeconds": "\(Self.format(fetchSeconds))",
                       "storeSeconds": "\(Self.format(storeSeconds))",
                       "fetchWaitSeconds": "\(Self.format(fetchWaitSeconds))"])
        return timed
    }

    private func runThrowing() throws -> CollectorOutcome {
        let connection = try openDatabase()
        defer { connection.close() }
        if migrate {
            do {
                try Migrator().migrate(connection)
            } catch {
                throw CollectorFailure(.temporaryFailure, "cannot migrate the database: \(error)")
            }
        }
        // Configuration read, database open: the supervisor may now count on heartbeats and progress.
        reporter?.ready(status: "\(request): starting", progress: control.progress)
        switch request.job {
        case .snapshot:
            return try runSnapshot(connection)
        case .dataset(let dataset):
            return try collect(dataset, connection)
        }
    }

    // MARK: - Datasets

    private func collect(_ dataset: Dataset, _ connection: Connection) throws -> CollectorOutcome {
        let kind = configuration.source(for: dataset)
        try checkCredentials(for: kind, dataset: dataset)
        let breakerStore = PostgresBreakerStore(connection: try openDatabase())
        defer { breakerStore.close() }
        let breaker: BreakerState?
        do {
            breaker = try breakerStore.load(source: kind.rawValue)
        } catch {
            throw CollectorFailure(.temporaryFailure, "cannot read the circuit breaker: \(error)")
        }
        if let breaker, breaker.isOpen(at: Date()) {
            let error = KRXError.blocked(until: breaker.openUntil, reason: breaker.reason)
            throw CollectorFailure(.sourceBlocked, error.description)
        }

        var days: [TradeDate]
        var calendar = SessionCalendar(portal: nil, ledger: [:])
        do {
            let ledger = Ledger(connection)
            days = try DayPlanner(ledger: ledger).days(for: dataset, request.days)
            if !dataset.isMaster, !days.isEmpty {
                calendar.ledger = try ledger.sessionEvidence(
                    of: SessionCalendar.witnesses(for: dataset), in: DateRange(days.first!, days.last!)!)
            }
        } catch {
            throw CollectorFailure(.temporaryFailure, "cannot read the ledger: \(error)")
        }
        var label = "\(dataset.rawValue) \(request.days)"
        control.start(label: label, daysTotal: days.count)
        guard !days.isEmpty else {
            logger.info("collecting", metadata: ["source": "\(kind.rawValue)", "daysToFetch": "0"])
            return control.outcome()
        }

        let source: any KRXSource
        do {
            source = try makeSource(dataset, configuration, breakerStore, logger)
        } catch let error as KRXError {
            throw CollectorFailure(Self.exitCode(for: error) ?? .configuration, error.description)
        } catch {
            throw CollectorFailure(.internalError, "cannot create the KRX client: \(error)")
        }
        guard source.datasets.contains(dataset) else {
            throw CollectorFailure(.configuration, KRXError.unsupported(dataset: dataset, source: kind).description)
        }
        control.countRequestErrors { source.requestErrors }
        // Best effort; a cancelled run does not wait for a request still in flight on the prefetch thread.
        defer { (source as? KRXPortalClient)?.logout(waitingAtMost: control.isCancelled ? 0.1 : 2) }

        // A day the source has not published yet (the Open API's today) is no request and no ledger row: the next
        // daily run's healing collects it.
        let unpublished = days.filter { source.publication(of: $0) == .notYet }
        if !unpublished.isEmpty {
            days.removeAll { unpublished.contains($0) }
            label += " (\(unpublished.map(\.iso).joined(separator: ", ")) not published yet: left for the next run)"
            control.start(label: label, daysTotal: days.count)
        }
        reporter?.report(status: "\(label): \(days.count) days to collect from \(kind.rawValue)",
                        progress: control.progress)
        logger.info("collecting", metadata: ["source": "\(kind.rawValue)", "daysToFetch": "\(days.count)",
                                             "notPublishedYet": "\(unpublished.count)"])

        calendar.portal = try portalSessions(dataset, days, source: source)
        let closed = calendar.portal?.closed ?? []
        let writer = DayWriter(connection)
        // A range is fetched one day ahead of the writer, on a thread of its own; a single day is fetched here.
        let toFetch = days.filter { !closed.contains($0) }
        // The progress counts the requests of the settled days, not those already made for the days ahead.
        var requests = source.requestsSent
        let prefetcher: DayPrefetcher?
        if toFetch.count > 1 {
            let control = control
            let reporter = reporter
            prefetcher = DayPrefetcher(
                days: toFetch, isCancelled: { control.isCancelled }, isFinal: { Self.stopCode(for: $0) != nil },
                requestCount: { source.requestsSent },
                fetch: { date in
                    reporter?.touch()
                    defer { reporter?.touch() }
                    return try source.fetch(dataset, on: date)
                })
            prefetcher?.start()
        } else {
            prefetcher = nil
        }
        defer { prefetcher?.stop() }
        for date in days {
            if control.isCancelled { break }
            if closed.contains(date) {
                if recordClosed(dataset, date, requests: requests, writer: writer) == .stop { break }
                continue
            }
            let result: Result<DayFetch, any Error>
            if let prefetcher {
                let waitStarted = ContinuousClock.now
                let next = prefetcher.next()
                fetchWaitSeconds += Self.seconds(ContinuousClock.now - waitStarted)
                guard let fetched = next else { break }  // cancelled, or the run already stopped
                assert(fetched.date == date, "the prefetcher hands days over in order")
                fetchSeconds += fetched.seconds
                result = fetched.result
                requests = fetched.requests
            } else {
                reporter?.touch()
                let fetchStarted = ContinuousClock.now
                result = Result { try source.fetch(dataset, on: date) }
                fetchSeconds += Self.seconds(ContinuousClock.now - fetchStarted)
                fetchWaitSeconds += Self.seconds(ContinuousClock.now - fetchStarted)
                requests = source.requestsSent
                reporter?.touch()
            }
            let judged = result.map { fetched in
                DayVerdict.judge(
                    fetched, on: date, calendar: calendar.verdict(on: date), publication: source.publication(of: date))
            }
            if collectDay(dataset, date, judged, requests: requests, writer: writer) == .stop { break }
        }
        prefetcher?.stop(waitingAtMost: control.isCancelled ? .milliseconds(100) : .seconds(2))
        control.setRequests(source.requestsSent)
        return control.outcome()
    }

    private enum Next { case proceed, stop }

    /// Stores one judged day (or records its fetch error); returns whether the run goes on.
    private func collectDay(
        _ dataset: Dataset, _ date: TradeDate, _ attempt: Result<DayVerdict, any Error>, requests: Int,
        writer: DayWriter
    ) -> Next {
        var logger = logger
        logger[metadataKey: "date"] = "\(date.iso)"
        let verdict: DayVerdict
        do {
            verdict = try attempt.get()
        } catch {
            let stopCode = Self.stopCode(for: error)
            // A database that went away while checking the breaker cannot record anything either.
            if stopCode == .temporaryFailure, error is PostgresError {
                control.stop(.temporaryFailure, "database unreachable: \(error)")
                return .stop
            }
            let reason = "\(error)"
            let recorded = record(.failed, dataset, date, rows: nil, error: reason, writer: writer, logger: logger)
            guard case .stored = recorded else { return .stop }
            reportFailed(dataset, date, reason, requests: requests, logger: logger)
            if let stopCode {
                control.stop(stopCode, reason)
                return .stop
            }
            return .proceed
        }

        let rows: DayRows?
        let status: DayStatus
        let note: String?
        switch verdict {
        case .collected(let dayRows): (rows, status, note) = (dayRows, .collected, nil)
        case .noSession(let text): (rows, status, note) = (nil, .noSession, text)
        case .pending(let reason): (rows, status, note) = (nil, .pending, reason)
        case .failed(let reason): (rows, status, note) = (nil, .failed, reason)
        }
        switch record(status, dataset, date, rows: rows, error: note, writer: writer, logger: logger) {
        case .stored:
            break
        case .stop:
            return .stop
        case .refused(let reason):
            reportFailed(dataset, date, reason, requests: requests, logger: logger, level: .error,
                         "day failed to store")
            return .proceed
        }
        if status == .failed, let note {
            reportFailed(dataset, date, note, requests: requests, logger: logger)
            return .proceed
        }
        let count = rows?.count ?? 0
        let progress = control.recordSettled(rows: count, requests: requests)
        let what = switch status {
        case .collected: "collected \(count) rows"
        case .pending: "pending: \(note ?? "")"
        default: "no session"
        }
        var metadata: Logger.Metadata = ["status": "\(status.rawValue)", "rows": "\(count)"]
        if let note { metadata["note"] = "\(note)" }
        logger.log(level: status == .pending ? .notice : .info, "day stored", metadata: metadata)
        reporter?.report(status: "\(dataset.rawValue) \(date.iso): \(what) (\(progress))", progress: progress)
        return .proceed
    }

    /// Counts a failed day in the run's progress, logs it and tells the supervisor (`STATUS=`).
    private func reportFailed(
        _ dataset: Dataset, _ date: TradeDate, _ reason: String, requests: Int, logger: Logger,
        level: Logger.Level = .warning, _ message: Logger.Message = "day failed"
    ) {
        let progress = control.recordFailed(.init(date: date, reason: reason), requests: requests)
        logger.log(level: level, message, metadata: ["reason": "\(reason)"])
        reporter?.report(status: "\(dataset.rawValue) \(date.iso): failed: \(reason)", progress: progress)
    }

    /// For a range run of a per-day dataset from the portal: what the source's trading calendar says about the days
    /// (one request per year instead of one per closed day): closed days are recorded without a request, and the
    /// sessions are weighed against each day's answer. Nil when the source offers no calendar, for `--date` runs
    /// (the day itself is always fetched), and when the calendar fails for a reason that only concerns it.
    private func portalSessions(_ dataset: Dataset, _ days: [TradeDate], source: any KRXSource) throws
        -> PortalSessions?
    {
        guard case .range = request.days, !dataset.isMaster, source.kind == .portal, days.count > 1,
            let calendar = source as? any TradingDaysSource
        else { return nil }
        do {
            return try ClosedDayFinder(calendar: calendar).sessions(among: days)
        } catch let error as KRXError {
            if let code = Self.exitCode(for: error) { throw CollectorFailure(code, error.description) }
            logger.warning("trading-day calendar failed; fetching every day", metadata: ["error": "\(error)"])
        } catch {
            logger.warning("trading-day calendar failed; fetching every day", metadata: ["error": "\(error)"])
        }
        return nil
    }

    /// Records a day the calendar says was closed: `no_session`, no rows, no request.
    private func recordClosed(_ dataset: Dataset, _ date: TradeDate, requests: Int, writer: DayWriter) -> Next {
        guard case .stored = record(.noSession, dataset, date, rows: nil, error: nil, writer: writer, logger: logger)
        else { return .stop }
        let progress = control.recordSettled(rows: 0, requests: requests)
        reporter?.report(status: "\(dataset.rawValue) \(date.iso): no session (\(progress))", progress: progress)
        return .proceed
    }

    private enum Recorded { case stored, refused(String), stop }

    /// Writes one day's outcome in one transaction. `.stop` when the run must end: cancelled before the write began
    /// (the fetched day is abandoned) or the database failed (exit 75). A write refused for the day's own data
    /// (duplicate tickers, a constraint) is recorded as that day's failure instead: `.refused(reason)`.
    private func record(
        _ status: DayStatus, _ dataset: Dataset, _ date: TradeDate, rows: DayRows?, error: String?,
        writer: DayWriter, logger: Logger
    ) -> Recorded {
        guard control.beginWrite() else {
            logger.notice("cancelled: the fetched day is not written")
            return .stop
        }
        let started = ContinuousClock.now
        defer {
            control.endWrite()
            storeSeconds += Self.seconds(ContinuousClock.now - started)
        }
        do {
            try writer.storeDay(dataset: dataset, date: date, status: status, rows: rows, error: error)
            return .stored
        } catch let failure as PostgresError where status != .failed && !Self.isConnectionProblem(failure) {
            let reason = "the database refused the day's rows: \(failure)"
            do {
                try writer.storeFailed(dataset, date: date, error: reason)
            } catch {
                control.stop(.temporaryFailure, "database error: \(error)")
                return .stop
            }
            return .refused(reason)
        } catch {
            control.stop(.temporaryFailure, "database error: \(error)")
            return .stop
        }
    }

    // MARK: - Snapshot

    private func runSnapshot(_ connection: Connection) throws -> CollectorOutcome {
        let date = request.days.lastDay
        control.start(label: "snapshot \(date.iso)", daysTotal: 1)
        reporter?.report(status: "snapshot \(date.iso): valuing portfolios", progress: control.progress)
        let result: PortfolioSnapshotter.Result
        do {
            result = try PortfolioSnapshotter(connection: connection).snapshot(on: date)
        } catch let error as PostgresError {
            throw CollectorFailure(
                Self.isConnectionProblem(error) ? .temporaryFailure : .internalError, "snapshot failed: \(error)")
        }
        switch result {
        case .pricesMissing:
            throw CollectorFailure(.partialFailure, "prices for \(date.iso) are not collected yet")
        case .stored(let portfolios):
            let progress = control.recordSettled(rows: portfolios, requests: 0)
            reporter?.report(status: "snapshot \(date.iso): \(portfolios) portfolios valued", progress: progress)
            return control.outcome()
        }
    }

    // MARK: - Helpers

    private func openDatabase() throws -> Connection {
        do {
            return try Connection(url: configuration.databaseURL)
        } catch {
            throw CollectorFailure(.temporaryFailure, "database unreachable: \(error)")
        }
    }

    private func checkCredentials(for kind: SourceKind, dataset: Dataset) throws {
        let credentials = configuration.credentials
        switch kind {
        case .openapi:
            if credentials.authKey == nil {
                throw CollectorFailure(
                    .configuration, KRXError.missingCredentials(variable: "KRX_AUTH_KEY").description)
            }
        case .portal:
            if credentials.memberID != nil, credentials.memberPassword == nil {
                throw CollectorFailure(.configuration, KRXError.missingCredentials(variable: "KRX_PW").description)
            }
            if credentials.memberID == nil, credentials.memberPassword != nil {
                throw CollectorFailure(.configuration, KRXError.missingCredentials(variable: "KRX_ID").description)
            }
        }
    }

    /// The exit code an error forces, or nil when it only fails the day.
    static func stopCode(for error: any Error) -> CollectorExitCode? {
        if let error = error as? KRXError { return exitCode(for: error) }
        if let error = error as? PostgresError, isConnectionProblem(error) { return .temporaryFailure }
        return nil
    }

    /// KRX errors that would recur on every further request stop the run, with `KRXError.exitCode`; the others
    /// only fail their day.
    static func exitCode(for error: KRXError) -> CollectorExitCode? {
        switch error {
        case .blocked, .passwordChangeRequired, .authenticationFailed, .loggedOut, .missingCredentials, .unsupported,
            .quotaExhausted:
            error.exitCode
        case .unexpectedResponse, .transport, .http, .notYetPublished:
            nil
        }
    }

    static func isConnectionProblem(_ error: PostgresError) -> Bool {
        error.kind == .connection || error.kind == .connectionLost
    }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f", seconds) }

    static func statusLine(_ outcome: CollectorOutcome) -> String {
        outcome.exitCode == .success
            ? "done: \(outcome.message)" : "exit \(outcome.exitCode.rawValue): \(outcome.message)"
    }
}

/// A reason to end the run with a given exit code.
struct CollectorFailure: Error {
    let code: CollectorExitCode
    let message: String

    init(_ code: CollectorExitCode, _ message: String) {
        self.code = code
        self.message = message
    }

    func outcome(progress: CollectorProgress) -> CollectorOutcome {
        CollectorOutcome(exitCode: code, progress: progress, message: message)
    }
}
