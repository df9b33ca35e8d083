import GalaxyCore

/// How galaxyd supervises: where the collector is, the health deadlines, the retry policy.
///
/// The defaults suit production (a collector that says nothing for a minute is hung); tests shorten them.
public struct SupervisorSettings: Sendable {
    public var configuration: GalaxyConfiguration
    /// The `galaxy-collector` executable.
    public var collectorPath: String
    /// A directory only galaxyd writes: the children's notify socket and the shared rate-limit file live here.
    public var runtimeDirectory: String
    /// A child that has not sent `READY=1` by then is killed.
    public var readyTimeout: Duration = .seconds(30)
    /// A ready child that sends no `WATCHDOG=1` (or any other message) for this long is killed.
    public var heartbeatTimeout: Duration = .seconds(60)
    /// No task runs longer than this, whatever it says.
    public var maxRuntime: Duration = .seconds(6 * 3600)
    /// Between SIGTERM and SIGKILL.
    public var terminationGrace: Duration = .seconds(20)
    /// Attempts per task, the first included.
    public var maxAttempts: Int = 3
    /// The first retry waits this long, each later one twice as long (with jitter), at most `retryMaxDelay`.
    public var retryBaseDelay: Duration = .seconds(2)
    public var retryMaxDelay: Duration = .seconds(300)
    /// The daily run also collects the days of this many calendar days before its date that the ledger lacks.
    public var healDays: Int = 14
    /// How long the snapshot waits for the day's prices before it records why it did not run.
    public var snapshotPriceWait: Duration = .seconds(1800)
    /// How often a standby tries to become the leader.
    public var leaderRetryInterval: Duration = .seconds(5)
    /// A `GALAXY_ON_FAILURE` hook still running after this long is stopped (TERM, at most 5 s, KILL).
    public var hookTimeout: Duration = .seconds(30)
    public var version: String = GalaxyVersion.current
    /// What galaxyd found wrong at start that does not stop it (missing KRX credentials); shown by `status`.
    public var problems: [String] = []

    public init(configuration: GalaxyConfiguration, collectorPath: String, runtimeDirectory: String) {
        self.configuration = configuration
        self.collectorPath = collectorPath
        self.runtimeDirectory = runtimeDirectory
    }

    /// Where children send their notify datagrams.
    public var childNotifySocketPath: String { runtimeDirectory + "/children.notify" }
    /// The rate limiter's shared state: every child takes its request slots from here.
    public var rateFilePath: String { runtimeDirectory + "/source.rate" }
}

/// The version every executable reports.
public enum GalaxyVersion {
    public static let current = "1.0.0"
}
