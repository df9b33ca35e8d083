import GalaxyCore
import GalaxySystemd

/// One unit of supervised work: one collector over one date range.
public struct CollectorTask: Sendable, Hashable, CustomStringConvertible {
    public enum Mode: Sendable, Hashable {
        /// `--date D --heal N`: D unconditionally, plus the missing days of the N days before it (the daily run).
        case daily(heal: Int)
        /// `--from A --to B`: every day of the range the ledger lacks (backfill chunks).
        case range
        /// `--from A --to B --only-failed`.
        case onlyFailed
    }

    public var job: CollectorJob
    public var range: DateRange
    public var mode: Mode

    public init(job: CollectorJob, range: DateRange, mode: Mode) {
        self.job = job
        self.range = range
        self.mode = mode
    }

    /// The collector's command line. Never carries a secret.
    public var arguments: [String] {
        var arguments = [job.rawValue]
        switch mode {
        case .daily(let heal):
            arguments += ["--date", range.end.iso]
            if heal > 0 { arguments += ["--heal", String(heal)] }
        case .range:
            arguments += ["--from", range.start.iso, "--to", range.end.iso]
        case .onlyFailed:
            arguments += ["--from", range.start.iso, "--to", range.end.iso, "--only-failed"]
        }
        return arguments + ["--supervised"]
    }

    public var description: String { "\(job) \(range)" }
}

/// Builds a child's exact environment from the daemon's configuration: the variables of DESIGN §8 the collector
/// needs, the notify socket and heartbeat interval, and nothing else the daemon happened to inherit.
struct CollectorLauncher: Sendable {
    let settings: SupervisorSettings
    /// The daemon's environment, for the few variables passed through as they are (credentials, PG*).
    let inherited: [String: String]

    static let passedThrough = [
        "GALAXY_DATABASE_URL", "GALAXY_SOURCE", "GALAXY_PORTAL_URL", "GALAXY_OPENAPI_URL", "GALAXY_RATE", "GALAXY_TZ",
        "KRX_ID", "KRX_PW", "KRX_AUTH_KEY", "CREDENTIALS_DIRECTORY", "GALAXY_LOG_LEVEL",
        "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSSLMODE", "PGAPPNAME",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "TZ", "LANG", "HOME", "LIBDISPATCH_LOG",
    ]

    /// Whether galaxyd's own stderr is the journal: its collectors then write their entries there themselves, with
    /// their own fields (a trade date per day), tagged with the run and task.
    var childrenLogToJournal: Bool { JournalStream.isJournal(environment: inherited) }

    func spec(for task: CollectorTask, runID: Int64, taskID: Int64) -> ChildSpec {
        var environment: [String: String] = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        for name in Self.passedThrough {
            if let value = inherited[name] { environment[name] = value }
        }
        for (name, value) in inherited where name.hasPrefix("GALAXY_SOURCE_") { environment[name] = value }
        environment["NOTIFY_SOCKET"] = settings.childNotifySocketPath
        // Ask for a heartbeat well inside the deadline: sd_watchdog semantics, pings at half the interval.
        environment["WATCHDOG_USEC"] = String(settings.heartbeatTimeout.microseconds)
        // Shared by all children: the request budget, the portal's one member session, the Open API's daily quota.
        environment["GALAXY_RATE_FILE"] = settings.rateFilePath
        environment["GALAXY_SESSION_FILE"] = settings.runtimeDirectory + "/portal.session"
        environment["GALAXY_OPENAPI_QUOTA_FILE"] = settings.runtimeDirectory + "/openapi.quota"
        if childrenLogToJournal {
            environment["GALAXY_LOG_FORMAT"] = "native"
            environment["GALAXY_RUN_ID"] = String(runID)
            environment["GALAXY_TASK_ID"] = String(taskID)
        } else {
            // Lines come to us; the journal format carries each line's priority through.
            environment["GALAXY_LOG_FORMAT"] = "journal"
        }
        // When the service's cgroup runs out of memory the OOM killer takes a collector (one task, retried or
        // failed), never galaxyd (every run): 1000 makes a collector its first choice, galaxyd keeps the unit's -100.
        return ChildSpec(
            executable: settings.collectorPath, arguments: task.arguments, environment: environment,
            oomScoreAdjustment: 1000)
    }
}

extension Duration {
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
