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

    @Test func aCallerWhileWorkIsInFlightJoinsItAndALaterOneStartsAnew() async {
        let shared = SharedTask<Int>()
        let runs = Counter()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let first = shared.join {
            for await _ in gate {}
            return await runs.increment()
        }
        let second = shared.join { await runs.increment() }
        #expect(first.startedAt == second.startedAt)
        open.finish()
        #expect(await first.task.value == 1)
        #expect(await second.task.value == 1)
        // The finished work cleared itself: the next caller starts it again.
        let third = shared.join { await runs.increment() }
        #expect(await third.task.value == 2)
    }
}

private actor Counter {
    private var count = 0
    func increment() -> Int {
        count += 1
        return count
    }
}
