import FoundationEssentials
import GalaxyCore

/// Runs a ``Connection`` on ONE dedicated thread for async callers (galaxyd).
///
/// libpq blocks; Swift's cooperative pool has only as many threads as cores (2 here), so a blocking query there
/// would stall the whole daemon. The worker owns its thread and its connection: jobs queue up and run one at a time
/// in order, which is exactly what a libpq connection allows. The connection is opened lazily on the worker thread
/// and re-opened on the next job after it was lost or found closed by the server while idle (a job that fails with
/// `.connectionLost` is not retried: the caller decides whether repeating it is safe).
///
/// `@unchecked Sendable`: the mutable state (queue, stopped flag) is guarded by `condition`; the connection is only
/// touched on the worker thread.
public final class DatabaseWorker: @unchecked Sendable {
    private let url: String?
    private let condition = ConditionLock()
    private var jobs: [() -> Void] = []
    private var stopped = false
    private var finished = false
    /// Touched only on the worker thread.
    private var connection: Connection?
    /// Cancels `connection`'s running statement from another thread. Touched only on the worker thread.
    private var canceller: QueryCanceller?

    /// Starts the worker thread; call ``shutdown()`` when done (the thread keeps the worker alive until then).
    /// No connection is made until the first job, so a daemon reports an unreachable database from its first
    /// query (with the usual clear message) rather than from a constructor.
    public init(url: String?, name: String = "galaxy-db") {
        self.url = url
        DedicatedThread.start(name: name) { [self] in run() }
    }

    /// Runs `body` with the worker's connection on the worker thread and returns its result.
    ///
    /// Fails with `.connection` when the database cannot be reached, and with a `.usage` error after ``shutdown()``.
    ///
    /// By default the job runs to completion even when the calling task is cancelled: a shutting-down daemon must
    /// still be able to record what it interrupted. With `cancellable: true`, cancelling the calling task cancels
    /// the job instead: one still queued never runs (`CancellationError`), one running has its statement cancelled
    /// on the server (a ``PostgresError`` with SQLSTATE `57014`) — for long reads nobody waits for any more.
    public func withConnection<T: Sendable>(
        cancellable: Bool = false, _ body: @Sendable (Connection) throws -> T
    ) async throws -> T {
        if cancellable { try Task.checkCancellation() }
        let job = JobCancellation()
        return try await withTaskCancellationHandler {
            // `body` does not outlive this call: the job drops its only reference (`slot`) before resuming us, and
            // `withoutActuallyEscaping` checks exactly that.
            try await withoutActuallyEscaping(body) { body in
                let slot = BodySlot(body)
                return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                    let accepted = enqueue { [self] in
                        let result: Result<T, any Error>
                        do {
                            let connection = try openConnection()
                            guard job.start(canceller: canceller) else {
                                throw CancellationError()
                            }
                            defer { job.finish() }
                            result = .success(try slot.take()(connection))
                        } catch {
                            result = .failure(error)
                        }
                        slot.clear()
                        continuation.resume(with: result)
                    }
                    if !accepted {
                        slot.clear()
                        continuation.resume(throwing: PostgresError.usage("the database worker was shut down"))
                    }
                }
            }
        } onCancel: {
            if cancellable { job.cancel() }
        }
    }

    /// Finishes the queued jobs, closes the connection and ends the thread. Later calls fail. Waits for the thread.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func enqueue(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func openConnection() throws(PostgresError) -> Connection {
        if let connection, connection.isUsable { return connection }
        connection?.close()
        connection = nil
        canceller = nil
        let fresh = try Connection(url: url)
        connection = fresh
        canceller = fresh.makeCanceller()
        return fresh
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                connection?.close()
                connection = nil
                canceller = nil
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// Holds a job's closure so the worker can release it before resuming the caller (see `withConnection`).
private final class BodySlot<T>: @unchecked Sendable {
    private var body: ((Connection) throws -> T)?

    init(_ body: @escaping (Connection) throws -> T) { self.body = body }

    /// Only called on the worker thread, before `clear()`.
    func take() -> (Connection) throws -> T {
        guard let body else { preconditionFailure("a database job ran twice") }
        return body
    }

    func clear() { body = nil }
}

/// The cancellation state of one job, shared between the worker thread and the task's cancellation handler.
///
/// The lock is held while a cancel request is sent, and `finish()` takes it too, so a cancel meant for this job can
/// never be sent after the job finished (when it could hit the next job's statement).
private final class JobCancellation: @unchecked Sendable {
    private let lock = ConditionLock()
    private var cancelled = false
    private var running = false
    private var canceller: QueryCanceller?

    /// Called on the worker thread before the job runs; false if the task was already cancelled.
    func start(canceller: QueryCanceller?) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled else { return false }
        running = true
        self.canceller = canceller
        return true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        running = false
        canceller = nil
    }

    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
        if running { canceller?.cancel() }
    }
}
