import Foundation
import GalaxyCore
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real galaxyd process (own database, own socket, a scriptable fake collector) for galaxyctl to talk to.
final class CtlDaemon: Sendable {
    let database: TestDatabase
    let directory: TemporaryDirectory
    let process: ChildProcess
    let output: LineRecorder
    private let ownsDatabase: Bool
    private let ownsDirectory: Bool

    var socketPath: String { directory.file("control.sock") }
    var client: RPCClient { RPCClient(socketPath: socketPath, timeout: .seconds(20)) }

    /// Starts galaxyd and returns once it answers `status` as ready (or, with `expectLeader: false`, at all).
    init(
        behaviours: [String: FakeCollectorBehaviour] = [:], default fallback: FakeCollectorBehaviour = .ok,
        database: TestDatabase? = nil, directory: TemporaryDirectory? = nil, expectLeader: Bool = true
    ) async throws {
        ownsDatabase = database == nil
        ownsDirectory = directory == nil
        self.database = try database ?? TestDatabase.create()
        self.directory = try directory ?? TemporaryDirectory(prefix: "ctl")
        let collector = try FakeCollectorBehaviour.script(in: self.directory, behaviours: behaviours, default: fallback)
        let environment: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "GALAXY_DATABASE_URL": self.database.url,
            "GALAXY_SOCKET": self.directory.file("control.sock"), "GALAXY_COLLECTOR": collector, "GALAXY_RATE": "0",
            // Schedules that never fire (February 30th): no catch-up run starts behind a test's back.
            "GALAXY_DAILY_CRON": "0 18 30 2 *", "GALAXY_SNAPSHOT_CRON": "30 18 30 2 *",
        ]
        let arguments = [
            "serve", "--runtime-directory", self.directory.file("run"), "--ready-timeout", "5", "--heartbeat-timeout",
            "3",
            "--grace", "1", "--retry-delay", "0.05", "--max-attempts", "2", "--leader-retry", "0.3",
        ]
        output = LineRecorder()
        process = try ChildProcess.spawn(
            ChildSpec(executable: BuiltProducts.path("galaxyd"), arguments: arguments, environment: environment),
            onOutput: output.handler)
        try await waitUntilServing(leader: expectLeader)
    }

    /// galaxyd has no readiness signal for clients other than its socket answering: poll `status` (bounded) until
    /// it says ready (and leader, when asked), failing with galaxyd's own output if it exits or never gets there.
    private func waitUntilServing(leader: Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if let exit = process.exit {
                throw TestDatabaseError(
                    "galaxyd exited (\(exit)) before serving:\n" + output.all.joined(separator: "\n"))
            }
            if let status = try? await RPCClient(socketPath: socketPath, timeout: .seconds(5)).call(method: "status"),
                status["daemon"]?["ready"] == .bool(true), !leader || status["daemon"]?["leader"] == .bool(true)
            {
                return
            }
            guard ContinuousClock.now < deadline else {
                throw TestDatabaseError("galaxyd did not serve within 60 s:\n" + output.all.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    func status(runId: Int64? = nil) async throws -> StatusReport {
        let result = try await client.call(method: "status", params: runId.map { ["runId": .integer($0)] } ?? [:])
        return try result.decode(as: StatusReport.self)
    }

    /// Polls `status` until `predicate` holds for the run (bounded).
    func waitForRun(
        _ id: Int64, _ what: String, timeout: Duration = .seconds(30), until predicate: (RunStatus) -> Bool
    ) async throws -> RunStatus {
        let deadline = ContinuousClock.now + timeout
        while true {
            let run = try #require(try await status(runId: id).runs.first)
            if predicate(run) { return run }
            guard ContinuousClock.now < deadline else {
                throw TestDatabaseError(
                    "run \(id) never \(what) (state \(run.state)):\n" + output.all.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops galaxyd (SIGKILL to its process group if it still runs) and removes what this harness made. Synchronous
    /// and idempotent, for a `defer` that also runs when a test fails half-way. Collectors galaxyd left behind end on
    /// their own: their next heartbeat finds no notify socket.
    func finish() {
        if process.exit == nil { process.signalGroup(SIGKILL) }
        if ownsDirectory { directory.remove() }
        if ownsDatabase { database.drop() }
    }

    /// The fake collector's call log (one line per spawn: job and arguments).
    var collectorCalls: [String] {
        ((try? String(contentsOfFile: directory.file("calls.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }
}

/// The outcome of one galaxyctl run.
struct CtlResult: CustomStringConvertible {
    var exitCode: Int32?
    var signal: Int32?
    var stdout: [String]
    var stderr: [String]

    var out: String { stdout.joined(separator: "\n") }
    var err: String { stderr.joined(separator: "\n") }
    var description: String {
        "exit \(exitCode.map(String.init) ?? "signal \(signal ?? -1)")\nstdout:\n\(out)\nstderr:\n\(err)"
    }
}

/// Runs the real galaxyctl binary as a child process.
enum Galaxyctl {
    static var path: String { BuiltProducts.path("galaxyctl") }

    /// Runs `galaxyctl arguments` and waits (bounded) for it to exit.
    static func run(
        _ arguments: [String], socket: String? = nil, environment extra: [String: String] = [:], asNobody: Bool = false,
        timeout: Duration = .seconds(60)
    ) async throws -> CtlResult {
        let running = try start(arguments, socket: socket, environment: extra, asNobody: asNobody)
        return try await running.finish(timeout: timeout)
    }

    /// Runs another program (e.g. script(1) around galaxyctl) with galaxyctl's environment.
    static func runProgram(
        _ executable: String, _ arguments: [String], socket: String, timeout: Duration = .seconds(60)
    ) async throws -> CtlResult {
        let environment = ["PATH": "/usr/bin:/bin", "GALAXY_SOCKET": socket, "TERM": "xterm"]
        let output = LineRecorder()
        let process = try ChildProcess.spawn(
            ChildSpec(executable: executable, arguments: arguments, environment: environment), onOutput: output.handler)
        return try await RunningCtl(process: process, output: output).finish(timeout: timeout)
    }

    /// Starts galaxyctl and returns at once (for Ctrl-C tests).
    static func start(
        _ arguments: [String], socket: String? = nil, environment extra: [String: String] = [:], asNobody: Bool = false
    ) throws -> RunningCtl {
        var environment = ["PATH": "/usr/bin:/bin"]
        if let socket { environment["GALAXY_SOCKET"] = socket }
        environment.merge(extra) { $1 }
        var spec = ChildSpec(executable: path, arguments: arguments, environment: environment)
        if asNobody {
            spec = ChildSpec(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", path] + arguments,
                environment: environment)
        }
        let output = LineRecorder()
        return RunningCtl(process: try ChildProcess.spawn(spec, onOutput: output.handler), output: output)
    }
}

struct RunningCtl {
    let process: ChildProcess
    let output: LineRecorder

    func finish(timeout: Duration = .seconds(60)) async throws -> CtlResult {
        guard let exit = await process.wait(timeout: timeout) else {
            process.signalGroup(SIGKILL)
            throw TestDatabaseError("galaxyctl did not exit within \(timeout):\n" + output.all.joined(separator: "\n"))
        }
        // The monitor thread hands over the last lines right before it reaps the child.
        var result = CtlResult(exitCode: nil, signal: nil, stdout: output.lines(.stdout), stderr: output.lines(.stderr))
        switch exit.termination {
        case .exited(let code): result.exitCode = code
        case .signaled(let signal): result.signal = signal
        }
        return result
    }

    /// Waits (bounded) until galaxyctl has written a stderr line containing `text`.
    func waitForError(_ text: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !output.lines(.stderr).contains(where: { $0.contains(text) }) {
            guard process.exit == nil, ContinuousClock.now < deadline else {
                throw TestDatabaseError("galaxyctl never reported '\(text)':\n" + output.all.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits (bounded) until galaxyctl has written a stdout line containing `text`.
    func waitForOutput(_ text: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !output.lines(.stdout).contains(where: { $0.contains(text) }) {
            guard process.exit == nil, ContinuousClock.now < deadline else {
                throw TestDatabaseError("galaxyctl never printed '\(text)':\n" + output.all.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Collects a child's output lines.
final class LineRecorder: Sendable {
    private let lines = Mutex<[(ChildProcess.Stream, String)]>([])
    var handler: @Sendable (ChildProcess.Stream, String) -> Void {
        { stream, line in self.lines.withLock { $0.append((stream, line)) } }
    }
    func lines(_ stream: ChildProcess.Stream) -> [String] { lines.withLock { $0.filter { $0.0 == stream }.map(\.1) } }
    var all: [String] { lines.withLock { $0.map(\.1) } }
}

/// Writes galaxyctl's `--json` outputs as response records for `scripts/check-openrpc.py --responses`, which
/// validates each against the method's documented result schema after the tests.
enum ResponseRecords {
    private static let counter = Atomic<Int>(0)

    static func record(method: String, json line: String) throws {
        let result = try JSONValue(parsing: line)
        guard let directory = ProcessInfo.processInfo.environment["GALAXY_TEST_RESPONSES_DIR"] else { return }
        let number = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let entry: JSONValue = ["method": .string(method), "result": result]
        try entry.jsonText.write(
            toFile: "\(directory)/galaxyctl-\(getpid())-\(number)-\(method).json", atomically: true, encoding: .utf8)
    }
}
