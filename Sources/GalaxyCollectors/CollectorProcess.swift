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

    /// Logs at `GALAXY_LOG_LEVEL` (default info): structured entries straight to the journal when stderr is the
    /// journal or galaxyd asks for it (`GALAXY_LOG_FORMAT=native`, then tagged with galaxyd's `GALAXY_RUN_ID` and
    /// `GALAXY_TASK_ID`); lines with sd-daemon priority prefixes when galaxyd reads and forwards them
    /// (`GALAXY_LOG_FORMAT=journal`); plain lines otherwise (see ``JournalLogHandler/Format/detect(environment:)``).
    public static func bootstrapLogging(
        label: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        let level = environment["GALAXY_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let format = JournalLogHandler.Format.detect(environment: environment)
        var tags: Logger.Metadata = [:]
        if format == .native {
            if let run = environment["GALAXY_RUN_ID"] { tags["run"] = "\(run)" }
            if let task = environment["GALAXY_TASK_ID"] { tags["task"] = "\(task)" }
        }
        LoggingSystem.bootstrap { [tags] label in
            var handler = JournalLogHandler(label: label, level: level, format: format)
            handler.metadata = tags
            return handler
        }
    }
}
