import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

@Suite("Ledger queries, breakers and the database worker")
struct LedgerBreakerWorkerTests {
    @Test func ledgerQueries() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let writer = DayWriter(connection)
        let ledger = Ledger(connection)
        let start = TradeDate(year: 2024, month: 1, day: 1)!
        #expect(try ledger.settledBounds(.price) == nil)

        try writer.storeNoSession(.price, date: start)
        try writer.storeCollected(.prices(SampleRows.prices(count: 2)), date: start.adding(days: 1))
        try writer.storeFailed(.price, date: start.adding(days: 2), error: "timeout")
        try writer.storeCollected(.prices(SampleRows.prices(count: 2)), date: start.adding(days: 4))
        try writer.storeCollected(.valuations([ValuationRow(ticker: "A")]), date: start.adding(days: 9))

        let range = DateRange(start, start.adding(days: 5))!
        #expect(try ledger.days(.price, in: range).map(\.status) == [.noSession, .collected, .failed, .collected])
        #expect(try ledger.days(.price, in: range, statuses: [.collected]).map(\.date)
            == [start.adding(days: 1), start.adding(days: 4)])
        #expect(try ledger.failedDays(.price, in: range) == [start.adding(days: 2)])
        #expect(try ledger.unsettledDays(.price, in: range)
            == [start.adding(days: 2), start.adding(days: 3), start.adding(days: 5)])
        #expect(try ledger.settledBounds(.price) == DateRange(start, start.adding(days: 4)))
        #expect(try ledger.collectedBounds(.price) == DateRange(start.adding(days: 1), start.adding(days: 4)))
        #expect(try ledger.statusCounts(.price, in: range) == [.noSession: 1, .collected: 2, .failed: 1])
        #expect(try ledger.day(.price, on: start.adding(days: 2))?.lastError == "timeout")
    }

    @Test func breakersPersistExtendAndClose() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let store = BreakerStore(connection)
        let now = Date(timeIntervalSince1970: 1_735_689_600)
        #expect(try store.breaker(for: "portal") == nil)

        let opened = try store.open(
            "portal", until: now.addingTimeInterval(86_400), reason: "block page (에러페이지)", at: now)
        #expect(opened.openUntil == now.addingTimeInterval(86_400))
        #expect(try store.openBreaker(for: "portal", at: now.addingTimeInterval(60)) == opened)
        #expect(try store.openBreaker(for: "portal", at: now.addingTimeInterval(86_401)) == nil)

        // Another process opening it with an earlier deadline never shortens it.
        let again = try store.open(
            "portal", until: now.addingTimeInterval(3600), reason: "403", at: now.addingTimeInterval(10))
        #expect(again.openUntil == now.addingTimeInterval(86_400))
        #expect(again.openedAt == now)
        #expect(again.reason == "403")
        #expect(try store.all().map(\.source) == ["portal"])

        #expect(try store.close("portal"))
        #expect(try store.close("portal") == false)
        #expect(try store.breaker(for: "portal") == nil)
    }

    @Test func workerRunsJobsInOrderOffTheCooperativePool() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let worker = DatabaseWorker(url: database.url)
        try await worker.withConnection { connection in
            try connection.executeScript("CREATE TABLE log (id serial PRIMARY KEY, n int)")
        }
        // The kernel's name of the thread that ran the job: the worker's own thread, not a pool thread.
        let threadName = try await worker.withConnection { _ in
            (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingWhitespace ?? ""
        }
        #expect(threadName == "galaxy-db")
        // Many concurrent callers share the one connection one job at a time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<50 {
                group.addTask {
                    try await worker.withConnection { connection in
                        try connection.query("INSERT INTO log (n) VALUES ($1)", [n])
                    }
                }
            }
            try await group.waitForAll()
        }
        let count = try await worker.withConnection { connection in
            try connection.query("SELECT count(DISTINCT n) FROM log").scalar(as: Int.self)
        }
        #expect(count == 50)
        // An error in a job reaches the caller; the worker keeps working.
        await #expect(throws: PostgresError.self) {
            try await worker.withConnection { connection in _ = try connection.query("SELECT 1/0") }
        }
        #expect(try await worker.withConnection { try $0.query("SELECT 7").scalar(as: Int.self) } == 7)
        worker.shutdown()
        await #expect(throws: PostgresError.self) {
            try await worker.withConnection { _ = try $0.query("SELECT 1") }
        }
    }

    @Test func workerReportsAnUnreachableDatabaseAndReconnects() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let worker = DatabaseWorker(url: database.url)
        defer { worker.shutdown() }
        let pid = try await worker.withConnection { $0.backendPID }
        let admin = try database.connect()
        try admin.query("SELECT pg_terminate_backend($1, 10000)", [pid])
        // The job that finds the connection dead fails; the next one gets a fresh connection.
        _ = try? await worker.withConnection { _ = try $0.query("SELECT 1") }
        let newPID = try await worker.withConnection { $0.backendPID }
        #expect(newPID != pid)
        #expect(try await worker.withConnection { try $0.query("SELECT 1").scalar(as: Int.self) } == 1)

        let dead = DatabaseWorker(url: "host=127.0.0.1 port=1 dbname=x user=y password=Hidden-Pa55 connect_timeout=2")
        defer { dead.shutdown() }
        let error = await #expect(throws: PostgresError.self) { try await dead.withConnection { $0.backendPID } }
        #expect(error?.kind == .connection)
        #expect(error.map { "\($0)".contains("Hidden-Pa55") } == false)
    }
}

@Suite("Advisory locks")
struct AdvisoryLockTests {
    @Test func leaderLockPassesOnWhenTheHolderDies() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let first = try database.connect()
        let second = try database.connect()
        #expect(try first.tryAdvisoryLock(AdvisoryLockKey.leader))
        #expect(try second.tryAdvisoryLock(AdvisoryLockKey.leader) == false)
        // Another key is independent.
        #expect(try second.tryAdvisoryLock(AdvisoryLockKey.migrations))
        #expect(try second.advisoryUnlock(AdvisoryLockKey.migrations))
        // The holder's session ends (its process died): the lock is free for the other host. pg_terminate_backend
        // with a timeout returns once the backend is gone, so there is no race with its exit.
        #expect(try second.query("SELECT pg_terminate_backend($1, 10000)", [first.backendPID]).scalar(as: Bool.self))
        first.close()
        #expect(try second.tryAdvisoryLock(AdvisoryLockKey.leader))
        #expect(try second.advisoryUnlock(AdvisoryLockKey.leader))
        #expect(try second.advisoryUnlock(AdvisoryLockKey.leader) == false)
    }
}

@Suite("Cancelling database work")
struct WorkerCancellationTests {
    @Test func cancelledTaskCancelsTheRunningStatement() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        // A statement timeout bounds the test if cancelling did not work (its message differs: see below).
        let worker = DatabaseWorker(url: database.url + " options='-c statement_timeout=30000'")
        defer { worker.shutdown() }
        // The job blocks in the server on an advisory lock this connection holds.
        let holder = try database.connect()
        let key: Int64 = 4242
        try holder.advisoryLock(key)
        let task = Task {
            try await worker.withConnection(cancellable: true) { connection in try connection.advisoryLock(key) }
        }
        // Wait (bounded) until the server shows the job waiting for the lock: then the statement is running.
        var waiting = false
        for _ in 0..<1000 where !waiting {
            waiting = try holder.query(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [key]
            ).scalar(as: Int.self) == 1
            if !waiting { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        try #require(waiting)
        task.cancel()
        let error = await #expect(throws: PostgresError.self) { try await task.value }
        #expect(error?.sqlState == "57014")
        #expect(error?.message.contains("user request") == true)
        // The worker and its connection carry on.
        #expect(try await worker.withConnection { try $0.query("SELECT 5").scalar(as: Int.self) } == 5)
    }

    @Test func alreadyCancelledTaskRunsOnlyNonCancellableJobs() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let worker = DatabaseWorker(url: database.url)
        defer { worker.shutdown() }
        try await worker.withConnection { try $0.executeScript("CREATE TABLE t (id int)") }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            // A shutdown path in a cancelled task still records its state (the default)…
            try await worker.withConnection { _ = try $0.query("INSERT INTO t VALUES (1)") }
            // …while a cancellable job is not even started.
            try await worker.withConnection(cancellable: true) { _ = try $0.query("INSERT INTO t VALUES (2)") }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        let ids = try await worker.withConnection { connection in
            try connection.query("SELECT id FROM t ORDER BY id").rows.map { try $0.decode(0, as: Int.self) }
        }
        #expect(ids == [1])
    }
}
