import Testing

@testable import GalaxySupervisor

/// `Task.value(within:)` decides whether the leader still leads: a value that arrived in time must never be reported
/// as a timeout (a leader would fence itself and skip the 18:00 run).
@Suite struct DeadlineTests {
    @Test func aValueThatArrivesInTimeIsNeverATimeout() async {
        var timeouts = 0
        for attempt in 0..<5_000 {
            let task = Task<Int, Never> { attempt }
            if await task.value(within: .seconds(10)) == nil { timeouts += 1 }
        }
        #expect(timeouts == 0)
    }

    @Test func aValueThatDoesNotArriveIsATimeoutAtTheDeadline() async {
        let (stream, release) = AsyncStream<Void>.makeStream()
        let blocked = Task<Int, Never> {
            for await _ in stream {}
            return 1
        }
        let started = ContinuousClock.now
        #expect(await blocked.value(within: .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        release.finish()
        #expect(await blocked.value == 1)
    }
}
