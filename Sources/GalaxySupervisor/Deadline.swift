import Synchronization

extension Task where Failure == Never {
    /// The task's value, or nil once `deadline` passed, whichever comes first; never waits for the task past the
    /// deadline (a query blocked on a dead network keeps its thread, not its caller).
    ///
    /// A value that arrives in time is never reported as a timeout: the timer answers only when its sleep ran out,
    /// not when it was cancelled, and the value claims the answer before it cancels the timer.
    func value(within deadline: Duration) async -> Success? {
        let race = Race<Success>()
        return await withCheckedContinuation { continuation in
            race.slot.withLock { $0 = continuation }
            let timer = Task<Void, Never> {
                guard (try? await Task<Never, Never>.sleep(for: deadline)) != nil else { return }
                race.finish(nil)
            }
            Task<Void, Never> {
                race.finish(await self.value)
                timer.cancel()
            }
        }
    }
}

/// The continuation two tasks race to resume; the first to finish answers.
private final class Race<T: Sendable>: Sendable {
    let slot = Mutex<CheckedContinuation<T?, Never>?>(nil)
    func finish(_ value: T?) { slot.withLock { $0.take() }?.resume(returning: value) }
}

/// One piece of work in flight at a time: a caller that comes while it runs joins it rather than starting another.
/// Work a slow or partitioned database holds up (a lock check, a ledger read) then never piles up on its connection,
/// and each caller still bounds its own wait with ``Task/value(within:)``.
final class SharedTask<Value: Sendable>: Sendable {
    private let current = Mutex<(task: Task<Value, Never>, startedAt: ContinuousClock.Instant)?>(nil)

    /// The work in flight, started with `work` when there is none, and when it started.
    func join(_ work: @escaping @Sendable () async -> Value)
        -> (task: Task<Value, Never>, startedAt: ContinuousClock.Instant)
    {
        current.withLock { current in
            if let current { return current }
            let startedAt = ContinuousClock.now
            // Stored under the lock the task's own clean-up takes, so it cannot clear itself before it is stored.
            let task = Task { [self] in
                let value = await work()
                self.current.withLock { $0 = nil }
                return value
            }
            current = (task, startedAt)
            return (task, startedAt)
        }
    }
}
