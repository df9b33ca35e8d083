import FoundationEssentials
import Synchronization

/// Wall-clock time for the scheduler, injectable so tests never wait for 18:00.
public protocol SchedulerClock: Sendable {
    var now: Date { get }
    /// Returns at `deadline` (or throws when the task is cancelled).
    func sleep(until deadline: Date) async throws
}

/// The real clock. Sleeps in bounded steps so a wall-clock jump (NTP, suspend) delays a fire by at most a minute.
public struct SystemSchedulerClock: SchedulerClock {
    public init() {}
    public var now: Date { Date() }
    public func sleep(until deadline: Date) async throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return }
            try await Task.sleep(for: .seconds(min(remaining, 60)))
        }
    }
}

/// The real clock shifted to start at another instant: `galaxyd --now` for demos and end-to-end tests that need
/// "today" to be a given trading day. Time still passes at the real rate.
public struct ShiftedSchedulerClock: SchedulerClock {
    public let offset: TimeInterval

    public init(startingAt start: Date) { offset = start.timeIntervalSinceNow }

    public var now: Date { Date().addingTimeInterval(offset) }

    public func sleep(until deadline: Date) async throws {
        try await SystemSchedulerClock().sleep(until: deadline.addingTimeInterval(-offset))
    }
}

/// A clock that moves only when told: `advance(to:)` wakes every sleeper whose deadline has passed.
public final class ManualSchedulerClock: SchedulerClock {
    private struct State {
        var now: Date
        var sleepers: [(id: Int, deadline: Date, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID = 0
    }

    private let state: Mutex<State>

    public init(_ start: Date) { state = Mutex(State(now: start)) }

    public var now: Date { state.withLock { $0.now } }

    /// How many tasks are sleeping on this clock (tests wait for the scheduler to be parked before advancing).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func advance(to date: Date) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = max(state.now, date)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    public func sleep(until deadline: Date) async throws {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let resumeNow: Bool = state.withLock { state in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers.append((id, deadline, continuation))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }
}
