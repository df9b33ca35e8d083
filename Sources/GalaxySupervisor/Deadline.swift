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
