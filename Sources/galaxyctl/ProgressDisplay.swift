import GalaxyRPC
import Synchronization

/// Shows a followed run's progress: one updating line on a terminal, plain lines for logs and pipes.
final class ProgressDisplay: Sendable {
    enum Mode: Sendable {
        /// `\r`-redrawn line with a bar, rate and ETA.
        case terminal
        /// A line when the progress changed, at most every `plainInterval`.
        case plain
        /// Nothing but the final summary (`--json`).
        case silent
    }

    let mode: Mode
    /// Fewest seconds between two plain lines (a change of state is printed at once).
    let plainInterval: Duration
    private let state = Mutex(State())

    private struct State {
        var lineShown = false
        var lastPlain: (key: String, state: String, at: ContinuousClock.Instant)?
    }

    init(mode: Mode, plainInterval: Duration = .seconds(5)) {
        self.mode = mode
        self.plainInterval = plainInterval
    }

    func update(_ run: RunStatus) {
        switch mode {
        case .silent:
            return
        case .terminal:
            let line = Self.terminalLine(run, columns: Console.columns)
            state.withLock { state in
                Console.write(1, "\r\u{1B}[K" + line)
                state.lineShown = true
            }
        case .plain:
            let progress = run.progress
            let key = "\(progress.daysDone)/\(progress.daysFailed)/\(progress.daysTotal)/\(progress.rows)"
            let now = ContinuousClock.now
            let print: Bool = state.withLock { state in
                if let last = state.lastPlain {
                    if last.state == run.state && (last.key == key || now - last.at < plainInterval) { return false }
                }
                state.lastPlain = (key, run.state, now)
                return true
            }
            if print, !run.isFinished { Console.out(Self.plainLine(run)) }
        }
    }

    func unreachable(_ failure: CtlFailure) {
        guard mode != .silent else { return }
        clearLine()
        Console.err("waiting for galaxyd: \(failure.message)")
    }

    /// The summary: one line, then the failed tasks.
    func finish(_ run: RunStatus) {
        clearLine()
        let lines = Self.summary(run)
        if mode == .silent {
            lines.forEach(Console.err)
        } else {
            lines.forEach(Console.out)
        }
    }

    private func clearLine() {
        state.withLock { state in
            if state.lineShown { Console.write(1, "\r\u{1B}[K") }
            state.lineShown = false
        }
    }

    // MARK: - Lines

    static func title(_ run: RunStatus) -> String {
        let params = StatusView.params(run.params)
        return "run \(run.id) \(run.kind)" + (params.isEmpty ? "" : " (\(params))")
    }

    static func terminalLine(_ run: RunStatus, columns: Int) -> String {
        let progress = run.progress
        var details = "\(progress.daysDone)/\(progress.daysTotal) days"
        if progress.daysFailed > 0 { details += "  \(progress.daysFailed) failed" }
        details += "  \(Format.count(progress.rows)) rows  \(Format.rate(progress.requestsPerSecond)) req/s"
        if let eta = progress.etaSeconds { details += "  ETA \(Format.duration(eta))" }
        if run.state != "running" { details += "  \(run.state)" }
        let head = "run \(run.id) \(run.kind) "
        let room = columns - 1 - head.count - details.count - 3
        var line = head
        if room >= 10 {
            let width = min(40, room)
            let filled = progress.daysTotal > 0 ? min(width, width * progress.daysDone / progress.daysTotal) : 0
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        }
        line += details
        return line.count > columns - 1 ? String(line.prefix(max(0, columns - 1))) : line
    }

    static func plainLine(_ run: RunStatus) -> String {
        let progress = run.progress
        var line =
            "\(title(run)) \(run.state): \(StatusView.progress(progress)), \(Format.count(progress.rows)) rows, "
            + "\(Format.rate(progress.requestsPerSecond)) req/s"
        if let eta = progress.etaSeconds { line += ", ETA \(Format.duration(eta))" }
        return line
    }

    static func summary(_ run: RunStatus) -> [String] {
        let progress = run.progress
        var took = ""
        if let start = run.startedAt.flatMap(Format.parseTime), let end = run.finishedAt.flatMap(Format.parseTime) {
            took = " in \(Format.duration(end.timeIntervalSince(start)))"
        }
        let lines = [
            "\(title(run)) \(run.state)\(took): \(StatusView.outcome(run)); \(Format.count(progress.rows)) rows, "
                + "\(Format.count(progress.requests)) requests"
        ]
        return lines + StatusView.problems(run).map { "  " + $0 }
    }
}
