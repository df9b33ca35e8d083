import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `galaxy-bench status-latency`: how fast galaxyd answers `status` on its control socket, with one client and with
/// many at once.
///
/// Each call is what `galaxyctl status` does: connect to the Unix socket, write one request line, read one answer
/// line, close. Clients are plain threads with blocking sockets (no event loop of our own in the measurement), so
/// the figures are the daemon's latency plus the kernel's, not a client framework's.
struct StatusLatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status-latency",
        abstract: "Calls `status` on galaxyd's control socket from N concurrent clients; prints p50/p99/max and req/s.")

    @Option(help: "The control socket (GALAXY_SOCKET of the daemon under test).")
    var socket: String

    @Option(parsing: .upToNextOption, help: "Concurrent client counts to measure, one after the other.")
    var clients: [Int] = [1, 50]

    @Option(help: "Calls per measurement (split evenly between the clients).")
    var calls = 2_000

    @Flag(help: "One line per measurement in key=value form (for scripts/bench.sh) instead of prose.")
    var machine = false

    @Flag(help: "Each client keeps one connection for all its calls (measures the call, not connection setup).")
    var keepConnection = false

    func validate() throws {
        guard calls >= 1, clients.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--calls and every --clients value must be at least 1")
        }
    }

    func run() throws {
        // One warm-up round, so the first measurement does not pay for the daemon's first status of the run.
        _ = try Self.measure(socket: socket, clients: 1, calls: 20, keepConnection: keepConnection)
        for count in clients {
            let result = try Self.measure(socket: socket, clients: count, calls: calls, keepConnection: keepConnection)
            if machine {
                print(String(format: "clients=%d calls=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f rps=%.1f failures=%d",
                    count, result.latencies.count, result.percentile(0.50), result.percentile(0.99),
                    result.percentile(1.0), result.requestsPerSecond, result.failures))
            } else {
                print(String(format: "%3d clients, %d calls: p50 %.3f ms, p99 %.3f ms, max %.3f ms, %.0f req/s, %d failed",
                    count, result.latencies.count, result.percentile(0.50), result.percentile(0.99),
                    result.percentile(1.0), result.requestsPerSecond, result.failures))
            }
        }
    }

    struct Result {
        var latencies: [Double]  // milliseconds, sorted
        var seconds: Double
        var failures: Int

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            let index = min(latencies.count - 1, max(0, Int((Double(latencies.count) * p).rounded(.up)) - 1))
            return latencies[index]
        }

        var requestsPerSecond: Double { Double(latencies.count) / seconds }
    }

    /// Runs `calls` status calls spread over `clients` threads started together.
    static func measure(socket: String, clients: Int, calls: Int, keepConnection: Bool) throws -> Result {
        let perClient = max(1, calls / clients)
        let collected = LatencyBox()
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<clients {
            group.enter()
            let thread = Thread {
                var own: [Double] = []
                own.reserveCapacity(perClient)
                var failed = 0
                if keepConnection {
                    (own, failed) = StatusCall.session(socket: socket, calls: perClient)
                } else {
                    for _ in 0..<perClient {
                        let begin = DispatchTime.now().uptimeNanoseconds
                        if StatusCall.once(socket: socket) {
                            own.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                        } else {
                            failed += 1
                        }
                    }
                }
                collected.add(own, failures: failed)
                group.leave()
            }
            thread.stackSize = 256 << 10
            thread.start()
        }
        group.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let (latencies, failures) = collected.take()
        guard !latencies.isEmpty else {
            throw ValidationError("no `status` call to \(socket) succeeded (is galaxyd running there?)")
        }
        return Result(latencies: latencies.sorted(), seconds: seconds, failures: failures)
    }
}

/// Latencies gathered from the client threads.
final class LatencyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var failures = 0

    func add(_ values: [Double], failures failed: Int) {
        lock.lock()
        defer { lock.unlock() }
        latencies += values
        failures += failed
    }

    func take() -> ([Double], Int) {
        lock.lock()
        defer { lock.unlock() }
        return (latencies, failures)
    }
}

/// One `status` exchange over a blocking Unix socket.
enum StatusCall {
    static let request = Array(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#.utf8) + [UInt8(ascii: "\n")]

    /// True when a complete answer line carrying a `result` came back.
    static func once(socket path: String) -> Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connectUnix(fd, path) else { return false }
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return false }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            answer += buffer[0..<count]
            if buffer[0..<count].contains(UInt8(ascii: "\n")) { break }
        }
        return String(decoding: answer, as: UTF8.self).contains(#""result":"#)
    }

    /// `calls` status calls over one connection, one at a time; returns the latencies (ms) and the failures.
    static func session(socket path: String, calls: Int) -> ([Double], Int) {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return ([], calls) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connectUnix(fd, path) else { return ([], calls) }
        var latencies: [Double] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var pending: [UInt8] = []
        for done in 0..<calls {
            let begin = DispatchTime.now().uptimeNanoseconds
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == request.count else { return (latencies, calls - done) }
            while !pending.contains(UInt8(ascii: "\n")) {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return (latencies, calls - done) }
                pending += buffer[0..<count]
            }
            let end = pending.firstIndex(of: UInt8(ascii: "\n"))!
            let line = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeSubrange(...end)
            guard line.contains(#""result":"#) else { return (latencies, calls - done) }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
        }
        return (latencies, 0)
    }

    static func connectUnix(_ fd: Int32, _ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}
