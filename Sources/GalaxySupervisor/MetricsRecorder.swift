import FoundationEssentials
import GalaxyCore
import Synchronization

/// What galaxyd counts as its runs, tasks and collectors come and go: the counters and histograms of `metrics`.
///
/// Counters live in memory and start from zero when galaxyd starts, as Prometheus counters may (`rate()` and
/// `increase()` handle the reset); what must survive a restart — which days are held — is read from the ledger
/// instead. Collectors report requests, rows and failed attempts as running totals of their own process; the engine
/// hands the recorder the growth since the last report, so a crashed attempt's work still counts.
final class MetricsRecorder: Sendable {
    /// Why a collector child was stopped by galaxyd, or died of a signal.
    enum KillReason: String, CaseIterable, Sendable {
        /// A signal galaxyd did not send: a crash, the OOM killer, an operator's kill.
        case signal
        /// galaxyd stopped it: no READY in time.
        case readyTimeout = "ready_timeout"
        /// galaxyd stopped it: no heartbeat in time.
        case heartbeatTimeout = "heartbeat_timeout"
        /// galaxyd stopped it: it ran past the maximum runtime.
        case runtimeLimit = "runtime_limit"
        /// galaxyd stopped it for a cancel, a shutdown or fencing.
        case stopped
    }

    static let runKinds = ["daily", "backfill", "snapshot"]
    static let runOutcomes = ["succeeded", "partial", "failed", "cancelled", "interrupted"]
    static let taskOutcomes = ["succeeded", "failed", "cancelled", "interrupted"]

    private struct State {
        var runs: [Pair: Int] = [:]
        var runSeconds: [String: Histogram] = [:]
        var tasks: [Pair: Int] = [:]
        var taskSeconds: [String: Histogram] = [:]
        var retries: [String: Int] = [:]
        var kills: [KillReason: Int] = [:]
        var peakRSSBytes: [String: Int] = [:]
        var requests: [String: Int] = [:]
        var requestErrors: [Pair: Int] = [:]
        var rows: [String: Int] = [:]
        /// Requests reported in the last ``rateWindow``, for the achieved rate.
        var recentRequests: [(at: ContinuousClock.Instant, count: Int)] = []
    }

    /// Two label values.
    private struct Pair: Hashable {
        var first: String
        var second: String
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now
    /// The sources galaxyd's collectors use, so their series exist (at zero) before the first request.
    let sources: [String]
    static let rateWindow: Duration = .seconds(60)

    init(sources: [String]) {
        self.sources = Array(Set(sources)).sorted()
    }

    func runEnded(kind: String, outcome: String, duration: Duration) {
        state.withLock { state in
            state.runs[Pair(first: kind, second: outcome), default: 0] += 1
            state.runSeconds[kind, default: Histogram(bounds: Histogram.runSeconds)].observe(duration.seconds)
        }
    }

    /// A task ended; `duration` is nil when no attempt started (cancelled while it waited for a slot).
    func taskEnded(collector: String, outcome: String, duration: Duration?) {
        state.withLock { state in
            state.tasks[Pair(first: collector, second: outcome), default: 0] += 1
            guard let duration else { return }
            state.taskSeconds[collector, default: Histogram(bounds: Histogram.taskSeconds)].observe(duration.seconds)
        }
    }

    func taskRetried(collector: String) {
        state.withLock { $0.retries[collector, default: 0] += 1 }
    }

    /// A collector child ended: how, and how much memory it took at most.
    func childEnded(collector: String, killed: KillReason?, peakRSSKiB: Int?) {
        state.withLock { state in
            if let killed { state.kills[killed, default: 0] += 1 }
            if let peakRSSKiB {
                state.peakRSSBytes[collector] = max(state.peakRSSBytes[collector] ?? 0, peakRSSKiB * 1024)
            }
        }
    }

    /// A collector's report grew from `previous` to `current` (one attempt's running totals).
    func progressed(
        collector: String, source: String?, from previous: CollectorProgress, to current: CollectorProgress
    ) {
        let rows = max(0, current.rows - previous.rows)
        let requests = max(0, current.requests - previous.requests)
        state.withLock { state in
            if rows > 0 { state.rows[collector, default: 0] += rows }
            guard let source else { return }
            if requests > 0 {
                state.requests[source, default: 0] += requests
                state.recentRequests.append((.now, requests))
            }
            for (kind, count) in current.requestErrors {
                let grown = count - (previous.requestErrors[kind] ?? 0)
                if grown > 0 { state.requestErrors[Pair(first: source, second: kind.rawValue), default: 0] += grown }
            }
        }
    }

    /// Requests per second over the last minute (over the uptime while galaxyd is younger than that).
    func achievedRequestRate(now: ContinuousClock.Instant = .now) -> Double {
        let window = min(Self.rateWindow, now - started)
        guard window > .zero else { return 0 }
        let count = state.withLock { state -> Int in
            state.recentRequests.removeAll { now - $0.at > Self.rateWindow }
            return state.recentRequests.reduce(0) { $0 + $1.count }
        }
        return Double(count) / window.seconds
    }

    /// Writes the counters and histograms (the gauges are the caller's: they come from elsewhere).
    func render(into out: inout PrometheusText, collectors: [String]) {
        let rate = achievedRequestRate()
        let state = state.withLock { $0 }

        out.family("galaxy_runs_total", .counter, help: "Runs that ended, by kind and outcome.")
        for kind in Self.runKinds {
            for outcome in Self.runOutcomes {
                out.sample("galaxy_runs_total", [("kind", kind), ("outcome", outcome)],
                           Double(state.runs[Pair(first: kind, second: outcome)] ?? 0))
            }
        }
        out.family("galaxy_run_duration_seconds", .histogram, help: "How long runs took, from start to end, by kind.")
        for kind in Self.runKinds {
            out.histogram("galaxy_run_duration_seconds", [("kind", kind)],
                          state.runSeconds[kind] ?? Histogram(bounds: Histogram.runSeconds))
        }
        out.family("galaxy_tasks_total", .counter, help: "Collector tasks that ended, by collector and outcome.")
        for collector in collectors {
            for outcome in Self.taskOutcomes {
                out.sample("galaxy_tasks_total", [("collector", collector), ("outcome", outcome)],
                           Double(state.tasks[Pair(first: collector, second: outcome)] ?? 0))
            }
        }
        out.family(
            "galaxy_task_duration_seconds", .histogram,
            help: "How long collector tasks took, from their first attempt's start to their end, retries included.")
        for collector in collectors {
            out.histogram("galaxy_task_duration_seconds", [("collector", collector)],
                          state.taskSeconds[collector] ?? Histogram(bounds: Histogram.taskSeconds))
        }
        out.family("galaxy_task_retries_total", .counter, help: "Attempts of collector tasks after the first.")
        for collector in collectors {
            out.sample("galaxy_task_retries_total", [("collector", collector)], Double(state.retries[collector] ?? 0))
        }
        out.family(
            "galaxy_children_killed_total", .counter,
            help: "Collector children galaxyd stopped (TERM, then KILL after the grace period) for a missed deadline "
                + "or a cancel, shutdown or fencing, and those killed by a signal galaxyd did not send.")
        for reason in KillReason.allCases {
            out.sample("galaxy_children_killed_total", [("reason", reason.rawValue)], Double(state.kills[reason] ?? 0))
        }
        out.family(
            "galaxy_collector_peak_rss_bytes", .gauge,
            help: "The largest peak resident set size of a finished collector child since galaxyd started.")
        for collector in collectors.filter({ state.peakRSSBytes[$0] != nil }) {
            out.sample("galaxy_collector_peak_rss_bytes", [("collector", collector)],
                       Double(state.peakRSSBytes[collector] ?? 0))
        }
        out.family(
            "galaxy_krx_requests_total", .counter, help: "HTTP requests sent to KRX (every attempt and login step).")
        for source in sources {
            out.sample("galaxy_krx_requests_total", [("source", source)], Double(state.requests[source] ?? 0))
        }
        out.family(
            "galaxy_krx_request_errors_total", .counter,
            help: "Request attempts to KRX that did not yield a usable answer, by kind (retried ones included).")
        for source in sources {
            for kind in RequestErrorKind.allCases {
                out.sample("galaxy_krx_request_errors_total", [("source", source), ("kind", kind.rawValue)],
                           Double(state.requestErrors[Pair(first: source, second: kind.rawValue)] ?? 0))
            }
        }
        out.family(
            "galaxy_krx_achieved_request_rate", .gauge,
            help: "Requests per second to KRX over the last minute, all collectors together (compare with "
                + "galaxy_krx_request_rate_limit).")
        out.sample("galaxy_krx_achieved_request_rate", [], (rate * 1000).rounded() / 1000)
        out.family("galaxy_rows_stored_total", .counter, help: "Rows collectors stored, by collector.")
        for collector in collectors {
            out.sample("galaxy_rows_stored_total", [("collector", collector)], Double(state.rows[collector] ?? 0))
        }
    }
}
