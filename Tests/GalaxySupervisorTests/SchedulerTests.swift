import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxySystemd
import GalaxyTestSupport
import Logging
import Testing

@testable import GalaxySupervisor

/// The engine and scheduler of one galaxyd, in-process, with an injected clock (tests never wait for 18:00).
final class InProcessSupervisor: Sendable {
    let engine: JobEngine
    let scheduler: Scheduler
    let clock: ManualSchedulerClock
    let store: SupervisorDatabase
    let lock: LeaderLock
    private let worker: DatabaseWorker
    private let listener: NotifyListener
    private let feeder: Task<Void, Never>

    init(database: TestDatabase, directory: TemporaryDirectory, name: String, now: Date,
         environment: [String: String] = [:]) throws {
        let configuration = try GalaxyConfiguration(
            environment: ["GALAXY_DATABASE_URL": database.url].merging(environment) { $1 })
        let collector = try FakeCollector.script(in: directory, behaviours: [:], default: .ok)
        var settings = SupervisorSettings(
            configuration: configuration, collectorPath: collector, runtimeDirectory: directory.file(name))
        settings.snapshotPriceWait = .milliseconds(200)
        settings.retryBaseDelay = .milliseconds(10)
        mkdir(settings.runtimeDirectory, 0o700)
        worker = DatabaseWorker(url: database.url)
        store = SupervisorDatabase(database: worker)
        listener = try NotifyListener(address: settings.childNotifySocketPath)
        let board = ChildHealthBoard()
        let listener = self.listener
        feeder = Task { await board.consume(listener) }
        clock = ManualSchedulerClock(now)
        engine = JobEngine(settings: settings, store: store, board: board, environment: ["PATH": "/usr/bin:/bin"],
                           logger: Logger(label: "test-\(name)"))
        scheduler = Scheduler(
            engine: engine, store: store, clock: clock,
            daily: try CronSchedule("0 18 * * mon-fri", timeZoneIdentifier: "Asia/Seoul"),
            snapshot: try CronSchedule("30 18 * * mon-fri", timeZoneIdentifier: "Asia/Seoul"),
            logger: Logger(label: "test-\(name)"))
        lock = LeaderLock(url: database.url)
    }

    func close() async {
        await engine.shutdown()
        await lock.release()
        feeder.cancel()
        listener.close()
        worker.shutdown()
    }
}

@Suite(.serialized) struct SchedulerTests {
    static func seoul(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    func runCounts(_ database: TestDatabase) throws -> [String: Int] {
        let connection = try database.connect()
        defer { connection.close() }
        var counts: [String: Int] = [:]
        for row in try connection.query("SELECT kind, count(*) FROM job_runs GROUP BY kind").rows {
            counts[try row.decode(0, as: String.self)] = Int(try row.decode(1, as: Int64.self))
        }
        return counts
    }

    @Test func downtimeOverTheFireTimeIsCaughtUpExactlyOnce() async throws {
        let database = try TestDatabase.create(migrated: true)
        let directory = try TemporaryDirectory(prefix: "sch")
        defer {
            directory.remove()
            database.drop()
        }
        // The host was down at 18:00 and 18:30 on Monday; galaxyd starts at 19:05.
        let now = Self.seoul("2026-11-30T19:05:00+09:00")
        mkdir(directory.file("events"), 0o700)
        let hook = try FailureHookTests.recordingHook(in: directory)
        let first = try InProcessSupervisor(
            database: database, directory: directory, name: "a", now: now,
            environment: ["GALAXY_ON_FAILURE": "\(hook) \(directory.file("events"))"])
        await first.scheduler.catchUp()
        await first.scheduler.catchUp()
        #expect(try runCounts(database) == ["daily": 1, "snapshot": 1])
        let connection = try database.connect()
        defer { connection.close() }
        #expect(try connection.query("SELECT params->>'date', requested_by FROM job_runs WHERE kind = 'daily'")
            .rows.map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: String.self))" }
            == ["2026-11-30 scheduler (catch-up)"])
        // Let the runs finish, then "restart": a new daemon finds them in the history and runs nothing again.
        try await waitUntil { try await first.engine.runStatuses(runId: nil).allSatisfy(\.isFinished) }
        let snapshot = try #require(try await first.engine.runStatuses(runId: nil).first { $0.kind == "snapshot" })
        #expect(snapshot.state == "failed")
        #expect(snapshot.error?.contains("prices for 2026-11-30 were not collected") == true)
        // The hook heard of both missed fires and of the failed snapshot, once each.
        let events = { try FileManager.default.contentsOfDirectory(atPath: directory.file("events"))
            .filter { $0.hasSuffix(".json") }.map { try JSONValue(parsing: String(
                contentsOfFile: directory.file("events/\($0)"), encoding: .utf8)) } }
        try await waitUntil("three hook events", timeout: .seconds(10)) { try events().count >= 3 }
        let missed = try events().filter { $0["kind"]?.stringValue == "run_missed" }
        #expect(Set(missed.compactMap { $0["schedule"]?["job"]?.stringValue }) == ["daily", "snapshot"])
        let daily = try #require(missed.first { $0["schedule"]?["job"]?.stringValue == "daily" })
        #expect(daily["schedule"]?["scheduledAt"]?.stringValue == "2026-11-30T09:00:00Z")
        #expect(daily["schedule"]?["date"]?.stringValue == "2026-11-30")
        #expect(daily["runId"]?.integerValue != nil)
        #expect(try events().filter { $0["kind"]?.stringValue == "run_failed" }.map { $0["runKind"]?.stringValue }
                == ["snapshot"])
        #expect(try events().count == 3)
        await first.close()
        let second = try InProcessSupervisor(database: database, directory: directory, name: "b", now: now)
        await second.engine.recover(end: TradeDate("2026-11-30")!)
        await second.scheduler.catchUp()
        #expect(try runCounts(database) == ["daily": 1, "snapshot": 1])
        await second.close()
    }

    @Test func firesAt1800SeoulAndTheSnapshotAt1830() async throws {
        let database = try TestDatabase.create(migrated: true)
        let directory = try TemporaryDirectory(prefix: "sch")
        defer {
            directory.remove()
            database.drop()
        }
        let supervisor = try InProcessSupervisor(
            database: database, directory: directory, name: "a", now: Self.seoul("2026-11-30T17:59:00+09:00"))
        let loop = Task { await supervisor.scheduler.run(isLeader: { true }) }
        try await waitUntil { supervisor.clock.sleeperCount == 1 }
        #expect(try runCounts(database).isEmpty)
        supervisor.clock.advance(to: Self.seoul("2026-11-30T09:00:00Z"))  // 18:00 in Seoul
        try await waitUntil { try runCounts(database)["daily"] == 1 }
        try await waitUntil { supervisor.clock.sleeperCount == 1 }
        #expect(try runCounts(database)["snapshot"] == nil)
        supervisor.clock.advance(to: Self.seoul("2026-11-30T18:30:00+09:00"))
        try await waitUntil { try runCounts(database)["snapshot"] == 1 }
        let status = await supervisor.scheduler.status()
        #expect(status.first { $0.job == "daily" }?.nextFire == "2026-12-01T09:00:00Z")
        loop.cancel()
        await loop.value
        await supervisor.close()
    }

    @Test func twoDaemonsOnOneDatabaseRunOne1800Run() async throws {
        let database = try TestDatabase.create(migrated: true)
        let directory = try TemporaryDirectory(prefix: "sch")
        defer {
            directory.remove()
            database.drop()
        }
        // Another galaxy on the same cluster, in a database of its own, leads there and not here.
        let neighbour = try TestDatabase.create(migrated: false)
        let neighbourLock = LeaderLock(url: neighbour.url)
        defer { neighbour.drop() }
        #expect(await neighbourLock.check(within: .seconds(10)).verdict.isHeld)
        let start = Self.seoul("2026-12-01T17:59:00+09:00")
        let a = try InProcessSupervisor(database: database, directory: directory, name: "a", now: start)
        let b = try InProcessSupervisor(database: database, directory: directory, name: "b", now: start)
        #expect(await a.lock.check(within: .seconds(10)).verdict.isHeld)
        #expect(await b.lock.check(within: .seconds(10)).verdict == .heldElsewhere(holder: a.lock.identity))
        await neighbourLock.release()
        let loops = [
            Task { await a.scheduler.run(isLeader: { await a.lock.check(within: .seconds(10)).verdict.isHeld }) },
            Task { await b.scheduler.run(isLeader: { await b.lock.check(within: .seconds(10)).verdict.isHeld }) },
        ]
        try await waitUntil { a.clock.sleeperCount == 1 && b.clock.sleeperCount == 1 }
        let fire = Self.seoul("2026-12-01T18:00:00+09:00")
        a.clock.advance(to: fire)
        b.clock.advance(to: fire)
        try await waitUntil { a.clock.sleeperCount == 1 && b.clock.sleeperCount == 1 }
        #expect(try runCounts(database) == ["daily": 1])
        // The leader goes away: the standby takes the lock.
        await a.lock.release()
        #expect(await b.lock.check(within: .seconds(10)).verdict.isHeld)
        for loop in loops { loop.cancel() }
        await a.engine.shutdown()
        await b.close()
    }
}

