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

        let opened = try store.open("portal", until: now.addingTimeInterval(86_400), reason: "block page (에러페이지)", at: now)
        #expect(opened.openUntil == now.addingTimeInterval(86_400))
        #expect(try store.openBreaker(for: "portal", at: now.addingTimeInterval(60)) == opened)
        #expect(try store.openBreaker(for: "portal", at: now.addingTimeInterval(86_401)) == nil)

        // Another process opening it with an earlier deadline never shortens it.
        let again = try store.open("portal", until: now.addingTimeInterval(3600), reason: "403", at: now.addingTimeInterval(10))
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
        try admin.query("SELECT pg_terminate_backend($1)", [pid])
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
