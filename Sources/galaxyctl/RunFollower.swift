import GalaxyCore
import GalaxyRPC

#if canImport(Glibc)
import Glibc
#endif

/// Follows one run to its end by polling `status {runId}`, for `--wait`, `--follow` and `galaxyctl follow`.
///
/// Polling rather than server notifications: each poll is a fresh connection, so following survives a daemon
/// restart (a resumed backfill keeps its run id) and needs nothing from the daemon beyond `status`.
struct RunFollower {
    let client: ControlClient
    let runId: RunID
    var pollInterval: Duration = .milliseconds(500)
    /// How long galaxyd may be unreachable (restarting) before following gives up.
    var unreachableLimit: Duration = .seconds(60)

    /// Polls until the run has finished and returns its last status (and the raw `status` result it came in).
    /// `onUpdate` sees every poll's answer.
    func follow(
        onUpdate: (RunStatus) -> Void, onUnreachable: (CtlFailure) -> Void
    ) async throws(CtlFailure) -> (run: RunStatus, rawStatus: JSONValue) {
        var unreachableSince: ContinuousClock.Instant?
        while true {
            let (raw, report): (JSONValue, StatusReport)
            do {
                (raw, report) = try await client.call(
                    GalaxyMethod.status, ["runId": .integer(runId)], as: StatusReport.self)
                unreachableSince = nil
            } catch  where error.exitCode == CtlExitCode.unreachable {
                let since = unreachableSince ?? .now
                unreachableSince = since
                guard ContinuousClock.now - since < unreachableLimit else { throw error }
                onUnreachable(error)
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let run = report.runs.first(where: { $0.id == runId }) else {
                throw CtlFailure("galaxyd's status has no run \(runId)", exitCode: CtlExitCode.daemonError)
            }
            onUpdate(run)
            if run.isFinished { return (run, raw) }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// Follows the run with a live display and a summary, and returns the exit status for it. Ctrl-C stops
    /// following (not the run) and says how to cancel it.
    static func followAndSummarise(client: ControlClient, runId: RunID, quiet: Bool = false) async throws(CtlFailure)
        -> (run: RunStatus, rawStatus: JSONValue, exitCode: Int32)
    {
        let display = ProgressDisplay(mode: quiet ? .silent : (Console.stdoutIsTerminal ? .terminal : .plain))
        InterruptExit.install(
            stdoutText: display.mode == .terminal ? "\r\u{1B}[K" : "",
            stderrText: "galaxyctl: stopped following run \(runId); it goes on in galaxyd. Cancel it with "
                + "`galaxyctl cancel \(runId)`, watch it again with `galaxyctl follow \(runId)`\n",
            status: CtlExitCode.interrupted)
        defer { InterruptExit.remove() }
        let follower = RunFollower(client: client, runId: runId)
        let (run, raw) = try await follower.follow(onUpdate: display.update, onUnreachable: display.unreachable)
        display.finish(run)
        return (run, raw, run.state == "succeeded" ? CtlExitCode.ok : CtlExitCode.runFailed)
    }
}
