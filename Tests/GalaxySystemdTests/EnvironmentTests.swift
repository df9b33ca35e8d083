import Foundation
import GalaxySystemd
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `takeFromProcess()` reads and unsets the process environment, which is not thread-safe, and `LISTEN_PID` must be
/// the pid of the process that reads it. So each case runs in a fresh copy of this test binary, started through
/// `sh -c 'LISTEN_PID=$$ exec …'` exactly as a service manager would set it, running only
/// `environmentChild()`, which reports what it took. The parent waits on NIO's blocking pool, never on the
/// cooperative pool the other tests need.
@Suite("Taking systemd's environment at start")
struct EnvironmentTests {
    @Test("socket activation, watchdog and notify socket are read, and every variable is unset")
    func takesAndUnsets() async throws {
        let report = try await Self.runChild(
            """
            NOTIFY_SOCKET=/run/systemd/notify WATCHDOG_USEC=30000000 WATCHDOG_PID=$$ LISTEN_PID=$$ LISTEN_FDS=1 \
            LISTEN_FDNAMES=control LISTEN_PIDFDID=12345 GALAXY_UNRELATED=kept
            """)
        #expect(report["notify"] == "/run/systemd/notify")
        #expect(report["watchdog"] == "30000000")
        #expect(report["ping"] == "15000000")
        #expect(report["fds"] == "3:control")
        #expect(report["problems"] == "0")
        #expect(report["leftover"] == "")
        #expect(report["unrelated"] == "kept")
    }

    @Test("variables meant for another process are ignored, and still unset")
    func otherProcess() async throws {
        let report = try await Self.runChild(
            "WATCHDOG_USEC=30000000 WATCHDOG_PID=$(($$+1)) LISTEN_PID=$(($$+1)) LISTEN_FDS=1")
        #expect(report["notify"] == "none")
        #expect(report["watchdog"] == "none")
        #expect(report["fds"] == "")
        #expect(report["leftover"] == "")
    }

    @Test("inconsistent LISTEN_FDNAMES and a bad WATCHDOG_USEC are reported, not fatal")
    func inconsistent() async throws {
        let report = try await Self.runChild(
            "WATCHDOG_USEC=soon LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=control")
        #expect(report["watchdog"] == "none")
        #expect(report["fds"] == "")
        #expect(report["problems"] == "2")
        #expect(report["leftover"] == "")
    }

    /// The child side; outside a child it does nothing (the three tests above are its assertions).
    @Test func environmentChild() {
        guard getenv("GALAXY_SYSTEMD_ENV_CHILD") != nil else { return }
        let environment = SystemdEnvironment.takeFromProcess()
        let notify: String = environment.notifySocket ?? "none"
        let watchdog: String = environment.watchdogTimeout.map { String(Self.microseconds($0)) } ?? "none"
        let ping: String = environment.watchdog.map { String(Self.microseconds($0.pingInterval)) } ?? "none"
        let fds: [String] = environment.listenFileDescriptors.map { "\($0.fileDescriptor):\($0.name)" }
        let leftover: [String] = SystemdEnvironment.variableNames.filter { getenv($0) != nil }
        let unrelated: String = getenv("GALAXY_UNRELATED").map { String(cString: $0) } ?? "none"
        var fields: [String] = []
        fields.append("notify=" + notify)
        fields.append("watchdog=" + watchdog)
        fields.append("ping=" + ping)
        fields.append("fds=" + fds.joined(separator: ","))
        fields.append("problems=\(environment.problems.count)")
        fields.append("leftover=" + leftover.joined(separator: ","))
        fields.append("unrelated=" + unrelated)
        print("ENV-REPORT " + fields.joined(separator: " "))
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }

    /// Runs `environmentChild()` in a new copy of this binary with `assignments` (shell syntax, `$$` is the
    /// child's pid) and returns its report.
    static func runChild(_ assignments: String) async throws -> [String: String] {
        var pathBuffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &pathBuffer, pathBuffer.count - 1)
        try #require(length > 0)
        let binary = String(decoding: pathBuffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let command =
            // fds 3 and 4 exist in the child, as the passed sockets would (libsystemd marks them close-on-exec).
            "exec 3</dev/null 4</dev/null; export \(assignments) GALAXY_SYSTEMD_ENV_CHILD=1; "
            + "exec '\(binary)' --testing-library swift-testing "
            + "--filter 'EnvironmentTests/environmentChild' 2>/dev/null"
        let output = try await runProcess(["/bin/sh", "-c", command]).output
        let line = try #require(
            output.split(separator: "\n").first { $0.hasPrefix("ENV-REPORT ") }, "no report in: \(output)")
        var report: [String: String] = [:]
        for field in line.dropFirst("ENV-REPORT ".count).split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            report[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return report
    }

    @Test("a child's environment is built without systemd's variables")
    func childEnvironment() {
        let cleaned = SystemdEnvironment.removingSystemdVariables(from: [
            "PATH": "/usr/bin", "NOTIFY_SOCKET": "/run/systemd/notify", "LISTEN_FDS": "1", "WATCHDOG_USEC": "1",
        ])
        #expect(cleaned == ["PATH": "/usr/bin"])
    }

    @Test("a listening stream socket is recognised before adoption; other descriptors are not")
    func listeningSocketCheck() throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        #expect(!ListenFileDescriptor(fileDescriptor: fd, name: "x").isListeningStreamSocket)
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array((directory.path + "/l.sock").utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        try #require(bound == 0 && listen(fd, 4) == 0)
        #expect(ListenFileDescriptor(fileDescriptor: fd, name: "x").isListeningStreamSocket)
        #expect(!ListenFileDescriptor(fileDescriptor: 0, name: "stdin").isListeningStreamSocket)
    }
}
