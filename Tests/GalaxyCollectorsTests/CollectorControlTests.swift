@testable import GalaxyCollectors
import GalaxyCore
import Testing

@Suite("Cancellation never cuts a day in half")
struct CollectorControlTests {
    @Test("outside a write: an outcome to exit with now, and no write may begin afterwards")
    func cancelBetweenDays() throws {
        let control = CollectorControl()
        control.start(label: "test", daysTotal: 3)
        _ = control.recordSettled(rows: 0, requests: 0)
        let outcome = try #require(control.requestCancellation())
        #expect(outcome.exitCode == .partialFailure, "two days undone")
        #expect(outcome.message.contains("cancelled with 2 days not collected"))
        #expect(!control.beginWrite(), "the fetched day is abandoned, not written")
    }

    @Test("inside a write: no outcome (the day commits first), then the run stops")
    func cancelDuringWrite() {
        let control = CollectorControl()
        control.start(label: "test", daysTotal: 1)
        #expect(control.beginWrite())
        #expect(control.requestCancellation() == nil, "the process must not exit mid-transaction")
        control.endWrite()
        _ = control.recordSettled(rows: 0, requests: 0)
        #expect(control.isCancelled)
        #expect(control.requestCancellation()?.exitCode == .success, "the only day was stored: nothing undone")
    }

    @Test("cancelled before the plan: nothing was done, so not a success")
    func cancelBeforePlan() throws {
        let control = CollectorControl()
        let outcome = try #require(control.requestCancellation())
        #expect(outcome.exitCode == .partialFailure)
        #expect(outcome.message.contains("before the days were planned"))
    }
}
