import Foundation
import GalaxySupervisor
import Synchronization

/// Collects a child's output lines, for assertions and for the message of a failed expectation.
public final class OutputRecorder: Sendable {
    private let lines = Mutex<[(ChildProcess.Stream, String)]>([])

    public init() {}

    public var handler: @Sendable (ChildProcess.Stream, String) -> Void {
        { stream, line in self.lines.withLock { $0.append((stream, line)) } }
    }

    public func lines(_ stream: ChildProcess.Stream) -> [String] {
        lines.withLock { $0.filter { $0.0 == stream }.map(\.1) }
    }

    public var all: [String] { lines.withLock { $0.map(\.1) } }

    /// The last lines (a failure message should not be a megabyte).
    public var tail: String { all.suffix(60).joined(separator: "\n") }
}

/// Polls a condition on another component's state (another process, a database) where there is no event to wait
/// on, failing after a bound.
public func waitUntil(
    _ what: String = "condition", timeout: Duration = .seconds(60), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestDatabaseError("\(what): not within \(timeout)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A PostgreSQL cluster of a test's own (scripts/pg-cluster.sh), for tests that stop or restart the server: the
/// shared test cluster must not go away under the other tests.
///
/// Commands run through `ChildProcess` (a pidfd), not Foundation's `Process`: the server a script leaves running
/// inherits `Process`'s termination socketpair, and `waitUntilExit()` then waits for the server, forever.
public struct PrivateCluster: Sendable {
    public let directory: String
    public let url: String

    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    public static func start() async throws -> PrivateCluster {
        let directory = try TemporaryDirectory(prefix: "pgc").path
        let output = try await run(["\(repository)/scripts/pg-cluster.sh", "start", directory])
        let url = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard url.hasPrefix("postgresql://") else {
            throw TestDatabaseError("scripts/pg-cluster.sh start printed no URL: \(output)")
        }
        return PrivateCluster(directory: directory, url: url)
    }

    /// Stops the server (fast shutdown: every connection is cut); `restart()` brings it back.
    public func stopServer() async throws {
        try await Self.run(["\(Self.repository)/scripts/pg-cluster.sh", "stop", directory])
    }

    /// `pg_ctl restart -m fast`, running or stopped: the server comes back on the same socket and port.
    public func restart() async throws {
        let bindir = try await Self.run(["/bin/sh", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var command = ["\(bindir)/pg_ctl", "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-m", "fast",
                       "-w", "-t", "60", "restart"]
        if geteuid() == 0 { command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command }
        try await Self.run(command)
    }

    /// Stops the server and deletes the cluster.
    public func remove() async {
        _ = try? await Self.run(["\(Self.repository)/scripts/pg-cluster.sh", "stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command to its exit and returns its stdout.
    @discardableResult
    static func run(_ command: [String]) async throws -> String {
        let (status, output) = try await runProcess(command)
        guard status == 0 else {
            throw TestDatabaseError("\(command.joined(separator: " ")) ended with status \(status):\n\(output)")
        }
        return output
    }
}

/// Runs `argv` (absolute path first) to its exit and returns its exit status (128 + the signal when one ended it) and
/// its standard output. galaxyd's own `ChildProcess` spawns and reaps it, so no thread waits on the cooperative pool.
public func runProcess(_ argv: [String]) async throws -> (status: Int32, output: String) {
    let output = OutputRecorder()
    let child = try ChildProcess.spawn(
        ChildSpec(executable: argv[0], arguments: Array(argv.dropFirst()),
                  environment: ProcessInfo.processInfo.environment),
        onOutput: output.handler)
    let status: Int32 = switch await child.wait().termination {
    case .exited(let code): code
    case .signaled(let signal): 128 + signal
    }
    return (status, output.lines(.stdout).joined(separator: "\n"))
}
