import Foundation
import GalaxySystemd
import Logging

/// What the supervisor (galaxyd, or systemd for a by-hand `systemd-run`) hands a collector process through its
/// environment, taken once at start so that the executable needs no systemd module of its own.
public struct SupervisorEnvironment: Sendable, Equatable {
    /// `NOTIFY_SOCKET`: where READY/STATUS/progress/WATCHDOG go.
    public var notifySocket: String?
    /// `WATCHDOG_USEC`: the heartbeat deadline.
    public var watchdogTimeout: Duration?
    /// Problems with the variables (logged once logging is up).
    public var problems: [String]

    public init(notifySocket: String? = nil, watchdogTimeout: Duration? = nil, problems: [String] = []) {
        self.notifySocket = notifySocket
        self.watchdogTimeout = watchdogTimeout
        self.problems = problems
    }

    /// Reads and unsets the sd_notify variables (call first thing in `main`, before any thread starts).
    public static func takeFromProcess() -> SupervisorEnvironment {
        let systemd = SystemdEnvironment.takeFromProcess()
        return SupervisorEnvironment(
            notifySocket: systemd.notifySocket, watchdogTimeout: systemd.watchdogTimeout, problems: systemd.problems)
    }

    /// Logs to stderr, one line per message, at `GALAXY_LOG_LEVEL` (default info). With sd-daemon priority prefixes
    /// (`<3>` …) under systemd (`JOURNAL_STREAM`) or when galaxyd asks for them (`GALAXY_LOG_FORMAT=journal`: it reads
    /// the child's lines and forwards them with their priority); `GALAXY_LOG_FORMAT=plain` forces plain lines.
    public static func bootstrapLogging(
        label: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        let level = environment["GALAXY_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let journal: Bool? =
            switch environment["GALAXY_LOG_FORMAT"] {
            case "journal": true
            case "plain": false
            default: nil
            }
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level, journal: journal) }
    }
}
