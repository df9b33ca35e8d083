import GalaxyCore
import Synchronization

/// The part of a running collector that other threads may touch: cancellation (SIGTERM), and the progress so far,
/// from which the exit status of an interrupted run is computed.
///
/// Cancellation never cuts a day in half. `requestCancellation()` either finds the collector outside a write — then
/// no write may start any more and the caller may end the process at once (an unfinished fetch is simply abandoned)
/// — or inside one, and then the collector commits that day and stops before the next.
public final class CollectorControl: Sendable {
    private let state = Mutex(State())

    struct State {
        var writing = false
        var cancelled = false
        var progress = CollectorProgress()
        var failures: [CollectorOutcome.DayFailure] = []
        /// A reason to stop early that decides the exit code (breaker open, authentication refused, …).
        var stop: (code: CollectorExitCode, message: String)?
        var label = ""
        /// Whether the days to do are known; before that, a cancelled run has done nothing it was asked to.
        var planned = false
        /// The source's failed request attempts by kind, read whenever the progress changes.
        var requestErrors: @Sendable () -> [RequestErrorKind: Int] = { [:] }

        /// The source's request counts as they stand now.
        mutating func count(requests: Int) {
            progress.requests = requests
            progress.requestErrors = requestErrors()
        }
    }

    public init() {}

    /// Whether cancellation was requested.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// The progress so far.
    public var progress: CollectorProgress { state.withLock { $0.progress } }

    /// Asks the run to stop. Returns the outcome to exit with when nothing is being written (no write will begin
    /// after this call); nil when a day's transaction is in flight (the run stops after committing it).
    public func requestCancellation() -> CollectorOutcome? {
        state.withLock { state in
            state.cancelled = true
            return state.writing ? nil : Self.outcome(state, cancelled: true)
        }
    }

    /// Marks the start of a day's write; false when the run was cancelled (the fetched day is abandoned).
    func beginWrite() -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.writing = true
            return true
        }
    }

    func endWrite() { state.withLock { $0.writing = false } }

    func start(label: String, daysTotal: Int) {
        state.withLock { state in
            state.label = label
            state.progress.daysTotal = daysTotal
            state.planned = true
        }
    }

    /// Where the progress reads the failed request attempts from (the source, once it exists).
    func countRequestErrors(from source: @escaping @Sendable () -> [RequestErrorKind: Int]) {
        state.withLock { $0.requestErrors = source }
    }

    func recordSettled(rows: Int, requests: Int) -> CollectorProgress {
        state.withLock { state in
            state.progress.daysDone += 1
            state.progress.rows += rows
            state.count(requests: requests)
            return state.progress
        }
    }

    func recordFailed(_ failure: CollectorOutcome.DayFailure, requests: Int) -> CollectorProgress {
        state.withLock { state in
            state.progress.daysFailed += 1
            state.count(requests: requests)
            state.failures.append(failure)
            return state.progress
        }
    }

    func stop(_ code: CollectorExitCode, _ message: String) {
        state.withLock { state in
            if state.stop == nil { state.stop = (code, message) }
        }
    }

    func setRequests(_ requests: Int) { state.withLock { $0.count(requests: requests) } }

    /// The outcome of the run as it stands.
    func outcome() -> CollectorOutcome { state.withLock { Self.outcome($0, cancelled: $0.cancelled) } }

    private static func outcome(_ state: State, cancelled: Bool) -> CollectorOutcome {
        let progress = state.progress
        let undone = progress.daysTotal - progress.daysDone - progress.daysFailed
        let summary = state.planned ? "\(state.label): \(progress)" : "not started"
        if let stop = state.stop {
            return CollectorOutcome(
                exitCode: stop.code, progress: progress, message: "\(summary); stopped: \(stop.message)",
                failures: state.failures)
        }
        if cancelled && !state.planned {
            return CollectorOutcome(
                exitCode: .partialFailure, progress: progress, message: "cancelled before the days were planned",
                failures: state.failures)
        }
        if cancelled && undone > 0 {
            return CollectorOutcome(
                exitCode: .partialFailure, progress: progress,
                message: "\(summary); cancelled with \(undone) days not collected", failures: state.failures)
        }
        if progress.daysFailed > 0 {
            let first = state.failures.first.map { "; first: \($0.date.iso): \($0.reason)" } ?? ""
            return CollectorOutcome(
                exitCode: .partialFailure, progress: progress,
                message: "\(summary); \(progress.daysFailed) days failed\(first)", failures: state.failures)
        }
        return CollectorOutcome(exitCode: .success, progress: progress, message: summary, failures: state.failures)
    }
}
