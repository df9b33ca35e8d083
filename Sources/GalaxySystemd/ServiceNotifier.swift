#if canImport(Glibc)
import Glibc
#endif

/// One assignment of the sd_notify protocol.
public enum NotifyState: Sendable, Hashable {
    /// Start-up finished (`READY=1`). Send it only when the service really is ready (migrations done, listening).
    case ready
    /// Shutdown began (`STOPPING=1`).
    case stopping
    /// Watchdog keep-alive (`WATCHDOG=1`).
    case watchdog
    /// A one-line status for `systemctl status` (`STATUS=`); newlines and control characters become spaces and it
    /// is cut to `NotifyState.maxStatusBytes`.
    case status(String)
    /// More time for the current state (`EXTEND_TIMEOUT_USEC=`), e.g. during long migrations.
    case extendTimeout(Duration)
    /// A reload began (`RELOADING=1` with `MONOTONIC_USEC=`, which systemd ≥ 253 requires in the same datagram).
    case reloading
    /// A failure cause (`ERRNO=`).
    case errno(Int32)
    /// A private assignment; systemd ignores unknown keys, and by convention private ones start with `X_`
    /// (galaxy's children send `X_PROGRESS=`).
    case custom(key: String, value: String)

    /// Longest `STATUS=` text sent (systemd reads at most 4096 bytes per datagram; a status line is a summary).
    public static let maxStatusBytes = 200

    var assignments: [String] {
        switch self {
        case .ready: return ["READY=1"]
        case .stopping: return ["STOPPING=1"]
        case .watchdog: return ["WATCHDOG=1"]
        case .status(let text): return ["STATUS=" + Self.oneLine(text, maxBytes: Self.maxStatusBytes)]
        case .extendTimeout(let duration): return ["EXTEND_TIMEOUT_USEC=\(Self.microseconds(duration))"]
        case .reloading:
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let usec = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
            return ["RELOADING=1", "MONOTONIC_USEC=\(usec)"]
        case .errno(let code): return ["ERRNO=\(code)"]
        case .custom(let key, let value): return ["\(key)=" + Self.oneLine(value, maxBytes: 1024)]
        }
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// `text` on one line (control characters → spaces), at most `maxBytes` UTF-8 bytes, cut at a character boundary
    /// with `…` when shortened.
    static func oneLine(_ text: String, maxBytes: Int) -> String {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            cleaned.append(scalar.properties.generalCategory == .control ? " " : scalar)
        }
        let line = String(cleaned)
        guard line.utf8.count > maxBytes else { return line }
        let ellipsis = "…"
        var result = ""
        var used = 0
        for character in line {
            let size = character.utf8.count
            if used + size + ellipsis.utf8.count > maxBytes { break }
            result.append(character)
            used += size
        }
        return result + ellipsis
    }
}

/// Sends sd_notify messages to the socket systemd (or galaxyd, for its children) gave this process.
///
/// Hand-written instead of `sd_notify(3)`: libsystemd reads `$NOTIFY_SOCKET` on every call, but galaxy unsets that
/// variable at start so children cannot inherit it; this sender keeps the address it was given. Sends never block:
/// a full receive queue drops the message (and `send` reports it) rather than stalling the caller's loop.
public final class ServiceNotifier: Sendable {
    /// Where messages go; nil when the process was not started with a notify socket (then every send is a no-op).
    public let address: NotifySocketAddress?
    private let fileDescriptor: Int32

    /// - Parameter socket: `NOTIFY_SOCKET` as read by `SystemdEnvironment.takeFromProcess()`; nil for a no-op
    ///   notifier.
    /// - Throws: `NotifySocketError` when `socket` is set but not a usable `/path` or `@name`.
    public init(socket: String?) throws(NotifySocketError) {
        guard let socket else {
            address = nil
            fileDescriptor = -1
            return
        }
        guard let parsed = NotifySocketAddress(socket) else {
            throw NotifySocketError("NOTIFY_SOCKET '\(socket)' is not an absolute path or @abstract name")
        }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("cannot create a datagram socket for NOTIFY_SOCKET") }
        address = parsed
        fileDescriptor = fd
    }

    deinit {
        if fileDescriptor >= 0 { close(fileDescriptor) }
    }

    /// Whether messages go anywhere.
    public var isEnabled: Bool { address != nil }

    /// Sends `states` as one datagram (`KEY=VALUE` lines).
    ///
    /// - Returns: false when there is no notify socket.
    /// - Throws: `NotifySocketError` when the datagram could not be sent (no listener, queue full, …); callers
    ///   usually log and carry on, as sd_notify(3) advises.
    @discardableResult
    public func notify(_ states: [NotifyState]) throws(NotifySocketError) -> Bool {
        guard let address else { return false }
        let payload = Array(states.flatMap(\.assignments).joined(separator: "\n").utf8)
        let sent = payload.withUnsafeBytes { bytes in
            address.withSockaddr { sockaddr, length in
                sendto(fileDescriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sockaddr,
                       length)
            }
        }
        guard sent == payload.count else { throw .system("cannot send to NOTIFY_SOCKET \(address)") }
        return true
    }

    @discardableResult
    public func notify(_ state: NotifyState) throws(NotifySocketError) -> Bool { try notify([state]) }

    /// `READY=1`, with a first status line.
    public func ready(status: String? = nil) throws(NotifySocketError) {
        try notify([.ready] + (status.map { [.status($0)] } ?? []))
    }

    public func status(_ text: String) throws(NotifySocketError) { try notify(.status(text)) }
    public func stopping(status: String? = nil) throws(NotifySocketError) {
        try notify([.stopping] + (status.map { [.status($0)] } ?? []))
    }
    public func watchdog() throws(NotifySocketError) { try notify(.watchdog) }
    public func extendTimeout(by duration: Duration) throws(NotifySocketError) { try notify(.extendTimeout(duration)) }
}
