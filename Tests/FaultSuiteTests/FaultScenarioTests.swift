import Foundation
import GalaxyPostgres
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults injected into a real backfill (galaxyd, real galaxy-collector children, krx-sim over HTTP with the member
/// login, PostgreSQL). Every scenario asserts the same invariants, never timings: the daemon answered `status`
/// throughout (or came back), no (ticker, date) is stored twice, every collected day's rows match its ledger row, and
/// the final database equals a fault-free run's of the same backfill.
///
/// Serialized: the scenarios kill processes at chosen moments and share two cores with the rest of the tests; one at
/// a time keeps each of them about its own fault.
@Suite(.serialized) struct FaultScenarioTests {
    /// Seeded, so a failure can be replayed: the seed is in every failure message.
    static let seed = UInt64(ProcessInfo.processInfo.environment["GALAXY_FAULT_SEED"] ?? "") ?? 20_260_313

    func expectMatchesReference(
        _ url: String, _ scenario: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> DatabaseFingerprint {
        let reference = try await ReferenceRun.shared.fingerprint()
        let actual = try DatabaseFingerprint.of(url)
        #expect(actual == reference, "\(scenario): final database differs from the fault-free run's\n  got \(actual)\n  want \(reference)",
                sourceLocation: sourceLocation)
        try Invariants.check(url, sourceLocation: sourceLocation)
        return actual
    }

    func daysDone(_ daemon: FaultDaemon, _ runID: Int64) async throws -> Int {
        (try await daemon.run(runID)).progress.daysDone
    }

    // MARK: - Processes killed

    @Test func collectorChildrenKilledWithSIGKILLDuringABackfill() async throws {
        _ = try await ReferenceRun.shared.fingerprint()
        // 80 ms per whole-market answer: the backfill lasts several seconds, long enough to kill children mid-run.
        let sim = try await KRXSimProcess.scenario([
            "--fault", "portal/MDCSTAT01501=latency:80", "--fault", "portal/MDCSTAT04301=latency:80",
        ])
        defer { Task { _ = await sim.stop() } }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try await FaultDaemon(databaseURL: database.url, sim: sim, attempts: 8)
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let runID = try await daemon.startBackfill()

        var random = SeededRandom(seed: Self.seed)
        var killed: [Int32] = []
        for round in 0..<4 {
            // Wait for a child that is working (READY, past its first days), then kill one at random.
            try await waitUntil("a running collector (round \(round))", timeout: .seconds(120)) {
                let status = try await daemon.status(runId: runID)
                if status.runs.first?.isFinished == true { return true }
                return status.children.contains { !killed.contains($0.pid) && $0.state == "running" }
            }
            let children = try await daemon.status().children.filter { !killed.contains($0.pid) }
            guard !children.isEmpty else { break }
            try await Task.sleep(for: .milliseconds(Int(random.next() % 700)))
            let victim = children[Int(random.next() % UInt64(children.count))]
            if kill(victim.pid, SIGKILL) == 0 { killed.append(victim.pid) }
        }
        let run = try await daemon.waitForRun(runID)
        let seen = await watcher.stop()
        #expect(!killed.isEmpty, "no collector was running to kill (seed \(Self.seed))")
        #expect(run.state == "succeeded", "run ended \(run.state): \(run.error ?? "") (seed \(Self.seed))\n\(daemon.output.tail)")
        #expect(run.tasks.reduce(0) { $0 + $1.attempts } >= run.tasks.count + killed.count,
                "every killed attempt was retried")
        #expect(seen.failed.isEmpty, "status failed while collectors were killed: \(seen.failed.prefix(3))")
        #expect(seen.succeeded > 0)
        let final = try await expectMatchesReference(database.url, "collector SIGKILL")
        ScenarioReport.record(
            "SIGKILL collector children during a backfill",
            "\(killed.count) children killed; run \(run.state), \(run.tasks.reduce(0) { $0 + $1.attempts }) attempts "
                + "for \(run.tasks.count) tasks; status answered \(seen.succeeded)/\(seen.succeeded + seen.failed.count); "
                + "database = fault-free run (\(final.priceRows + final.etfPriceRows) rows)")
    }

    @Test func galaxydKilledWithSIGKILLDuringABackfillAndRestarted() async throws {
        _ = try await ReferenceRun.shared.fingerprint()
        // 40 ms per whole-market answer: without it the backfill can end before the second kill's threshold.
        let sim = try await KRXSimProcess.scenario([
            "--fault", "portal/MDCSTAT01501=latency:40", "--fault", "portal/MDCSTAT04301=latency:40",
        ])
        defer { Task { _ = await sim.stop() } }
        let database = try TestDatabase.create()
        defer { database.drop() }
        var random = SeededRandom(seed: Self.seed &+ 1)
        var daemon = try await FaultDaemon(databaseURL: database.url, sim: sim)
        let runID = try await daemon.startBackfill()
        var answered = 0
        var restarts = 0
        // Kill galaxyd twice, at a different point of the run each time, then let the last one finish the job.
        for threshold in [5 + Int(random.next() % 10), 40 + Int(random.next() % 20)] {
            let watcher = StatusWatcher(socketPath: daemon.socketPath)
            let current = daemon
            try await waitUntil("the backfill passing \(threshold) days", timeout: .seconds(180)) {
                let run = try await current.run(runID)
                return run.progress.daysDone >= threshold || run.isFinished
            }
            #expect(!(try await current.run(runID)).isFinished, "the run ended before galaxyd could be killed")
            let seen = await watcher.stop()
            #expect(seen.failed.isEmpty, "status failed before the kill: \(seen.failed.prefix(3))")
            answered += seen.succeeded
            await daemon.kill9()
            daemon.finish()
            daemon = try await FaultDaemon(databaseURL: database.url, sim: sim)
            restarts += 1
        }
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let run = try await daemon.waitForRun(runID)
        let seen = await watcher.stop()
        answered += seen.succeeded
        #expect(run.state == "succeeded", "the resumed run ended \(run.state): \(run.error ?? "")\n\(daemon.output.tail)")
        #expect(seen.failed.isEmpty, "status failed after the restart: \(seen.failed.prefix(3))")
        let final = try await expectMatchesReference(database.url, "galaxyd SIGKILL")
        ScenarioReport.record(
            "SIGKILL galaxyd during a backfill, restart",
            "killed \(restarts)×; same run resumed from the ledger and ended \(run.state); status answered \(answered) "
                + "times while up; database = fault-free run (\(final.settledDays) ledger days)")
    }

    @Test func postgresRestartedDuringARun() async throws {
        _ = try await ReferenceRun.shared.fingerprint()
        let cluster = try await PrivateCluster.start()
        do {
            try await restartPostgres(cluster)
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    private func restartPostgres(_ cluster: PrivateCluster) async throws {
        // 40 ms per whole-market answer, so the restart lands in the middle of the run.
        let sim = try await KRXSimProcess.scenario([
            "--fault", "portal/MDCSTAT01501=latency:40", "--fault", "portal/MDCSTAT04301=latency:40",
        ])
        defer { Task { _ = await sim.stop() } }
        let daemon = try await FaultDaemon(databaseURL: cluster.url, sim: sim, attempts: 8)
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let runID = try await daemon.startBackfill()
        try await waitUntil("the backfill passing 15 days", timeout: .seconds(180)) {
            try await daysDone(daemon, runID) >= 15
        }
        try await cluster.restart()
        let run = try await daemon.waitForRun(runID, timeout: .seconds(300))
        let seen = await watcher.stop()
        #expect(daemon.process.exit == nil, "galaxyd died with the database restart:\n\(daemon.output.tail)")
        // galaxyd loses its leader lock with the connection and takes it again; the run it is executing must go on
        // as it was, not be "resumed" a second time beside itself.
        #expect(run.state == "succeeded", "run ended \(run.state): \(run.error ?? "")")
        #expect(!daemon.output.all.contains { $0.contains("resuming interrupted backfill") },
                "galaxyd resumed the backfill it was still running")
        #expect(seen.failed.isEmpty, "status failed while PostgreSQL restarted: \(seen.failed.prefix(3))")
        let final = try await expectMatchesReference(cluster.url, "PostgreSQL restart")
        ScenarioReport.record(
            "restart PostgreSQL during a run",
            "pg_ctl restart mid-backfill; run \(run.state) with \(run.tasks.reduce(0) { $0 + $1.attempts }) attempts; "
                + "status answered \(seen.succeeded)/\(seen.succeeded + seen.failed.count); database = fault-free run "
                + "(\(final.settledDays) ledger days)",
            test: "postgresRestartedDuringARun()")
    }

    // MARK: - The source misbehaves

    @Test func tenPercentOfRequestsFailWith5xxTruncatedAndMalformedBodies() async throws {
        _ = try await ReferenceRun.shared.fingerprint()
        let sim = try await KRXSimProcess.scenario([
            "--fault", "portal=error:503@p=0.04", "--fault", "portal=truncate@p=0.03",
            "--fault", "portal=malformed@p=0.03",
        ])
        defer { Task { _ = await sim.stop() } }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try await FaultDaemon(databaseURL: database.url, sim: sim, attempts: 6)
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let run = try await daemon.waitForRun(try await daemon.startBackfill())
        let seen = await watcher.stop()
        let requests = try await sim.requestCounts()
        #expect(run.state == "succeeded", "run ended \(run.state): \(run.error ?? "")\n\(daemon.output.tail)")
        #expect(seen.failed.isEmpty, "status failed: \(seen.failed.prefix(3))")
        let final = try await expectMatchesReference(database.url, "10% source faults")
        ScenarioReport.record(
            "krx-sim: 10% of requests 5xx / truncated / malformed",
            "\(requests.total) requests; run \(run.state); database = fault-free run (\(final.priceRows) price rows)")
    }

    @Test func aHungRequestCostsOnlyItsAttempt() async throws {
        _ = try await ReferenceRun.shared.fingerprint()
        // The first whole-market price request never gets an answer. The collector's heartbeat goes on (its worker
        // thread is blocked in libcurl, not its reporter), so galaxyd's maximum runtime is what ends the attempt;
        // the retry resumes from the ledger.
        let sim = try await KRXSimProcess.scenario(["--fault", "portal/MDCSTAT01501=hang@next=1"])
        defer { Task { _ = await sim.stop() } }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try await FaultDaemon(
            databaseURL: database.url, sim: sim, attempts: 6, extraArguments: ["--max-runtime", "8"])
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let run = try await daemon.waitForRun(try await daemon.startBackfill())
        let seen = await watcher.stop()
        #expect(run.state == "succeeded", "run ended \(run.state): \(run.error ?? "")\n\(daemon.output.tail)")
        let price = try #require(run.tasks.first { $0.collector == "price" })
        #expect(price.attempts >= 2, "the hung attempt was stopped and retried")
        #expect(seen.failed.isEmpty, "status failed: \(seen.failed.prefix(3))")
        let final = try await expectMatchesReference(database.url, "hung request")
        ScenarioReport.record(
            "krx-sim: a request that hangs",
            "stopped by --max-runtime, retried (\(price.attempts) attempts of the price task); run \(run.state); "
                + "database = fault-free run (\(final.settledDays) ledger days)")
    }

    @Test func aBlockPageMidBackfillOpensTheBreakerAndNothingHammers() async throws {
        let sim = try await KRXSimProcess.scenario()
        defer { Task { _ = await sim.stop() } }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try await FaultDaemon(databaseURL: database.url, sim: sim, attempts: 4)
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let runID = try await daemon.startBackfill()
        try await waitUntil("the backfill passing 10 days", timeout: .seconds(180)) {
            try await daysDone(daemon, runID) >= 10
        }
        // From now on every portal request gets KRX's IP-block page.
        try await sim.addFault("portal=block:403")
        let before = try await sim.requestCounts().total
        let run = try await daemon.waitForRun(runID)
        let afterRun = try await sim.requestCounts().total
        // galaxyd re-reads the breaker on its status beat.
        try await waitUntil("status showing the open breaker", timeout: .seconds(30)) {
            try await daemon.status().source.breaker.state == "open"
        }
        let status = try await daemon.status()
        #expect(run.state == "failed" || run.state == "partial", "a blocked backfill does not succeed: \(run.state)")
        #expect(status.source.breaker.state == "open", "status shows the open breaker: \(status.source.breaker)")
        let reported = ([run.error] + run.tasks.map(\.error)).compactMap { $0 }.joined(separator: " | ")
        #expect(reported.localizedCaseInsensitiveContains("block"), "the run says it was blocked: \(reported)")
        // Nothing hammers: at most one request per collector that was mid-day when the block came (each sees the
        // page once, opens the breaker and stops), and no retry attempt asks again.
        #expect(afterRun - before <= 4, "\(afterRun - before) requests after the block")
        // A new backfill while the breaker is open sends nothing at all.
        let again = try await daemon.waitForRun(try await daemon.startBackfill())
        let afterSecond = try await sim.requestCounts().total
        #expect(afterSecond == afterRun, "\(afterSecond - afterRun) requests from a backfill with the breaker open")
        #expect(again.state != "succeeded")
        let seen = await watcher.stop()
        #expect(seen.failed.isEmpty, "status failed: \(seen.failed.prefix(3))")
        try Invariants.check(database.url)
        ScenarioReport.record(
            "block page mid-backfill",
            "breaker \(status.source.breaker.state); run \(run.state), reported \"\(reported.prefix(80))\"; "
                + "\(afterRun - before) request(s) after the block, \(afterSecond - afterRun) from a second backfill; "
                + "collected days intact")
    }

    @Test func logoutStormsDuringABackfill() async throws {
        _ = try await ReferenceRun.shared.fingerprint()
        // One data request in ten answers LOGOUT, and every member session is ended every 300 ms besides.
        let sim = try await KRXSimProcess.scenario([
            "--fault", "portal/MDCSTAT01501=logout@p=0.1", "--fault", "portal/MDCSTAT04301=logout@p=0.1",
        ])
        defer { Task { _ = await sim.stop() } }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try await FaultDaemon(databaseURL: database.url, sim: sim, attempts: 10)
        defer { daemon.finish() }
        let watcher = StatusWatcher(socketPath: daemon.socketPath)
        let runID = try await daemon.startBackfill()
        let storm = Task {
            var storms = 0
            while !Task.isCancelled {
                if (try? await sim.expireSessions()) != nil { storms += 1 }
                try? await Task.sleep(for: .milliseconds(300))
            }
            return storms
        }
        let run = try await daemon.waitForRun(runID)
        storm.cancel()
        let storms = await storm.value
        let seen = await watcher.stop()
        let requests = try await sim.requestCounts()
        let logins = requests.routes["login/MDCCOMS001D1"] ?? 0
        let data = requests.routes.filter { $0.key.hasPrefix("portal/MDCSTAT") }.values.reduce(0, +)
        #expect(run.state == "succeeded", "run ended \(run.state): \(run.error ?? "")\n\(daemon.output.tail)")
        #expect(logins >= 2, "the storm forced new logins (\(logins))")
        #expect(logins <= data, "\(logins) logins for \(data) data requests: re-login once per LOGOUT, never a loop")
        #expect(seen.failed.isEmpty, "status failed: \(seen.failed.prefix(3))")
        let final = try await expectMatchesReference(database.url, "LOGOUT storm")
        ScenarioReport.record(
            "LOGOUT storms",
            "\(storms) session expiries + LOGOUT on 10% of data requests: \(logins) logins for \(data) data requests; "
                + "run \(run.state); database = fault-free run "
                + "(\(final.settledDays) ledger days)")
    }
}

/// splitmix64: a small seeded generator (no package needed), so a scenario's choices can be replayed.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Stdout lines of a child, gathered on its monitor thread.
final class StdoutLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

