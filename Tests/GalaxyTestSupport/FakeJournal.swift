import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// journald's native socket, faked: a datagram socket of the test's, mounted over `/run/systemd` for one child only.
///
/// libsystemd sends to the fixed path `/run/systemd/journal/socket` (no variable overrides it), and no journald runs
/// here. ``launcher`` runs a command in a mount namespace of its own where `/run/systemd` is this directory (the
/// host's stays untouched) and `JOURNAL_STREAM` names the command's stderr, as systemd sets it for a service whose
/// stderr is the journal. Entries are parsed as journald would (the native protocol, binary-safe fields included).
public final class FakeJournal: Sendable {
    public let directory: TemporaryDirectory
    private let fd: Int32
    private let received = Mutex<[[String: String]]>([])
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Bool>(false)

    public init() throws {
        directory = try TemporaryDirectory(prefix: "journal")
        mkdir(directory.file("journal"), 0o755)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(directory.file("journal/socket").utf8CString)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.map { UInt8(bitPattern: $0) })
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw TestDatabaseError("cannot bind the fake journal socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var size: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let thread = Thread { [self] in receive() }
        thread.start()
    }

    /// Whether this machine lets a test give a child a mount namespace (root, or unprivileged user namespaces):
    /// checked by trying.
    public static let isAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = namespaceFlags + ["/bin/true"]
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    private static var namespaceFlags: [String] {
        (geteuid() == 0 ? ["-m"] : ["-U", "-r", "-m"]) + ["--propagation", "private"]
    }

    /// Prefix for a command line: runs the rest with this journal as `/run/systemd/journal/socket` and stderr as
    /// the journal stream.
    public var launcher: [String] {
        // Without /run/systemd (no systemd on this host) a tmpfs over /run, in the namespace only, makes room for it.
        ["/usr/bin/unshare"] + Self.namespaceFlags + [
            "/bin/sh", "-c",
            "{ [ -d /run/systemd ] || { mount -t tmpfs tmpfs /run && mkdir /run/systemd; }; } && "
                + "mount --bind \"$1\" /run/systemd && JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && "
                + "export JOURNAL_STREAM && shift && exec \"$@\"",
            "sh", directory.path,
        ]
    }

    /// Every entry so far, as field dictionaries.
    public var entries: [[String: String]] { received.withLock { $0 } }

    public func close() {
        stopped.store(true, ordering: .releasing)
        while !done.load(ordering: .acquiring) { usleep(10_000) }
        Glibc.close(fd)
        directory.remove()
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while !stopped.load(ordering: .acquiring) {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let entry = Self.parse(buffer[0..<count])
            received.withLock { $0.append(entry) }
        }
        done.store(true, ordering: .releasing)
    }

    /// The native protocol: `NAME=value\n`, or `NAME\n` + 64-bit little-endian length + value + `\n`.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [String: String] {
        var fields: [String: String] = [:]
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            let line = bytes[index..<newline]
            if let equals = line.firstIndex(of: UInt8(ascii: "=")) {
                fields[String(decoding: line[..<equals], as: UTF8.self)] =
                    String(decoding: line[(equals + 1)...], as: UTF8.self)
                index = newline + 1
            } else {
                let start = newline + 1
                guard start + 8 <= bytes.endIndex else { break }
                let length = bytes[start..<start + 8].reversed().reduce(0) { $0 << 8 | Int($1) }
                let valueStart = start + 8
                guard valueStart + length <= bytes.endIndex else { break }
                fields[String(decoding: line, as: UTF8.self)] =
                    String(decoding: bytes[valueStart..<valueStart + length], as: UTF8.self)
                index = valueStart + length + 1
            }
        }
        return fields
    }
}
