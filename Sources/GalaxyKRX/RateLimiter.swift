import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Spaces requests to a KRX source so that the whole host stays within `GALAXY_RATE` requests per second.
///
/// The limiter keeps the time of the last request that went out. A caller takes the lock, sleeps until
/// `last + gap` (if that is still ahead), records the moment it woke as the new `last`, releases the lock and sends.
/// The gap is `1 / rate` plus a random extra of up to `jitter × interval`: jitter only ever lengthens it, so a burst
/// can never exceed the rate, and the request times do not form the exact metronome that bot detection looks for.
/// Because the recorded time is when the caller really woke (not when it asked), a caller that was scheduled late
/// pushes the next one back instead of squeezing the gap.
///
/// The last time lives either in memory (one process) or in a small shared file (`GALAXY_RATE_FILE`, which galaxyd
/// sets for its children), locked with `flock`: several collector children then share one budget, which is what KRX
/// sees — one host. Waiting callers block on the lock; a process that dies releases it with its descriptor.
public final class RateLimiter: Sendable {
    /// Requests per second; `<= 0` means unlimited.
    public let rate: Double
    /// Fraction of the interval added at random to each gap (0.25 = up to 25% longer).
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

    /// Blocks the calling thread until this caller may send. Returns the moment it may (seconds since 1970), which
    /// is also what the next caller's gap is measured from.
    @discardableResult
    public func acquire() throws -> Double {
        guard rate > 0 else { return wallClock() }
        let gap = interval * (1 + jitter * Double.random(in: 0...1))
        if let path = sharedStatePath {
            return try LockedStateFile(path: path).update { text in
                let sent = Self.wait(last: Double(text) ?? 0, gap: gap)
                return (sent, String(format: "%.6f", sent))
            }
        }
        return memory.withLock { last in
            last = Self.wait(last: last, gap: gap)
            return last
        }
    }

    /// Sleeps until `last + gap` and returns the time it woke.
    private static func wait(last: Double, gap: Double) -> Double {
        sleepUntil(target(now: wallClock(), last: last, gap: gap))
        return wallClock()
    }

    /// When a request may go out at `now` after one at `last`. A `last` in the future (the wall clock stepped back,
    /// a corrupt file) is not honoured beyond one hour.
    static func target(now: Double, last: Double, gap: Double) -> Double {
        guard last.isFinite, last <= now + max(3600, gap * 4) else { return now }
        return max(now, last + gap)
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
