/// When to send `WATCHDOG=1`: every half of `WatchdogSec=`, as sd_watchdog_enabled(3) recommends.
///
/// It only keeps time; it does not ping by itself. The supervisor asks `isDue(at:)` from its own loop and pings only
/// when that loop is healthy — a timer task that pinged unconditionally would keep a wedged daemon alive.
public struct WatchdogTimer: Sendable, Hashable {
    /// `WatchdogSec=`: systemd kills the service if no ping arrives within this time.
    public let timeout: Duration
    /// How often to ping: half the timeout.
    public let pingInterval: Duration
    private var lastPing: ContinuousClock.Instant?

    public init(timeout: Duration) {
        self.timeout = timeout
        self.pingInterval = timeout / 2
        self.lastPing = nil
    }

    /// Whether a ping is due (none sent yet, or the last one is at least `pingInterval` old).
    public func isDue(at now: ContinuousClock.Instant = .now) -> Bool {
        guard let lastPing else { return true }
        return now - lastPing >= pingInterval
    }

    /// When the next ping is due.
    public func nextPing(after now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant {
        guard let lastPing else { return now }
        return lastPing + pingInterval
    }

    /// Records that a ping was sent.
    public mutating func recordPing(at now: ContinuousClock.Instant = .now) {
        lastPing = now
    }
}
