import Foundation
import GalaxyCore
import GalaxyKRX

/// Fetches the days of a range run on a thread of its own, at most `depth` days ahead of the writer.
///
/// A collector spends a day's time in two blocking halves: fetching (rate limiter, libcurl, the source's rendering,
/// JSON) and storing (libpq, PostgreSQL's COPY and upsert). Done one after the other, each waits for the other; with
/// this hand-off, day N+1 is fetched while day N is stored. Everything else stays as it was: the days are fetched and
/// handed over in date order, one request at a time through the same client (so the shared rate limiter, retries,
/// breaker and session see exactly the sequence they saw before), and the writer settles them in that order.
///
/// The bound keeps memory flat (at most `depth` parsed days wait, plus the one being fetched). A fetch error that
/// ends the run (`isFinal`: a block page, refused credentials) is handed over like any result and the thread fetches
/// no further day; `stop()` (the writer ends the run early: cancellation, a lost database) makes it stop after the
/// request in flight and waits until it has, so no request outlives the run.
final class DayPrefetcher: @unchecked Sendable {
    /// One fetched day: the source's answer or its error, and how long the fetch took.
    struct Fetched {
        let date: TradeDate
        let result: Result<DayFetch, any Error>
        let seconds: Double
        /// The client's request count right after this day's fetch: what the progress of this day reports (later
        /// days' requests may already be under way).
        let requests: Int
    }

    private let days: [TradeDate]
    private let depth: Int
    private let fetch: @Sendable (TradeDate) throws -> DayFetch
    private let isCancelled: @Sendable () -> Bool
    private let isFinal: @Sendable (any Error) -> Bool
    private let requestCount: @Sendable () -> Int

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var ready: [Fetched] = []
    private var producerDone = false
    private var stopRequested = false
    private var started = false

    /// - Parameters:
    ///   - days: the days to fetch, in the order the writer will ask for them.
    ///   - depth: how many fetched days may wait for the writer (1–2 keeps memory flat).
    ///   - isCancelled: checked before every fetch (the collector's cancellation).
    ///   - isFinal: whether a fetch error ends the run (no later day is fetched then).
    ///   - requestCount: the client's requests so far, read after each fetch.
    ///   - fetch: one day's fetch; runs on the prefetch thread.
    init(
        days: [TradeDate], depth: Int = 2, isCancelled: @escaping @Sendable () -> Bool,
        isFinal: @escaping @Sendable (any Error) -> Bool, requestCount: @escaping @Sendable () -> Int,
        fetch: @escaping @Sendable (TradeDate) throws -> DayFetch
    ) {
        precondition(depth >= 1, "a prefetch depth of at least 1")
        self.days = days
        self.depth = depth
        self.fetch = fetch
        self.isCancelled = isCancelled
        self.isFinal = isFinal
        self.requestCount = requestCount
    }

    /// Starts the fetch thread (a plain thread: libcurl blocks, and Swift's cooperative pool must not).
    func start() {
        condition.lock()
        precondition(!started, "DayPrefetcher.start() called twice")
        started = true
        condition.unlock()
        let thread = Thread { [self] in produce() }
        thread.name = "galaxy-prefetch"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The next fetched day, in order, waiting for it if needed; nil when no further day will come (all fetched, a
    /// final error handed over, cancelled, or stopped).
    func next() -> Fetched? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !producerDone { condition.wait() }
        guard !ready.isEmpty else { return nil }
        let fetched = ready.removeFirst()
        condition.broadcast()  // room for the producer
        return fetched
    }

    /// Ends prefetching: the thread fetches no further day and days already fetched are dropped (never written).
    /// Waits until the thread has finished its request in flight, but at most `limit`: a run that stops early
    /// (cancelled, a lost database) must not wait out a hanging request and its retries; the process exits right
    /// after the run, and the abandoned thread fetches nothing more.
    ///
    /// - Returns: whether the thread has finished.
    @discardableResult
    func stop(waitingAtMost limit: Duration = .seconds(2)) -> Bool {
        let (seconds, attoseconds) = limit.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        if stopRequested { return !started || producerDone }  // waited once already
        stopRequested = true
        ready.removeAll()
        condition.broadcast()
        while started && !producerDone {
            if !condition.wait(until: deadline) { break }
        }
        return !started || producerDone
    }

    private func produce() {
        for date in days {
            condition.lock()
            while ready.count >= depth && !stopRequested { condition.wait() }
            let stop = stopRequested
            condition.unlock()
            if stop || isCancelled() { break }

            let began = ContinuousClock.now
            let result = Result { try fetch(date) }
            let seconds = CollectorRun.seconds(ContinuousClock.now - began)
            let requests = requestCount()

            condition.lock()
            if !stopRequested { ready.append(Fetched(date: date, result: result, seconds: seconds, requests: requests)) }
            condition.broadcast()
            condition.unlock()
            if case .failure(let error) = result, isFinal(error) { break }
        }
        condition.lock()
        producerDone = true
        condition.broadcast()
        condition.unlock()
    }
}
