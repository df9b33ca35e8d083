import FoundationEssentials
import GalaxyCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// How one attempt of a task ended.
struct AttemptOutcome: Sendable {
    var exit: ChildExit?
    /// Why galaxyd stopped the child, if it did (missed READY, missed heartbeat, runtime, cancel).
    var stoppedBecause: String?
    /// The same as a kind: what the engine decides on (a stop is never retried) and the metrics count.
    var stopKind: MetricsRecorder.KillReason?
    var progress: CollectorProgress?
    var pid: Int32?
    /// A spawn failure (the child never ran).
    var spawnError: String?

    var collectorExit: CollectorExitCode? {
        guard case .exited(let code)? = exit?.termination else { return nil }
        return CollectorExitCode(rawValue: code)
    }

    var succeeded: Bool { exit?.succeeded == true && stoppedBecause == nil }

    /// Worth another attempt: crashes, kills for missed deadlines and retryable exit codes; never a cancel, a
    /// block, an authentication or configuration error, or a collector we cannot even start.
    var isRetryable: Bool {
        if spawnError != nil || stopKind == .stopped { return false }
        if stoppedBecause != nil { return true }
        switch exit?.termination {
        case .signaled?: return true
        case .exited(let code)?: return CollectorExitCode(rawValue: code)?.isRetryable ?? true
        case nil: return false
        }
    }

    var summary: String {
        if let spawnError { return spawnError }
        var text = exit.map { "\($0)" } ?? "did not run"
        if let code = collectorExit, code != .success { text += " (\(code))" }
        if let stoppedBecause { text = "\(stoppedBecause); \(text)" }
        return text
    }
}

/// Runs one attempt of a collector task as a child process and watches it until it ends.
///
/// Health, checked several times a second: READY within `readyTimeout`, a sign of life at least every
/// `heartbeatTimeout`, done within `maxRuntime`. A miss, or a cancel of the calling task, stops the child's whole
/// process group: SIGTERM, `terminationGrace`, SIGKILL. Nothing the child does — crash, hang, flood its pipes — can
/// block the caller: output is drained on the child's monitor thread and every wait here is bounded.
struct TaskRunner: Sendable {
    let settings: SupervisorSettings
    let launcher: CollectorLauncher
    let board: ChildHealthBoard
    /// Set while the daemon fences itself: a cancelled child then gets ``fenceGrace`` between TERM and KILL, so
    /// fencing ends well before PostgreSQL can hand the leader lock to a standby.
    let fencing: SharedFlag

    /// Between TERM and KILL while fencing: at most 3 s (see ``LeaderLock/lease``).
    var fenceGrace: Duration { min(settings.terminationGrace, .seconds(3)) }

    /// - Parameters:
    ///   - onStart: called with the child's pid right after it is spawned.
    ///   - onProgress: called when the child reports progress.
    func runAttempt(
        _ task: CollectorTask, runID: Int64, taskID: Int64, logger: Logger, onStart: @Sendable (Int32) async -> Void,
        onProgress: @Sendable (CollectorProgress) async -> Void
    ) async -> AttemptOutcome {
        let spec = launcher.spec(for: task, runID: runID, taskID: taskID)
        let childLogger = logger
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(spec) { stream, line in
                Self.forward(line, from: stream, to: childLogger)
            }
        } catch {
            logger.error("cannot start collector: \(error)")
            return AttemptOutcome(spawnError: "\(error)")
        }
        board.register(child.pid)
        await onStart(child.pid)
        logger.info("collector started", metadata: ["pid": "\(child.pid)"])

        var outcome = AttemptOutcome(pid: child.pid)
        var lastProgress: CollectorProgress?
        while true {
            if let exit = await child.wait(timeout: .milliseconds(200)) {
                outcome.exit = exit
                break
            }
            let health = board.health(of: child.pid)
            if let progress = health?.progress, progress != lastProgress {
                lastProgress = progress
                await onProgress(progress)
            }
            let now = ContinuousClock.now
            let stop: (kind: MetricsRecorder.KillReason, reason: String)?
            if Task.isCancelled {
                stop = (.stopped, "cancelled")
            } else if now - child.startedAt > settings.maxRuntime {
                stop = (.runtimeLimit, "ran longer than the maximum runtime (\(settings.maxRuntime))")
            } else if let health, !health.ready, now - child.startedAt > settings.readyTimeout {
                stop = (.readyTimeout, "sent no READY=1 within \(settings.readyTimeout)")
            } else if let health, health.ready, now - health.lastSign > settings.heartbeatTimeout {
                stop = (.heartbeatTimeout, "sent no heartbeat for \(settings.heartbeatTimeout)")
            } else {
                stop = nil
            }
            if let (kind, reason) = stop {
                logger.warning("stopping collector: \(reason)", metadata: [
                    "pid": "\(child.pid)", LogMessageID.metadataKey: "\(LogMessageID.childKilled)",
                ])
                outcome.stoppedBecause = reason
                outcome.stopKind = kind
                // The grace period runs even when our own task is cancelled.
                let grace = fencing.value ? fenceGrace : settings.terminationGrace
                outcome.exit = await Task { await child.terminate(grace: grace) }.value
                break
            }
        }
        await board.barrier(socketPath: settings.childNotifySocketPath)
        let final = board.remove(child.pid)
        outcome.progress = final?.progress ?? lastProgress
        if let progress = outcome.progress, progress != lastProgress { await onProgress(progress) }
        let level: Logger.Level = outcome.succeeded ? .info : .warning
        logger.log(level: level, "collector \(outcome.summary)", metadata: [
            "pid": "\(child.pid)", "runtime": "\(outcome.exit.map { $0.runtime.seconds.fixed(1) + "s" } ?? "-")",
            "peak_rss_kib": "\(outcome.exit?.peakRSSKiB ?? 0)",
        ])
        return outcome
    }

    /// Re-logs a child's line under the daemon's logger, keeping the priority the child gave it (`<N>` prefix).
    static func forward(_ line: String, from stream: ChildProcess.Stream, to logger: Logger) {
        var text = Substring(line)
        var level: Logger.Level = stream == .stderr ? .info : .debug
        if text.count >= 3, text.first == "<", let close = text.firstIndex(of: ">"),
            let priority = Int(text[text.index(after: text.startIndex)..<close])
        {
            level = switch priority {
            case ...2: .critical
            case 3: .error
            case 4: .warning
            case 5: .notice
            case 6: .info
            default: .debug
            }
            text = text[text.index(after: close)...]
        }
        logger.log(level: level, "\(text)", metadata: ["stream": "\(stream)"])
    }
}
