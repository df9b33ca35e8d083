import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Spaces requests to a KRX source so that the whole host stays within `GALAXY_RATE` requests per second.
///
/// Requests get slots `1 / rate` apart: a caller takes the lock, takes the slot after the last one handed out (or
/// now, if that is already past: idle time is not saved up for a burst), sleeps until a random point in the first
/// `jitter` of its slot, records the slot, releases the lock and sends. So the long-run rate is the limit itself (not
/// a jitter-lowered fraction of it), no window of time ever holds more than one request beyond `rate × window`, and
/// the gaps (between `1 - jitter` and `1 + jitter` intervals) never form the exact metronome that bot detection
/// looks for.
///
/// The last time lives either in memory (one process) or in a small shared file (`GALAXY_RATE_FILE`, which galaxyd
/// sets for its children), locked with `flock`: several collector children then share one budget, which is what KRX
/// sees — one host. Waiting callers block on the lock; a process that dies releases it with its descriptor.
public final class RateLimiter: Sendable {
    /// Requests per second; `<= 0` means unlimited.
    public let rate: Double
    /// Fraction of its slot within which each request goes out at random (0.25 = the first quarter).
    public let jitter: Double
    /// The shared state file, if the budget is shared between processes.
    public let sharedStatePath: String?
    private let memory = LockedValue<Double>(0)

    public init(rate: Double, jitter: Double = 0.25, sharedStatePath: String? = nil) {
        self.rate = rate.isFinite ? rate : 0
        self.jitter = max(0, jitter.isFinite ? jitter : 0)
        self.sharedStatePath = sharedStatePath
    }

    /// The limiter galaxy's processes use: `GALAXY_RATE`'s value and, when galaxyd set it, `GALAXY_RATE_FILE`.
    public static func fromEnvironment(rate: Double, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> RateLimiter
    {
        let path = environment["GALAXY_RATE_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        return RateLimiter(rate: rate, sharedStatePath: path)
    }

    /// The minimum gap between two requests, in seconds (0 when unlimited).
    public var interval: Double { rate > 0 ? 1 / rate : 0 }

    /// Blocks the calling thread until this caller may send. Returns the moment it may (seconds since 1970).
    @discardableResult
    public func acquire() throws -> Double {
        guard rate > 0 else { return wallClock() }
        let offset = interval * jitter * Double.random(in: 0..<1)
        if let path = sharedStatePath {
            return try LockedStateFile(path: path).update { text in
                let slot = Self.slot(now: wallClock(), last: Double(text) ?? 0, interval: interval)
                sleepUntil(slot + offset)
                return (slot + offset, String(format: "%.6f", slot))
            }
        }
        return memory.withLock { last in
            last = Self.slot(now: wallClock(), last: last, interval: interval)
            sleepUntil(last + offset)
            return last + offset
        }
    }

    /// The slot of a request asked for at `now` when the last slot handed out began at `last`. A `last` in the
    /// future (the wall clock stepped back, a corrupt file) is not honoured beyond one hour.
    static func slot(now: Double, last: Double, interval: Double) -> Double {
        guard last.isFinite, last <= now + max(3600, interval * 4) else { return now }
        return max(now, last + interval)
    }
}

/// A small state file shared by processes: its text is read and replaced under an exclusive `flock`, so a
/// read-modify-write by one process never interleaves with another's.
struct LockedStateFile {
    let path: String

    /// Runs `body` with the file's current text (empty when new) while holding the lock and writes the returned
    /// text back before releasing it.
    func update<T>(_ body: (String) throws -> (T, String)) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw KRXError.transport("cannot open the shared state file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }  // closing the descriptor also releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw KRXError.transport(
                    "cannot lock the shared state file \(path): \(String(cString: strerror(errno)))")
            }
        }
        // Small files (a time, a counter, a cookie jar); the cap only guards against a file that is not ours.
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = pread(fd, &buffer, buffer.count, off_t(bytes.count))
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        let (result, text) = try body(String(decoding: bytes, as: UTF8.self).krxTrimmed)
        let line = Array((text + "\n").utf8)
        guard ftruncate(fd, 0) == 0, pwrite(fd, line, line.count, 0) == line.count else {
            throw KRXError.transport(
                "cannot write the shared state file \(path): \(String(cString: strerror(errno)))")
        }
        return result
    }
}

/// Seconds since 1970 from the real-time clock: the one clock that several processes agree on.
func wallClock() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Sleeps the calling thread until the wall clock reaches `deadline` (returns at once if it has).
func sleepUntil(_ deadline: Double) {
    while true {
        let remaining = deadline - wallClock()
        guard remaining > 0 else { return }
        var spec = timespec(tv_sec: Int(remaining), tv_nsec: Int((remaining - Double(Int(remaining))) * 1e9))
        _ = nanosleep(&spec, nil)
    }
}

/// Sleeps the calling thread for `seconds`.
func sleepFor(_ seconds: Double) {
    guard seconds > 0 else { return }
    sleepUntil(wallClock() + seconds)
}

/// A value behind a lock, for the small amounts of mutable state the synchronous clients share between threads.
final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
