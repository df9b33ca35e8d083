import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `galaxy-bench status-latency`: how fast galaxyd answers `status` on its control socket, with one client and with
/// many at once.
///
/// Each call is what `galaxyctl status` does: connect to the Unix socket, write one request line, read one answer
/// line, close (or, with `--keep-connection`, the next call on the same connection). The clients are connections
/// driven by one thread with epoll, as wrk drives HTTP: fifty client threads on two cores would measure the
/// kernel's scheduling of the clients as much as the daemon.
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

    @Option(help: ArgumentHelp(
        "Milliseconds from one call's start to the same client's next (a fixed offered load, as polling clients make).",
        discussion: "Without it each client calls again as soon as it has its answer: a saturation test."))
    var paceMs: Double?

    func validate() throws {
        guard calls >= 1, clients.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--calls and every --clients value must be at least 1")
        }
        if let paceMs, !(paceMs > 0 && paceMs < 60_000) {
            throw ValidationError("--pace-ms must be between 0 and 60000 milliseconds")
        }
    }

    func run() throws {
        // One warm-up round, so the first measurement does not pay for the daemon's first status of the run.
        _ = try Self.measure(socket: socket, clients: 1, calls: 20, keepConnection: keepConnection, pace: nil)
        for count in clients {
            let result = try Self.measure(
                socket: socket, clients: count, calls: calls, keepConnection: keepConnection,
                pace: paceMs.map { UInt64($0 * 1e6) })
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

    /// Runs `calls` status calls from `clients` concurrent connections, each with one call outstanding at a time.
    static func measure(socket: String, clients: Int, calls: Int, keepConnection: Bool, pace: UInt64?) throws -> Result {
        var load = StatusLoad(
            socket: socket, clients: clients, calls: calls, keepConnection: keepConnection, pace: pace)
        let start = DispatchTime.now().uptimeNanoseconds
        try load.run()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard !load.latencies.isEmpty else {
            throw ValidationError("no `status` call to \(socket) succeeded (is galaxyd running there?)")
        }
        return Result(latencies: load.latencies.sorted(), seconds: seconds, failures: load.failures)
    }
}

/// The control socket's address and the request `galaxyctl status` sends.
enum StatusCall {
    static let request = Array(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#.utf8) + [UInt8(ascii: "\n")]

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
