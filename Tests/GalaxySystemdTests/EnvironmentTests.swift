import GalaxySystemd
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `takeFromProcess()` changes the process environment, which is not thread-safe; each case runs in a child process
/// of its own (a Swift Testing exit test), where nothing else is running.
@Suite("Taking systemd's environment at start")
struct EnvironmentTests {
    @Test("socket activation, watchdog and notify socket are read, and every variable is unset")
    func takesAndUnsets() async {
        await #expect(processExitsWith: .success) {
            let pid = String(getpid())
            setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1)
            setenv("WATCHDOG_USEC", "30000000", 1)
            setenv("WATCHDOG_PID", pid, 1)
            setenv("LISTEN_PID", pid, 1)
            setenv("LISTEN_FDS", "1", 1)
            setenv("LISTEN_FDNAMES", "control", 1)
            setenv("LISTEN_PIDFDID", "12345", 1)
            setenv("GALAXY_UNRELATED", "kept", 1)
            let environment = SystemdEnvironment.takeFromProcess()
            guard environment.notifySocket == "/run/systemd/notify" else { exit(10) }
            guard environment.watchdogTimeout == .seconds(30) else { exit(11) }
            guard environment.watchdog?.pingInterval == .seconds(15) else { exit(12) }
            guard environment.listenFileDescriptors == [ListenFileDescriptor(fileDescriptor: 3, name: "control")]
            else { exit(13) }
            guard environment.listenFileDescriptor(named: "control")?.fileDescriptor == 3 else { exit(14) }
            guard environment.problems.isEmpty else { exit(15) }
            for name in SystemdEnvironment.variableNames where getenv(name) != nil { exit(16) }
            guard getenv("GALAXY_UNRELATED") != nil else { exit(17) }
        }
    }

    @Test("variables meant for another process are ignored (and still unset)")
    func otherProcess() async {
        await #expect(processExitsWith: .success) {
            let other = String(getpid() + 1)
            setenv("WATCHDOG_USEC", "30000000", 1)
            setenv("WATCHDOG_PID", other, 1)
            setenv("LISTEN_PID", other, 1)
            setenv("LISTEN_FDS", "1", 1)
            let environment = SystemdEnvironment.takeFromProcess()
            guard environment.notifySocket == nil else { exit(10) }
            guard environment.watchdogTimeout == nil else { exit(11) }
            guard environment.listenFileDescriptors.isEmpty else { exit(12) }
            for name in SystemdEnvironment.variableNames where getenv(name) != nil { exit(16) }
        }
    }

    @Test("inconsistent LISTEN_FDNAMES and a bad WATCHDOG_USEC are reported, not fatal")
    func inconsistent() async {
        await #expect(processExitsWith: .success) {
            let pid = String(getpid())
            setenv("WATCHDOG_USEC", "soon", 1)
            setenv("LISTEN_PID", pid, 1)
            setenv("LISTEN_FDS", "2", 1)
            setenv("LISTEN_FDNAMES", "control", 1)
            let environment = SystemdEnvironment.takeFromProcess()
            guard environment.watchdogTimeout == nil else { exit(11) }
            guard environment.listenFileDescriptors.isEmpty else { exit(12) }
            guard environment.problems.count == 2 else { exit(13) }
            for name in SystemdEnvironment.variableNames where getenv(name) != nil { exit(16) }
        }
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
