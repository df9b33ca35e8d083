#if canImport(Glibc)
import Glibc
#endif

/// A named OS thread for work that blocks (libpq, `poll`, `wait4`) and so must stay off Swift's cooperative pool,
/// which has only as many threads as cores.
///
/// Why not Foundation's `Thread`: galaxyd does not link Foundation (it costs ~8 MiB of resident memory with ICU),
/// and pthreads are all a dedicated thread needs.
public enum DedicatedThread {
    /// Starts `body` on a new detached thread named `name` (Linux keeps the first 15 bytes). Fails only when the
    /// system cannot create a thread, which is fatal for a daemon that needs one.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, dedicatedThreadEntry, box)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(box).release()
            fatalError("cannot start thread \(name): pthread_create returned \(result)")
        }
        pthread_detach(thread)
    }

    fileprivate static func run(_ argument: UnsafeMutableRawPointer?) {
        guard let argument else { return }
        let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
        nameCurrentThread(start.name)
        start.body()
    }

    /// `pthread_setname_np` is not visible to Swift on glibc; `/proc/thread-self/comm` is what it writes.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    private final class Start: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}

private func dedicatedThreadEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    DedicatedThread.run(argument)
    return nil
}

/// A mutex with a condition variable, for the few places where a dedicated thread waits for work (the database
/// worker's queue). Async code uses `Synchronization.Mutex` instead: it never waits.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Releases the lock, waits for a signal and takes the lock again; callers re-check their condition in a loop.
    public func wait() { pthread_cond_wait(condition, mutex) }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
