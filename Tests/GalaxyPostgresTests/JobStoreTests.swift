import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

@Suite("Job run history")
struct JobStoreTests {
    @Test func runAndTaskLifecycle() throws {
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let connection = try database.connect()
        let store = JobStore(connection)

        struct Params: Codable, Equatable {
            var startYear: Int
        }
        let runID = try store.createRun(
            kind: "backfill", params: try PostgresJSON(encoding: Params(startYear: 2010)),
            requestedBy: "uid 0 (pid 42)")
        let range = DateRange(TradeDate(year: 2010, month: 1, day: 1)!, TradeDate(year: 2010, month: 12, day: 31)!)!
        let taskID = try store.addTask(runID: runID, position: 0, collector: "price", range: range)
        try store.setRunState(runID, state: "running")
        try store.startTask(taskID, pid: 4242)
        try store.updateTaskProgress(taskID, daysDone: 100, rows: 280_000)
        try store.finishTask(
            taskID, state: "failed",
            outcome: TaskOutcome(signal: 9, runtimeMilliseconds: 1_234, peakRSSKilobytes: 65_536, error: "OOM-killed"))

        let run = try #require(try store.run(runID))
        #expect(run.kind == "backfill")
        #expect(run.state == "running")
        #expect(run.startedAt != nil)
        #expect(run.finishedAt == nil)
        #expect(try run.params.decode(Params.self) == Params(startYear: 2010))
        let task = try #require(try store.tasks(ofRun: runID).first)
        #expect(task.rangeStart == range.start)
        #expect(task.rangeEnd == range.end)
        #expect(task.daysTotal == 365)
        #expect(task.daysDone == 100)
        #expect(task.rows == 280_000)
        #expect(task.pid == 4242)
        #expect(task.attempts == 1)
        #expect(task.signal == 9)
        #expect(task.exitCode == nil)
        #expect(task.peakRSSKilobytes == 65_536)
        #expect(task.error == "OOM-killed")
        #expect(task.finishedAt != nil)

        // A daemon restart marks what was running as interrupted.
        #expect(try store.runs(inStates: ["running"]).map(\.id) == [runID])
        #expect(try store.markInterrupted() == 1)
        #expect(try store.run(runID)?.state == "interrupted")
        #expect(try store.runs(inStates: ["running"]).isEmpty)

        try store.setRunState(runID, state: "succeeded", finished: true, summary: PostgresJSON(#"{"rows": 1}"#))
        let finished = try #require(try store.recentRuns(limit: 5).first)
        #expect(finished.state == "succeeded")
        #expect(finished.finishedAt != nil)
        #expect(finished.summary.map { try? $0.decode([String: Int].self) } == ["rows": 1])
    }
}
