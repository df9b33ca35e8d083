import GalaxyCore

/// How a collector run ended: the exit status the supervisor acts on, the progress it last saw, and one line for
/// humans (stderr, `STATUS=`, the job's error column).
public struct CollectorOutcome: Sendable, Equatable, CustomStringConvertible {
    public var exitCode: CollectorExitCode
    public var progress: CollectorProgress
    public var message: String
    /// The days that failed, with their reasons (also in the ledger's `last_error`).
    public var failures: [DayFailure]
    /// Wall-clock seconds spent fetching (rate limiter, HTTP, retries, parsing) and storing (transactions).
    public var fetchSeconds: Double = 0
    public var storeSeconds: Double = 0
    /// Of the run's time, how long the writer waited for the prefetch thread's next day: near 0 when storing is the
    /// slower half (fetching is hidden behind it), near `fetchSeconds` when fetching is.
    public var fetchWaitSeconds: Double = 0

    public struct DayFailure: Sendable, Equatable {
        public var date: TradeDate
        public var reason: String

        public init(date: TradeDate, reason: String) {
            self.date = date
            self.reason = reason
        }
    }

    public init(
        exitCode: CollectorExitCode, progress: CollectorProgress = CollectorProgress(), message: String,
        failures: [DayFailure] = []
    ) {
        self.exitCode = exitCode
        self.progress = progress
        self.message = message
        self.failures = failures
    }

    public var description: String { "\(exitCode.rawValue) (\(exitCode)): \(message)" }
}
