import Foundation
import GalaxyCore
import GalaxyRPC

/// `galaxyctl status` for people: compact sections, one screen for a healthy daemon.
struct StatusView {
    var report: StatusReport
    /// How many recent runs to list.
    var runLimit = 10
    var now = Date()

    func render() -> [String] {
        var lines = daemonLines()
        lines.append("")
        lines += scheduleLines()
        lines.append("")
        lines += childrenLines()
        lines.append("")
        lines += runLines()
        lines.append("")
        lines += sourceLines()
        return lines
    }

    func daemonLines() -> [String] {
        let daemon = report.daemon
        let role = daemon.leader ? "leader" : "standby (another galaxyd runs the jobs)"
        var lines = [
            "galaxyd \(daemon.version)  pid \(daemon.pid)  up \(Format.duration(daemon.uptimeSeconds))  "
                + "\(daemon.ready ? "ready" : "NOT READY")  \(role)  database \(daemon.database)",
            "  socket \(daemon.socket)",
        ]
        if let leaderName = daemon.leaderName { lines.append("  leader \(leaderName)") }
        if let fenced = daemon.fenced { lines.append("  fenced \(fenced)") }
        for problem in daemon.problems { lines.append("  problem: \(problem)") }
        return lines
    }

    func scheduleLines() -> [String] {
        guard !report.schedule.isEmpty else { return ["schedule: none"] }
        let zones = Set(report.schedule.map(\.timeZone))
        let rows = report.schedule.map { entry in
            let zone = TimeZone(identifier: entry.timeZone) ?? .current
            return [
                entry.job, entry.cron, "next " + Format.time(entry.nextFire, in: zone),
                "last " + Format.time(entry.lastFire, in: zone) + (entry.lastRunId.map { " (run \($0))" } ?? ""),
            ]
        }
        let heading = zones.count == 1 ? "schedule (\(zones.first!) time)" : "schedule"
        return [heading] + Format.table(rows)
    }

    func childrenLines() -> [String] {
        guard !report.children.isEmpty else { return ["children: none running"] }
        var rows = [
            ["RUN", "TASK", "COLLECTOR", "RANGE", "PID", "STATE", "RUNTIME", "HEARTBEAT", "RESTARTS", "STATUS"]
        ]
        for child in report.children {
            rows.append([
                String(child.runId), String(child.taskId), child.collector,
                Self.range(child.rangeStart, child.rangeEnd), String(child.pid), child.state,
                Format.duration(child.runtimeSeconds), Format.ago(child.lastHeartbeat, now: now),
                String(child.restarts),
                child.status ?? "",
            ])
        }
        return ["children (\(report.children.count))"] + Format.table(rows)
    }

    func runLines() -> [String] {
        guard !report.runs.isEmpty else { return ["runs: none yet"] }
        let runs = report.runs.sorted { $0.id > $1.id }.prefix(runLimit)
        var lines = ["runs" + (report.runs.count > runLimit ? " (latest \(runLimit) of \(report.runs.count))" : "")]
        var rows = [["RUN", "KIND", "STATE", "PROGRESS", "ROWS", "STARTED", "TOOK/ETA", "PARAMS"]]
        var notes: [Int: [String]] = [:]
        for (index, run) in runs.enumerated() {
            rows.append([
                String(run.id), run.kind, run.state, Self.outcome(run), Format.count(run.progress.rows),
                Format.time(run.startedAt ?? run.createdAt), timing(run), Self.params(run.params),
            ])
            var extra: [String] = []
            extra += Self.problems(run).map { "    " + $0 }
            if !extra.isEmpty { notes[index + 1] = extra }
        }
        let table = Format.table(rows)
        for (index, line) in table.enumerated() {
            lines.append(line)
            lines += notes[index] ?? []
        }
        return lines
    }

    func sourceLines() -> [String] {
        let source = report.source
        var line = "source \(source.kind)  rate \(source.rate == 0 ? "unlimited" : Format.rate(source.rate) + " req/s")"
        if source.breaker.state == "open" {
            line += "  breaker OPEN until \(Format.time(source.breaker.openUntil))"
            if let reason = source.breaker.reason { line += ": \(reason)" }
        } else {
            line += "  breaker \(source.breaker.state)"
        }
        return [line]
    }

    /// The tasks of one run, for `status --run N`.
    static func taskLines(_ run: RunStatus) -> [String] {
        guard !run.tasks.isEmpty else { return ["  no tasks"] }
        var rows = [["TASK", "COLLECTOR", "RANGE", "STATE", "ATTEMPTS", "ROWS", "RUNTIME", "EXIT", "ERROR"]]
        for task in run.tasks {
            rows.append([
                String(task.id), task.collector, range(task.rangeStart, task.rangeEnd), task.state,
                String(task.attempts), Format.count(task.rows), task.runtimeSeconds.map(Format.duration) ?? "–",
                exit(task), task.error ?? "",
            ])
        }
        return Format.table(rows)
    }

    /// A finished run's days as the ledger has them (`240 collected, 3 failed, 2 no session`), else its progress.
    static func outcome(_ run: RunStatus) -> String {
        guard run.isFinished, let days = run.days else { return progress(run.progress) }
        let parts = [
            (days.collected, "collected"), (days.failed, "failed"), (days.pending, "pending"),
            (days.noSession, "no session"), (days.alreadyHeld, "already held"), (days.notFetched, "not fetched"),
        ].filter { $0.0 > 0 }.map { "\(Format.count($0.0)) \($0.1)" }
        return parts.isEmpty ? "no days" : parts.joined(separator: ", ")
    }

    static func progress(_ progress: RunProgress) -> String {
        var text =
            "\(progress.daysDone)/\(progress.daysTotal) days (\(Format.percent(progress.daysDone, of: progress.daysTotal)))"
        if progress.daysFailed > 0 { text += ", \(progress.daysFailed) failed" }
        return text
    }

    func timing(_ run: RunStatus) -> String {
        if run.isFinished {
            guard let start = run.startedAt.flatMap(Format.parseTime),
                let end = run.finishedAt.flatMap(Format.parseTime)
            else { return "–" }
            return Format.duration(end.timeIntervalSince(start))
        }
        return run.progress.etaSeconds.map { "ETA " + Format.duration($0) } ?? "–"
    }

    static func range(_ start: String, _ end: String) -> String { start == end ? start : "\(start)…\(end)" }

    static func params(_ params: JSONValue) -> String {
        guard case .object(let members) = params, !members.isEmpty else { return "" }
        return members.keys.sorted().map { key in
            let value = members[key]!
            switch value {
            case .string(let text): return "\(key)=\(text)"
            case .array(let items):
                return "\(key)=" + items.map { $0.stringValue ?? $0.jsonText }.joined(separator: ",")
            default: return "\(key)=\(value.jsonText)"
            }
        }.joined(separator: " ")
    }

    static func exit(_ task: TaskStatus) -> String {
        if let signal = task.signal { return "signal \(signal)" }
        return task.exitCode.map(String.init) ?? "–"
    }

    /// The run's error and failed tasks. The run's own error is left out when it only lists the failed tasks shown
    /// below it.
    static func problems(_ run: RunStatus) -> [String] {
        let failed = run.tasks.filter { $0.state == "failed" }
        var lines: [String] = []
        if let error = run.error, failed.isEmpty || !error.hasPrefix("failed: ") { lines.append("error: \(error)") }
        lines += failed.map { "failed: " + describe($0) }
        return lines
    }

    /// One failed task for summaries: `price 2025-01-01…2025-12-31 after 3 attempts: exited with status 1`.
    static func describe(_ task: TaskStatus) -> String {
        var text = "\(task.collector) \(range(task.rangeStart, task.rangeEnd))"
        text += " after \(task.attempts) attempt\(task.attempts == 1 ? "" : "s")"
        if let error = task.error {
            text += ": \(error)"
        } else if let signal = task.signal {
            text += ": killed by signal \(signal)"
        } else if let code = task.exitCode {
            text += ": exited with status \(code)"
        }
        return text
    }
}
