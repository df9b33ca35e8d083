import ArgumentParser
import Foundation
import GalaxyCollectors
import GalaxyCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

// systemd's and galaxyd's variables first, before any thread exists (they are unset so nothing inherits them).
let supervisorEnvironment = SupervisorEnvironment.takeFromProcess()

/// `galaxy-collector`: runs ONE collector for one date or range, then exits with a status the supervisor acts on.
struct GalaxyCollector: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "galaxy-collector",
        abstract: "Collect one KRX dataset (or the portfolio snapshot) for a date or a date range into PostgreSQL.",
        discussion: """
            JOB is one of: \(CollectorJob.allNames.joined(separator: ", ")).

            Days:
              --date D         collect D unconditionally; with --heal N also
                               every day of the N calendar days before D whose
                               ledger row is missing, failed or pending.
              --from A --to B  collect the days of A…B the ledger has not
                               settled (missing, failed or pending); days
                               collected or no_session are not fetched again.
                               --only-failed: only failed days. --force: all.
            Range runs from the portal learn closed days with one trading-day
            calendar request per year and record them no_session unfetched.
            A day whose rows carry no price is no_session; one the calendar
            (that index, or the ledger of the other datasets) contradicts is
            failed with both sides. An Open API day is published the morning
            after: today is left for the next run, and a weekday without
            prices within 5 days of publication is pending (fetched again).
            The masters (stock, etf) are today's lists: stored once, under D
            (or B). snapshot --date D values every portfolio at the latest
            close on or before D (needs price settled for D).

            Configuration: the environment (GALAXY_DATABASE_URL, GALAXY_SOURCE,
            GALAXY_SOURCE_<DATASET>, GALAXY_PORTAL_URL, GALAXY_OPENAPI_URL,
            GALAXY_RATE, KRX_ID, KRX_PW, KRX_AUTH_KEY or the files krx-id,
            krx-pw, krx-auth-key in $CREDENTIALS_DIRECTORY, GALAXY_LOG_LEVEL,
            GALAXY_LOG_FORMAT=journal|plain); the flags below override it.
            galaxyd also sets GALAXY_RATE_FILE, GALAXY_SESSION_FILE and
            GALAXY_OPENAPI_QUOTA_FILE: its collectors share one rate budget,
            one member session and one Open API quota.

            With NOTIFY_SOCKET set it reports like a systemd service: READY=1,
            then STATUS= with X_GALAXY_PROGRESS=done/failed/total/rows/requests
            after each day, and WATCHDOG=1 while working (every WATCHDOG_USEC/2,
            at most every 5 s). SIGTERM: the day being written is committed,
            the day being fetched is abandoned; nothing is half-written.

            Exit status:
              0   every requested day is collected, no_session or pending
              1   some days failed (in the ledger with their reason), the
                  snapshot's prices are not collected yet, or cancelled with
                  days left
              64  usage error (bad arguments)
              69  source blocked: the circuit breaker is open (a KRX block
                  page); no request was or will be sent
              70  internal error
              75  temporary failure: database unreachable, Open API quota
                  spent, LOGOUT right after a fresh login, or (--supervised)
                  stdin closed
              77  authentication failed (wrong credentials or AUTH_KEY, KRX
                  password change due: CD010)
              78  bad configuration (a variable's value, missing credentials,
                  a dataset the source does not publish)
            """)

    @Argument(help: "What to collect: \(CollectorJob.allNames.joined(separator: "|")).")
    var job: String

    @Option(help: "The trade date (YYYY-MM-DD or YYYYMMDD).")
    var date: String?

    @Option(help: "First day of a range.")
    var from: String?

    @Option(help: "Last day of a range.")
    var to: String?

    @Option(help: "With --date: also heal missing or failed days among the N calendar days before it.")
    var heal: Int = 0

    @Flag(help: "With --from/--to: only days whose ledger status is failed.")
    var onlyFailed = false

    @Flag(help: "With --from/--to: fetch every day of the range, settled or not.")
    var force = false

    @Flag(help: "Exit (status 75) as soon as stdin reaches EOF: the supervisor holding its write end died.")
    var supervised = false

    @Flag(help: "Apply the database migrations first (runs by hand, benchmarks; galaxyd migrates at start).")
    var migrate = false

    @Option(help: "Overrides GALAXY_DATABASE_URL.")
    var databaseURL: String?

    @Option(help: "Overrides GALAXY_SOURCE (portal or openapi) for this run.")
    var source: String?

    @Option(help: "Overrides GALAXY_RATE (requests per second; 0 = unlimited).")
    var rate: String?

    @Option(help: "Overrides GALAXY_PORTAL_URL.")
    var portalURL: String?

    @Option(help: "Overrides GALAXY_OPENAPI_URL.")
    var openapiURL: String?

    func validate() throws {
        guard CollectorJob(rawValue: job) != nil else {
            throw ValidationError("'\(job)' is not a job; use one of \(CollectorJob.allNames.joined(separator: ", "))")
        }
        _ = try daySelection()
    }

    func collectorRequest() throws -> CollectorRequest {
        guard let job = CollectorJob(rawValue: job) else { throw ValidationError("unknown job '\(self.job)'") }
        return CollectorRequest(job: job, days: try daySelection())
    }

    func daySelection() throws -> DaySelection {
        func parse(_ text: String, _ name: String) throws -> TradeDate {
            guard let date = TradeDate(text) else {
                throw ValidationError("--\(name) '\(text)' is not a date; use YYYY-MM-DD")
            }
            return date
        }
        guard heal >= 0, heal <= 3660 else { throw ValidationError("--heal must be a number of days from 0 to 3660") }
        if onlyFailed && force { throw ValidationError("--only-failed and --force exclude each other") }
        switch (date, from, to) {
        case (let date?, nil, nil):
            if onlyFailed || force { throw ValidationError("--only-failed and --force go with --from/--to") }
            return .date(try parse(date, "date"), heal: heal)
        case (nil, let from?, let to?):
            if heal > 0 { throw ValidationError("--heal goes with --date") }
            if CollectorJob(rawValue: job) == .snapshot { throw ValidationError("snapshot takes --date") }
            let start = try parse(from, "from")
            let end = try parse(to, "to")
            guard let range = DateRange(start, end) else {
                throw ValidationError("--from \(start.iso) is after --to \(end.iso)")
            }
            return .range(range, mode: onlyFailed ? .onlyFailed : force ? .all : .unsettled)
        default:
            throw ValidationError("give either --date D or both --from A and --to B")
        }
    }

    /// The process environment with the flags' overrides applied.
    func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let overrides: [(String, String?)] = [
            ("GALAXY_DATABASE_URL", databaseURL), ("GALAXY_SOURCE", source), ("GALAXY_RATE", rate),
            ("GALAXY_PORTAL_URL", portalURL), ("GALAXY_OPENAPI_URL", openapiURL),
        ]
        for (name, value) in overrides { if let value { environment[name] = value } }
        return environment
    }
}

/// Writes one line to stderr (unbuffered).
func complain(_ line: String) {
    FileHandle.standardError.write(Array("galaxy-collector: \(line)\n".utf8).withUnsafeBufferPointer { Data($0) })
}

let command: GalaxyCollector
do {
    command = try GalaxyCollector.parse()
} catch {
    GalaxyCollector.exit(withError: error)  // --help exits 0; usage errors exit 64 (EX_USAGE)
}

SupervisorEnvironment.bootstrapLogging(label: "galaxy-collector")
let logger = Logger(label: "galaxy-collector")
for problem in supervisorEnvironment.problems { logger.warning("\(problem)") }

let configuration: GalaxyConfiguration
let request: CollectorRequest
do {
    request = try command.collectorRequest()
    configuration = try GalaxyConfiguration(environment: command.environment())
} catch let error as ConfigurationError {
    complain("bad configuration: \(error)")
    exit(CollectorExitCode.configuration.rawValue)
} catch {
    complain("\(error)")
    exit(CollectorExitCode.usage.rawValue)
}

let reporter: CollectorReporter
do {
    reporter = try CollectorReporter(
        notifySocket: supervisorEnvironment.notifySocket, watchdogTimeout: supervisorEnvironment.watchdogTimeout,
        logger: logger)
} catch {
    complain("bad configuration: NOTIFY_SOCKET: \(error)")
    exit(CollectorExitCode.configuration.rawValue)
}

let control = CollectorControl()
let signalSources = ProcessWatch.onTermination { signalNumber in
    // Outside a write the process may end now: the day being fetched is abandoned, nothing half-written.
    // Inside one, the run commits that day and stops before the next (the loop sees the cancellation).
    guard let outcome = control.requestCancellation() else {
        logger.notice("termination requested: finishing the day being written, then stopping")
        return
    }
    reporter.finished(status: "cancelled (signal \(signalNumber)): \(outcome.message)", progress: outcome.progress)
    complain("cancelled by signal \(signalNumber): \(outcome.message)")
    _exit(outcome.exitCode.rawValue)
}
if command.supervised {
    ProcessWatch.watchStandardInput {
        complain("stdin closed: the supervisor is gone; exiting")
        _exit(CollectorExitCode.temporaryFailure.rawValue)
    }
}

let run = CollectorRun(
    request: request, configuration: configuration, reporter: reporter, control: control, logger: logger,
    migrate: command.migrate)
let outcome = run.run()
if outcome.exitCode != .success { complain(outcome.message) }
withExtendedLifetime(signalSources) {}
exit(outcome.exitCode.rawValue)
