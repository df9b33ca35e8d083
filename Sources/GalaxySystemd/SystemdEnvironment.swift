internal import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket handed over by systemd (socket activation).
public struct ListenFileDescriptor: Sendable, Hashable {
    /// The descriptor number: 3, 4, … (`SD_LISTEN_FDS_START` upwards).
    public var fileDescriptor: Int32
    /// `FileDescriptorName=` of the socket unit; `unknown` when systemd sent no names.
    public var name: String

    public init(fileDescriptor: Int32, name: String) {
        self.fileDescriptor = fileDescriptor
        self.name = name
    }

    /// Whether the descriptor is a stream socket in the listening state — checked before adopting it, rather than
    /// trusting its position (`sd_is_socket`).
    public var isListeningStreamSocket: Bool {
        sd_is_socket(fileDescriptor, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0
    }
}

/// What systemd told this process through its environment, taken once at start.
///
/// `takeFromProcess()` reads and **unsets** `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`, `LISTEN_PID`,
/// `LISTEN_FDS`, `LISTEN_FDNAMES` and `LISTEN_PIDFDID`, so no child ever inherits them (a collector that saw
/// `NOTIFY_SOCKET` could change the daemon's state in systemd's eyes). Environment changes are not thread-safe:
/// call it first thing in `main`, before any event loop, task or logging backend starts a thread.
public struct SystemdEnvironment: Sendable, Hashable {
    /// The notify socket address (`/path` or `@abstract`), or nil when not started by systemd with `Type=notify`.
    public var notifySocket: String?
    /// The watchdog timeout (`WatchdogSec=`), or nil when the watchdog is off or meant for another process.
    public var watchdogTimeout: Duration?
    /// Sockets passed by socket activation, in the socket unit's order.
    public var listenFileDescriptors: [ListenFileDescriptor]
    /// Things that were wrong in the environment (logged by the caller once logging is up), e.g. a
    /// `LISTEN_FDNAMES` that does not match `LISTEN_FDS`.
    public var problems: [String]

    public init(
        notifySocket: String? = nil, watchdogTimeout: Duration? = nil,
        listenFileDescriptors: [ListenFileDescriptor] = [], problems: [String] = []
    ) {
        self.notifySocket = notifySocket
        self.watchdogTimeout = watchdogTimeout
        self.listenFileDescriptors = listenFileDescriptors
        self.problems = problems
    }

    /// The variables this type consumes; a child's environment must never contain them.
    public static let variableNames: [String] = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
        "LISTEN_PIDFDID",
    ]

    /// Reads systemd's variables with libsystemd (`sd_listen_fds_with_names`, `sd_watchdog_enabled`) and unsets them.
    public static func takeFromProcess() -> SystemdEnvironment {
        var result = SystemdEnvironment()

        if let value = getenv("NOTIFY_SOCKET") {
            let text = String(cString: value)
            if !text.isEmpty { result.notifySocket = text }
        }

        var usec: UInt64 = 0
        let watchdog = sd_watchdog_enabled(1, &usec)
        if watchdog > 0, usec > 0 {
            result.watchdogTimeout = .microseconds(Int64(clamping: usec))
        } else if watchdog < 0 {
            result.problems.append("WATCHDOG_USEC is not a positive number of microseconds; watchdog disabled")
        }

        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let count = sd_listen_fds_with_names(1, &names)
        if count > 0 {
            for index in 0..<Int(count) {
                var name = "unknown"
                if let names, let cName = names[index] { name = String(cString: cName) }
                result.listenFileDescriptors.append(
                    ListenFileDescriptor(fileDescriptor: SD_LISTEN_FDS_START + Int32(index), name: name))
            }
        } else if count < 0 {
            result.problems.append(
                "LISTEN_FDS/LISTEN_FDNAMES are inconsistent (\(String(cString: strerror(-count)))); "
                    + "ignoring socket activation")
        }
        if let names {
            var index = 0
            while let name = names[index] {
                free(name)
                index += 1
            }
            free(names)
        }

        for name in variableNames { unsetenv(name) }
        return result
    }

    /// The inherited socket named `name` (`FileDescriptorName=`), or the only one when there is exactly one.
    public func listenFileDescriptor(named name: String) -> ListenFileDescriptor? {
        if let match = listenFileDescriptors.first(where: { $0.name == name }) { return match }
        return listenFileDescriptors.count == 1 ? listenFileDescriptors[0] : nil
    }

    /// The watchdog for this process, or nil when systemd expects no pings.
    public var watchdog: WatchdogTimer? { watchdogTimeout.map(WatchdogTimer.init(timeout:)) }

    /// A copy of `environment` without systemd's variables, for building a child's environment.
    public static func removingSystemdVariables(from environment: [String: String]) -> [String: String] {
        environment.filter { !variableNames.contains($0.key) }
    }
}
