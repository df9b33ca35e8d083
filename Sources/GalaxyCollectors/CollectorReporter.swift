import Foundation
import GalaxyCore
import GalaxySystemd
import Logging
import Synchronization

/// Reports a collector's life to its supervisor the way a service reports to systemd: `READY=1` once configuration
/// and database are ready, `STATUS=` plus `X_GALAXY_PROGRESS=` after each day (one datagram), and `WATCHDOG=1` from
/// a heartbeat thread while the collector works.
///
/// The heartbeat runs on its own thread because the day loop can legitimately sit for a long time in one call — the
/// rate limiter's sleep, a slow KRX answer with retries, a large COPY — and the supervisor must not take that for a
/// hang. It is gated on the loop's health all the same: the loop calls `touch()` at every step (before a fetch, after
/// it, after each write), and the heartbeat stops pinging once the loop has been silent for `stallLimit` — longer
/// than any legitimate step (four 60 s attempts with backoff, a long `Retry-After`) — so a wedged collector misses
/// its deadline and the supervisor kills it instead of waiting forever.
///
/// Without a notify socket every call is a no-op. Send failures are logged once and otherwise ignored, as
/// sd_notify(3) advises: losing the supervisor's ear must not fail the collection.
public final class CollectorReporter: Sendable {
    private let notifier: ServiceNotifier
    private let interval: Duration
    private let stallLimit: Duration
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var progress = CollectorProgress()
        var lastActivity = ContinuousClock.now
        var stalled = false
        var heartbeatStarted = false
        var stopped = false
        var warned = false
    }

    /// Heartbeat interval when the supervisor gave no `WATCHDOG_USEC`.
    public static let defaultHeartbeat: Duration = .seconds(5)
    /// How long the day loop may stay inside one step before the heartbeat stops vouching for it.
    public static let defaultStallLimit: Duration = .seconds(15 * 60)

    /// - Parameters:
    ///   - notifySocket: `NOTIFY_SOCKET` (taken from the environment at start); nil reports nothing.
    ///   - watchdogTimeout: `WATCHDOG_USEC`; pings go out every half of it (at most every `defaultHeartbeat`).
    ///   - stallLimit: silence of the day loop after which pings stop.
    public init(
        notifySocket: String?, watchdogTimeout: Duration?, stallLimit: Duration = defaultStallLimit, logger: Logger
    ) throws(NotifySocketError) {
        notifier = try ServiceNotifier(socket: notifySocket)
        var interval = Self.defaultHeartbeat
        if let watchdogTimeout, watchdogTimeout > .zero { interval = min(interval, watchdogTimeout / 2) }
        self.interval = interval
        self.stallLimit = stallLimit
        self.logger = logger
    }

    /// The day loop is alive and moving (called at every step).
    public func touch() {
        state.withLock { $0.lastActivity = .now }
    }

    public var isEnabled: Bool { notifier.isEnabled }

    /// The latest progress sent.
    public var progress: CollectorProgress { state.withLock { $0.progress } }

    /// `READY=1` with a first status line, and starts the heartbeat.
    public func ready(status: String, progress: CollectorProgress) {
        state.withLock { $0.progress = progress }
        send([.ready, .status(status), .custom(key: CollectorProgress.key, value: progress.value), .watchdog])
        startHeartbeat()
    }

    /// `STATUS=` and `X_GALAXY_PROGRESS=` in one datagram (after each day).
    public func report(status: String, progress: CollectorProgress) {
        state.withLock { state in
            state.progress = progress
            state.lastActivity = .now
        }
        send([.status(status), .custom(key: CollectorProgress.key, value: progress.value)])
    }

    /// `STOPPING=1` with the final status, and stops the heartbeat.
    public func finished(status: String, progress: CollectorProgress) {
        stopHeartbeat()
        send([.stopping, .status(status), .custom(key: CollectorProgress.key, value: progress.value)])
    }

    /// Stops the heartbeat thread (idempotent).
    public func stopHeartbeat() {
        state.withLock { $0.stopped = true }
    }

    private func startHeartbeat() {
        guard notifier.isEnabled else { return }
        let thread = Thread { [self] in heartbeatLoop() }
        thread.name = "galaxy-collector-heartbeat"
        let started = state.withLock { state -> Bool in
            guard !state.heartbeatStarted, !state.stopped else { return false }
            state.heartbeatStarted = true
            return true
        }
        if started { thread.start() }
    }

    private func heartbeatLoop() {
        let step: Duration = .milliseconds(50)
        var next = ContinuousClock.now + interval
        while !state.withLock({ $0.stopped }) {
            let now = ContinuousClock.now
            if now >= next {
                let (healthy, changed) = state.withLock { state -> (Bool, Bool) in
                    let healthy = now - state.lastActivity < stallLimit
                    defer { state.stalled = !healthy }
                    return (healthy, state.stalled == healthy)
                }
                if healthy {
                    send([.watchdog])
                } else if changed {
                    logger.error(
                        "the collector made no progress for too long; heartbeats stop so the supervisor can act",
                        metadata: ["limit": "\(stallLimit)"])
                }
                next = now + interval
            }
            Thread.sleep(forTimeInterval: Self.seconds(min(step, interval)))
        }
    }

    private func send(_ states: [NotifyState]) {
        do {
            try notifier.notify(states)
        } catch {
            let first = state.withLock { state -> Bool in
                defer { state.warned = true }
                return !state.warned
            }
            if first { logger.warning("cannot report to the supervisor", metadata: ["error": "\(error)"]) }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
