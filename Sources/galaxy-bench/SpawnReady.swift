import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `galaxy-bench spawn-ready`: the fixed cost galaxyd pays per collector child, from spawn to the child's `READY=1`.
///
/// The child is the real `galaxy-collector`, started the way galaxyd starts it (its own `NOTIFY_SOCKET`, a datagram
/// socket this command binds), so the figure includes process creation, the dynamic loader, the Swift runtime,
/// configuration and the database connection: everything between galaxyd's `posix_spawn` and the child's readiness.
/// The baseline in the same run is spawning `/bin/true` and reaping it (the bare fork/exec/wait cost).
struct SpawnReady: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spawn-ready",
        abstract: "Measures spawn → READY=1 of galaxy-collector beside spawn → exit of /bin/true.")

    @Option(help: "The galaxy-collector executable.")
    var collector: String

    @Option(help: "Repetitions of each measurement.")
    var count = 20

    @Option(parsing: .remaining, help: "Arguments for the collector after `--arguments` (e.g. stock --date D).")
    var arguments: [String] = []

    @Flag(help: "key=value output for scripts/bench.sh.")
    var machine = false

    func run() throws {
        let directory = NSTemporaryDirectory() + "galaxy-bench-spawn-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/notify"
        let listener = try NotifyDatagramSocket(path: socketPath)
        defer { listener.close() }

        // The baseline goes through posix_spawn and waitpid directly: Foundation's waitUntilExit polls its run loop
        // and would add its own latency to a figure of a few milliseconds.
        var baseline: [Double] = []
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
            defer { for pointer in argv { free(pointer) } }
            guard posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0 else {
                throw ValidationError("posix_spawn /bin/true failed")
            }
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            baseline.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }

        var ready: [Double] = []
        for _ in 0..<count {
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = socketPath
            let process = Process()
            process.executableURL = URL(fileURLWithPath: collector)
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let start = DispatchTime.now().uptimeNanoseconds
            try process.run()
            guard listener.waitForReady(timeoutSeconds: 30) else {
                process.terminate()
                throw ValidationError("galaxy-collector \(arguments.joined(separator: " ")) sent no READY=1 within 30 s")
            }
            ready.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            process.waitUntilExit()
            listener.drain()
        }
        baseline.sort()
        ready.sort()
        let baselineMedian = baseline[baseline.count / 2]
        let readyMedian = ready[ready.count / 2]
        if machine {
            print(String(format: "ready_p50_ms=%.2f ready_max_ms=%.2f true_p50_ms=%.2f count=%d",
                readyMedian, ready.last ?? 0, baselineMedian, count))
        } else {
            print(String(format: "galaxy-collector spawn → READY=1: median %.2f ms (max %.2f) over %d; "
                + "/bin/true spawn → exit: median %.2f ms", readyMedian, ready.last ?? 0, count, baselineMedian))
        }
    }
}

/// A bound `AF_UNIX` datagram socket that receives sd_notify-style messages.
final class NotifyDatagramSocket {
    private let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket(AF_UNIX, SOCK_DGRAM) failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ValidationError("notify socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw ValidationError("cannot bind \(path): errno \(errno)") }
    }

    /// Reads datagrams until one carries `READY=1`.
    func waitForReady(timeoutSeconds: Int) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutSeconds) * 1_000_000_000
        var buffer = [UInt8](repeating: 0, count: 4096)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            if text.split(separator: "\n").contains("READY=1") { return true }
        }
        return false
    }

    /// Discards queued datagrams (heartbeats and progress of the previous child).
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
    }

    func close() { _ = Glibc.close(fd) }
}
