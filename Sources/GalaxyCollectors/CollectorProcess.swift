import Foundation
import GalaxySystemd

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

    /// Logs to stderr in the form journald understands (priority prefixes under `JOURNAL_STREAM`).
    public static func bootstrapLogging(label: String) {
        JournalLogHandler.bootstrap(label: label)
    }
}
