import Foundation
import GalaxyCore
import GalaxyRPC
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// galaxyctl, the real binary, against a real galaxyd for every command and every error a person may meet.
@Suite struct GalaxyCtlTests {
    @Test func statusShowsEverySectionForPeopleAndTheRawResultAsOneLineOfJSON() async throws {
        let daemon = try await CtlDaemon()
        defer { daemon.finish() }
        let finished = try await Galaxyctl.run(
            ["run-daily", "--date", "2026-11-26", "--wait"], socket: daemon.socketPath)
        #expect(finished.exitCode == 0, "\(finished)")

        // The socket comes from GALAXY_SOCKET here, from --socket below.
        let human = try await Galaxyctl.run(["status"], socket: daemon.socketPath)
        #expect(human.exitCode == 0, "\(human)")
        #expect(human.stdout.first?.hasPrefix("galaxyd 1.0.0  pid \(daemon.process.pid)  up ") == true, "\(human)")
        #expect(human.out.contains("ready  leader  database ok"), "\(human)")
        #expect(
            human.out.contains("schedule (Asia/Seoul time)\n  daily     0 18 30 2 *   next –  last –\n"), "\(human)")
        #expect(human.out.contains("children: none running"), "\(human)")
        #expect(
            human.stdout.contains { $0.hasPrefix("  1    daily  succeeded") && $0.contains("date=2026-11-26") },
            "\(human)")
        #expect(human.out.contains("source portal  rate unlimited  breaker closed"), "\(human)")

        let json = try await Galaxyctl.run(["status", "--json", "--socket", daemon.socketPath])
        #expect(json.exitCode == 0, "\(json)")
        #expect(json.stdout.count == 1, "one line: \(json)")
        let line = try #require(json.stdout.first)
        try ResponseRecords.record(method: "status", json: line)
        let report = try JSONValue(parsing: line).decode(as: StatusReport.self)
        #expect(report.daemon.pid == daemon.process.pid)
        #expect(report.runs.map(\.state) == ["succeeded"])

        let one = try await Galaxyctl.run(["status", "--run", "1"], socket: daemon.socketPath)
        #expect(one.exitCode == 0, "\(one)")
        #expect(one.out.contains("run 1 daily (date=2026-11-26) succeeded"), "\(one)")
        #expect(
            one.stdout.contains { $0.contains("price") && $0.contains("2026-11-26") && $0.contains("succeeded") },
            "the task table lists every collector: \(one)")
    }

    @Test func runDailyWaitExitsZeroWhenTheRunSucceeds() async throws {
        let daemon = try await CtlDaemon()
        defer { daemon.finish() }
        let result = try await Galaxyctl.run(
            ["run-daily", "--date", "2026-11-26", "--wait"], socket: daemon.socketPath)
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.first == "started daily run 1", "\(result)")
        let summary = try #require(result.stdout.last)
        #expect(summary.hasPrefix("run 1 daily (date=2026-11-26) succeeded in "), "\(result)")
        #expect(!result.out.contains("\r"), "no terminal control characters when stdout is a pipe")
        #expect(try await daemon.status(runId: 1).runs.first?.state == "succeeded")

        // --json: the raw runDaily result, then (with --wait) the final status, each one line.
        let json = try await Galaxyctl.run(
            ["run-daily", "--date", "2026-11-25", "--wait", "--json"], socket: daemon.socketPath)
        #expect(json.exitCode == 0, "\(json)")
        #expect(json.stdout.count == 2, "\(json)")
        try ResponseRecords.record(method: "runDaily", json: json.stdout[0])
        try ResponseRecords.record(method: "status", json: json.stdout[1])
        #expect(try JSONValue(parsing: json.stdout[0])["runId"] == .integer(2))
        #expect(try JSONValue(parsing: json.stdout[1]).decode(as: StatusReport.self).runs.map(\.state) == ["succeeded"])
    }

    @Test func runDailyWaitExitsOneAndNamesTheFailedCollectorWhenTheRunFails() async throws {
        let daemon = try await CtlDaemon(behaviours: ["price": .exit1])
        defer { daemon.finish() }
        let result = try await Galaxyctl.run(
            ["run-daily", "--date", "2026-11-26", "--wait"], socket: daemon.socketPath)
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.out.contains("run 1 daily (date=2026-11-26) partial in "), "\(result)")
        #expect(result.stdout.contains { $0.hasPrefix("  failed: price 2026-11-26 after 2 attempts") }, "\(result)")
        #expect(!result.stdout.contains { $0.contains("failed: stock") }, "only failed tasks are listed: \(result)")
    }

    @Test func aBadStartYearIsAUsageErrorBeforeAnythingIsSent() async throws {
        // No daemon at all: the check happens first, and a usage error is not "cannot reach galaxyd".
        let directory = try TemporaryDirectory(prefix: "ctl")
        defer { directory.remove() }
        for year in ["1989", "9999"] {
            let result = try await Galaxyctl.run(
                ["backfill", "--start-year", year], socket: directory.file("absent.sock"))
            #expect(result.exitCode == 2, "\(result)")
            #expect(result.err.contains("--start-year must be a year from 1990 through "), "\(result)")
            #expect(result.err.contains("Usage: galaxyctl backfill"), "\(result)")
        }
        let badDataset = try await Galaxyctl.run(
            ["backfill", "--start-year", "2020", "--dataset", "price,bonds"], socket: directory.file("absent.sock"))
        #expect(badDataset.exitCode == 2, "\(badDataset)")
        #expect(badDataset.err.contains("unknown dataset 'bonds'"), "\(badDataset)")
        let badDate = try await Galaxyctl.run(
            ["run-daily", "--date", "2026-02-30"], socket: directory.file("absent.sock"))
        #expect(badDate.exitCode == 2, "\(badDate)")
        #expect(badDate.err.contains("--date must be a date YYYY-MM-DD"), "\(badDate)")
        let unknownFlag = try await Galaxyctl.run(["status", "--colour"], socket: directory.file("absent.sock"))
        #expect(unknownFlag.exitCode == 2, "\(unknownFlag)")
    }

    @Test func backfillFollowShowsProgressAndTheSummary() async throws {
        let daemon = try await CtlDaemon(default: .progress)
        defer { daemon.finish() }
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        let result = try await Galaxyctl.run(
            ["backfill", "--start-year", String(year), "--dataset", "price", "--follow"], socket: daemon.socketPath)
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.first == "started backfill run 1", "\(result)")
        let progressLines = result.stdout.filter {
            $0.hasPrefix("run 1 backfill (datasets=price startYear=\(year)) running: ")
        }
        #expect(!progressLines.isEmpty, "plain progress lines while it runs: \(result)")
        let summary = try #require(result.stdout.last)
        #expect(summary.hasPrefix("run 1 backfill (datasets=price startYear=\(year)) succeeded in "), "\(result)")
        let run = try #require(try await daemon.status(runId: 1).runs.first)
        // What every day was, from the ledger: the fake collector writes none, so every day is "not fetched".
        #expect(run.days?.notFetched == run.progress.daysTotal, "\(run)")
        #expect(summary.contains(": \(Self.grouped(run.progress.daysTotal)) not fetched; "), "\(result)")
        #expect(summary.contains("\(Self.grouped(run.progress.rows)) rows"), "\(result)")
        #expect(
            daemon.collectorCalls.allSatisfy { $0.hasPrefix("price --from \(year)-01-01") }, "\(daemon.collectorCalls)")

        let json = try await Galaxyctl.run(
            ["backfill", "--start-year", String(year), "--only-failed", "--json"], socket: daemon.socketPath)
        #expect(json.exitCode == 0, "\(json)")
        try ResponseRecords.record(method: "backfill", json: try #require(json.stdout.first))
        #expect(try JSONValue(parsing: json.stdout[0])["runId"] == .integer(2))
    }

    @Test func onATerminalFollowDrawsOneUpdatingLineWithABar() async throws {
        let daemon = try await CtlDaemon(default: .progress)
        defer { daemon.finish() }
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        let started = try await Galaxyctl.run(
            ["backfill", "--start-year", String(year), "--dataset", "price"], socket: daemon.socketPath)
        #expect(started.exitCode == 0, "\(started)")
        // script(1) gives galaxyctl a pseudo-terminal as stdout, as a person's shell would.
        let command = "COLUMNS=100 \(Galaxyctl.path) follow 1"
        let result = try await Galaxyctl.runProgram(
            "/usr/bin/script", ["-qefc", command, "/dev/null"], socket: daemon.socketPath)
        #expect(result.exitCode == 0, "\(result)")
        let screen = result.out
        #expect(screen.contains("\r\u{1B}[K"), "the line is redrawn in place: \(screen.debugDescription)")
        let frames = screen.components(separatedBy: "\r\u{1B}[K").filter { $0.hasPrefix("run 1 backfill [") }
        #expect(!frames.isEmpty, "\(screen.debugDescription)")
        for frame in frames {
            #expect(
                frame.contains("/") && frame.contains(" days") && frame.contains(" req/s"), "\(frame.debugDescription)")
            #expect(frame.count <= 99, "fits the terminal without wrapping: \(frame.debugDescription)")
        }
        #expect(frames.contains { $0.contains("#") }, "the bar fills up: \(frames)")
        #expect(
            screen.contains("run 1 backfill (datasets=price startYear=\(year)) succeeded in "),
            "\(screen.debugDescription)")
    }

    @Test func cancelStopsARunAndFollowReportsItCancelled() async throws {
        let daemon = try await CtlDaemon(default: .forever)
        defer { daemon.finish() }
        let started = try await Galaxyctl.run(["run-daily", "--date", "2026-11-26"], socket: daemon.socketPath)
        #expect(started.exitCode == 0, "\(started)")
        #expect(started.out.contains("started daily run 1"), "\(started)")
        #expect(started.out.contains("`galaxyctl cancel 1`"), "\(started)")
        _ = try await daemon.waitForRun(1, "started a child") { $0.tasks.contains { $0.state == "running" } }

        let follower = try Galaxyctl.start(["follow", "1"], socket: daemon.socketPath)
        let cancel = try await Galaxyctl.run(["cancel", "1"], socket: daemon.socketPath)
        #expect(cancel.exitCode == 0, "\(cancel)")
        #expect(cancel.out.hasPrefix("run 1: cancelling"), "\(cancel)")
        let followed = try await follower.finish()
        #expect(followed.exitCode == 1, "a cancelled run is not a success: \(followed)")
        #expect(followed.stdout.last?.hasPrefix("run 1 daily (date=2026-11-26) cancelled") == true, "\(followed)")

        let again = try await Galaxyctl.run(["cancel", "1", "--json"], socket: daemon.socketPath)
        #expect(again.exitCode == 0, "\(again)")
        try ResponseRecords.record(method: "cancel", json: try #require(again.stdout.first))
        #expect(try JSONValue(parsing: again.stdout[0]) == ["runId": 1, "state": "cancelled"])
        let ended = try await Galaxyctl.run(["cancel", "1"], socket: daemon.socketPath)
        #expect(ended.out == "run 1 had already ended: cancelled", "\(ended)")
    }

    @Test func ctrlCStopsFollowingButNotTheRun() async throws {
        let daemon = try await CtlDaemon(default: .forever)
        defer { daemon.finish() }
        let waiting = try Galaxyctl.start(["run-daily", "--date", "2026-11-26", "--wait"], socket: daemon.socketPath)
        // The first progress line comes after the Ctrl-C handler is in place.
        try await waiting.waitForOutput("run 1 daily (date=2026-11-26) running")
        _ = try await daemon.waitForRun(1, "started a child") { $0.tasks.contains { $0.state == "running" } }
        kill(waiting.process.pid, SIGINT)
        let result = try await waiting.finish()
        #expect(result.exitCode == 130, "\(result)")
        #expect(result.err.contains("stopped following run 1; it goes on in galaxyd"), "\(result)")
        #expect(result.err.contains("`galaxyctl cancel 1`"), "\(result)")
        let run = try #require(try await daemon.status(runId: 1).runs.first)
        #expect(run.state == "running", "Ctrl-C must not cancel the run")
    }

    @Test func followingWaitsForARestartingDaemonAndReportsTheRunInterrupted() async throws {
        let directory = try TemporaryDirectory(prefix: "ctl")
        defer { directory.remove() }
        let first = try await CtlDaemon(default: .forever, directory: directory)
        defer { first.finish() }
        let started = try await Galaxyctl.run(["run-daily", "--date", "2026-11-26"], socket: first.socketPath)
        #expect(started.exitCode == 0, "\(started)")
        _ = try await first.waitForRun(1, "started a child") { $0.tasks.contains { $0.state == "running" } }
        let follower = try Galaxyctl.start(["follow", "1"], socket: first.socketPath)
        try await follower.waitForOutput("run 1 daily (date=2026-11-26) running")

        // galaxyd stops (SIGTERM: the run is recorded interrupted) and comes back on the same socket and database.
        let exit = await first.process.terminate(grace: .seconds(10))
        #expect(exit.termination == .exited(0))
        try await follower.waitForError("waiting for galaxyd")
        let second = try await CtlDaemon(default: .forever, database: first.database, directory: directory)
        defer { second.finish() }
        let followed = try await follower.finish()
        #expect(followed.exitCode == 1, "an interrupted run is not a success: \(followed)")
        #expect(followed.stdout.last?.hasPrefix("run 1 daily (date=2026-11-26) interrupted") == true, "\(followed)")
    }

    @Test func versionShowsBothVersionsAndWorksWithoutADaemon() async throws {
        let daemon = try await CtlDaemon()
        defer { daemon.finish() }
        let result = try await Galaxyctl.run(["version"], socket: daemon.socketPath)
        #expect(result.exitCode == 0, "\(result)")
        #expect(
            result.stdout == ["galaxyctl 1.0.0", "galaxyd 1.0.0 (pid \(daemon.process.pid), \(daemon.socketPath))"],
            "\(result)")
        let served = try await daemon.status()
        #expect(result.stdout[0] == "galaxyctl \(served.daemon.version)", "galaxyctl and galaxyd are released together")
        daemon.finish()

        let alone = try await Galaxyctl.run(["version"], socket: daemon.socketPath)
        #expect(alone.exitCode == 0, "\(alone)")
        #expect(alone.stdout.first == "galaxyctl 1.0.0")
        #expect(alone.stdout.last?.hasPrefix("galaxyd: not reachable: galaxyd is not running") == true, "\(alone)")
    }

    @Test func noDaemonExitsThreeWithHowToStartIt() async throws {
        let directory = try TemporaryDirectory(prefix: "ctl")
        defer { directory.remove() }
        let missing = directory.file("nothing-here.sock")
        let fromEnvironment = try await Galaxyctl.run(["status"], socket: missing)
        #expect(fromEnvironment.exitCode == 3, "\(fromEnvironment)")
        #expect(fromEnvironment.stdout.isEmpty)
        #expect(
            fromEnvironment.stderr == [
                "galaxyctl: galaxyd is not running (no socket at \(missing)): start it with "
                    + "`systemctl start galaxyd.socket`, or run galaxyd in dev mode, or point --socket/GALAXY_SOCKET at it"
            ], "\(fromEnvironment)")
        let fromFlag = try await Galaxyctl.run(["run-daily", "--socket", missing + ".flag"], socket: missing)
        #expect(fromFlag.exitCode == 3, "\(fromFlag)")
        #expect(fromFlag.err.contains("no socket at \(missing).flag"), "--socket wins over GALAXY_SOCKET: \(fromFlag)")

        // A socket file nobody listens on (a daemon that died without cleaning up).
        let stale = directory.file("stale.sock")
        try Self.bindWithoutListening(stale)
        let refused = try await Galaxyctl.run(["status"], socket: stale)
        #expect(refused.exitCode == 3, "\(refused)")
        #expect(refused.err.contains("galaxyd is not running (nothing listens on \(stale))"), "\(refused)")
    }

    @Test func permissionDeniedExitsFourWithTheGroupToJoin() async throws {
        let daemon = try await CtlDaemon()
        defer { daemon.finish() }
        chmod(daemon.socketPath, 0o600)
        let socketDenied = try await Galaxyctl.run(["status"], socket: daemon.socketPath, asNobody: true)
        #expect(socketDenied.exitCode == 4, "\(socketDenied)")
        #expect(
            socketDenied.stderr == [
                "galaxyctl: cannot connect to \(daemon.socketPath): permission denied; join the group that owns the socket "
                    + "(galaxy-ctl): `sudo usermod -aG galaxy-ctl $USER` (then log in again)"
            ], "\(socketDenied)")

        chmod(daemon.socketPath, 0o666)  // the nobody user may connect, so galaxyd's own check answers
        let status = try await Galaxyctl.run(["status", "--json"], socket: daemon.socketPath, asNobody: true)
        #expect(status.exitCode == 0, "status is open to anyone who can connect: \(status)")
        let methodDenied = try await Galaxyctl.run(["run-daily"], socket: daemon.socketPath, asNobody: true)
        #expect(methodDenied.exitCode == 4, "\(methodDenied)")
        #expect(
            methodDenied.stderr == [
                "galaxyctl: permission denied: starting or cancelling work needs root, the galaxy user, or membership in "
                    + "GALAXY_ADMIN_GROUP (default galaxy-admin): `sudo usermod -aG galaxy-admin $USER`"
            ], "\(methodDenied)")
        let cancelDenied = try await Galaxyctl.run(["cancel", "1"], socket: daemon.socketPath, asNobody: true)
        #expect(cancelDenied.exitCode == 4, "\(cancelDenied)")
        #expect(try await daemon.status().runs.isEmpty, "the denied calls started nothing")
    }

    @Test func daemonErrorsExitFiveWithTheDaemonsMessage() async throws {
        let leader = try await CtlDaemon()
        defer { leader.finish() }
        let unknown = try await Galaxyctl.run(["cancel", "424242"], socket: leader.socketPath)
        #expect(unknown.exitCode == 5, "\(unknown)")
        #expect(unknown.stderr == ["galaxyctl: no such run: 424242"], "\(unknown)")
        let unknownFollow = try await Galaxyctl.run(["follow", "424242"], socket: leader.socketPath)
        #expect(unknownFollow.exitCode == 5, "\(unknownFollow)")
        #expect(unknownFollow.err.contains("no such run: 424242"), "\(unknownFollow)")

        // A second galaxyd on the same database is a standby: it serves status but starts nothing.
        let standby = try await CtlDaemon(database: leader.database, expectLeader: false)
        defer { standby.finish() }
        let refused = try await Galaxyctl.run(["run-daily"], socket: standby.socketPath)
        #expect(refused.exitCode == 5, "\(refused)")
        #expect(refused.err.contains("this galaxyd is a standby"), "\(refused)")
        let status = try await Galaxyctl.run(["status"], socket: standby.socketPath)
        #expect(status.exitCode == 0, "\(status)")
        #expect(status.out.contains("standby (another galaxyd runs the jobs)"), "\(status)")
    }

    // MARK: - Helpers

    static func grouped(_ value: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        formatter.usesGroupingSeparator = true
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }

    /// Leaves a Unix socket file behind with no listener, as a crashed daemon would.
    static func bindWithoutListening(_ path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw TestDatabaseError("bind \(path): \(String(cString: strerror(errno)))") }
    }
}
