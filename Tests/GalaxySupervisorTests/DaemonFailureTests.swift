import Foundation
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bad configuration and a database that is away: one clear line or a precise error, never a half-started daemon.
@Suite(.serialized) struct DaemonFailureTests {
    /// Runs galaxyd to its exit and returns (status, stderr lines).
    func runToExit(_ environment: [String: String], _ arguments: [String] = []) async throws -> (ChildExit, [String]) {
        let output = OutputRecorder()
        var base = ["PATH": "/usr/bin:/bin", "GALAXY_SOCKET": "/tmp/galaxy-never-\(getpid()).sock"]
        base.merge(environment) { $1 }
        let process = try ChildProcess.spawn(
            ChildSpec(executable: BuiltProducts.path("galaxyd"), arguments: ["serve"] + arguments, environment: base),
            onOutput: output.handler)
        return (await process.wait(), output.lines(.stderr))
    }

    @Test(arguments: [
        ("GALAXY_RATE", "fast"), ("GALAXY_MAX_CHILDREN", "zero"), ("GALAXY_SOURCE", "naver"),
        ("GALAXY_DAILY_CRON", "every day at six"), ("GALAXY_TZ", "Mars/Olympus"), ("GALAXY_COLLECTOR", "/nonexistent"),
        ("GALAXY_ON_FAILURE", "mail-me.sh --to ops"), ("GALAXY_ON_FAILURE", "/nonexistent/hook"),
        ("GALAXY_ON_FAILURE", "/etc/passwd"), ("GALAXY_ON_FAILURE", "/bin/echo 'unterminated"),
        ("GALAXY_METRICS_FILE", "galaxy.prom"),
    ])
    func badConfigurationIsOneLineNamingTheVariableAndExit78(_ variable: String, _ value: String) async throws {
        let (exit, lines) = try await runToExit([variable: value, "GALAXY_DATABASE_URL": "postgresql:///nowhere"])
        #expect(exit.termination == .exited(78))
        #expect(lines.count == 1, "one line, no stack trace: \(lines)")
        #expect(lines.first?.contains(variable) == true)
    }

    /// systemd's watchdog ends a galaxyd it has declared hung with SIGABRT. The Swift runtime's backtracer used to catch
    /// it and return, and galaxyd went on starting collectors until systemd's SIGKILL 45 s later: it must die at once.
    @Test func theWatchdogsSIGABRTEndsGalaxydAtOnce() async throws {
        let daemon = try await DaemonHarness()
        defer { daemon.finish() }
        let sent = ContinuousClock.now
        daemon.process.signalGroup(SIGABRT)
        let exit = try #require(await daemon.process.wait(timeout: .seconds(5)), "galaxyd still runs 5 s after SIGABRT")
        #expect(exit.termination == .signaled(SIGABRT))
        print("galaxyd gone \(ContinuousClock.now - sent) after SIGABRT")
    }

    @Test func anUnreachableDatabaseAtStartIsAClearErrorWithoutThePassword() async throws {
        let collector = try TemporaryDirectory(prefix: "gdf")
        defer { collector.remove() }
        let fake = try collector.script("collector", "#!/bin/sh\nexit 0\n")
        let (exit, lines) = try await runToExit(
            ["GALAXY_DATABASE_URL": "postgresql://galaxy:hunter2-secret@127.0.0.1:1/galaxy", "GALAXY_COLLECTOR": fake],
            ["--startup-timeout", "1"])
        #expect(exit.termination == .exited(1))
        let text = lines.joined(separator: "\n")
        #expect(text.contains("cannot prepare the database"))
        #expect(text.contains("GALAXY_DATABASE_URL"))
        #expect(!text.contains("hunter2-secret"))
    }

    @Test func aDatabaseThatGoesAwayLeavesTheDaemonAnsweringAndWorkResumesWhenItIsBack() async throws {
        let cluster = try await PrivateCluster.start()
        do {
            try await databaseGoesAway(cluster)
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    func databaseGoesAway(_ cluster: PrivateCluster) async throws {
        let database = try TestDatabase.create(clusterURL: cluster.url)
        let daemon = try await DaemonHarness(database: database)
        defer { daemon.finish() }
        #expect(try await daemon.status().daemon.database == "ok")

        try await cluster.stopServer()
        // status keeps answering and says so; starting work is refused with a precise error.
        try await waitUntil { try await daemon.status().daemon.database == "unavailable" }
        await #expect {
            _ = try await daemon.client.call(method: "runDaily", params: ["date": "2026-11-27"])
        } throws: { error in
            guard let error = error as? JSONRPCError else { return false }
            ResponseLog.record(method: "runDaily", error: error)
            return error.code == -32006 && error.message.contains("database unavailable")
        }
        #expect(daemon.process.exit == nil)

        try await cluster.restart()
        try await waitUntil {
            let status = try await daemon.status()
            return status.daemon.database == "ok" && status.daemon.leader
        }
        let run = try await daemon.waitForRun(try await daemon.runDaily(date: "2026-11-27"))
        #expect(run.state == "succeeded")
    }
}

