import Foundation
import GalaxyCore
import GalaxyRPC
import GalaxySupervisor
import GalaxySystemd
import GalaxyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real galaxyd process against a private database, with a fake systemd (a notify listener) and a fake collector.
final class DaemonHarness: Sendable {
    let database: TestDatabase
    let directory: TemporaryDirectory
    let systemd: NotifyListener
    let process: ChildProcess
    let output: OutputRecorder
    private let log = MessageLog()
    private let consumer: Task<Void, Never>

    var socketPath: String { directory.file("control.sock") }
    var client: RPCClient { RPCClient(socketPath: socketPath, timeout: .seconds(20)) }

    /// Starts galaxyd and returns once it has sent READY=1.
    init(
        behaviours: [String: FakeCollector.Behaviour] = [:], default fallback: FakeCollector.Behaviour = .ok,
        database: TestDatabase? = nil, extraArguments: [String] = [], environment extra: [String: String] = [:],
        listenSocket: String? = nil, launcher: [String] = []
    ) async throws {
        self.database = try database ?? TestDatabase.create()
        directory = try TemporaryDirectory(prefix: "gd")
        systemd = try NotifyListener(address: directory.file("systemd.notify"))
        let collector = try FakeCollector.script(in: directory, behaviours: behaviours, default: fallback)
        var environment: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "GALAXY_DATABASE_URL": self.database.url,
            "GALAXY_SOCKET": directory.file("control.sock"), "GALAXY_COLLECTOR": collector, "GALAXY_RATE": "0",
            "NOTIFY_SOCKET": directory.file("systemd.notify"), "WATCHDOG_USEC": "600000", "GALAXY_LOG_LEVEL": "debug",
            // Schedules that never fire (February 30th), so no catch-up run starts behind a test's back; the
            // scheduler has tests of its own with an injected clock.
            "GALAXY_DAILY_CRON": "0 18 30 2 *", "GALAXY_SNAPSHOT_CRON": "30 18 30 2 *",
        ]
        environment.merge(extra) { $1 }
        var arguments = [
            "serve", "--runtime-directory", directory.file("run"), "--ready-timeout", "3", "--heartbeat-timeout", "1.5",
            "--grace", "1", "--retry-delay", "0.05", "--max-attempts", "2", "--leader-retry", "0.3",
        ] + extraArguments
        var executable = BuiltProducts.path("galaxyd")
        if let listenSocket {
            // systemd-socket-activate binds the socket and passes it as fd 3 (LISTEN_FDS=1) on the first connection.
            arguments = ["-l", listenSocket, "--fdname=control", "-E", "GALAXY_DATABASE_URL", "-E", "GALAXY_COLLECTOR",
                         "-E", "NOTIFY_SOCKET", "-E", "WATCHDOG_USEC", "-E", "PATH", "-E", "GALAXY_RATE",
                         executable] + arguments
            executable = "/usr/bin/systemd-socket-activate"
        }
        if let first = launcher.first {
            arguments = launcher.dropFirst() + [executable] + arguments
            executable = first
        }
        output = OutputRecorder()
        process = try ChildProcess.spawn(
            ChildSpec(executable: executable, arguments: arguments, environment: environment), onOutput: output.handler)
        let listener = systemd
        let store = log
        consumer = Task {
            for await message in listener.messages { store.append(message) }
        }
        if listenSocket == nil {
            try await waitForNotify("READY=1", timeout: .seconds(60)) { $0.isReady }
        }
    }

    var notifications: [NotifyMessage] { log.all }

    func waitForNotify(
        _ what: String, timeout: Duration = .seconds(30), _ predicate: @Sendable (NotifyMessage) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !log.all.contains(where: predicate) {
            if let exit = process.exit {
                throw TestDatabaseError("galaxyd exited (\(exit)) before \(what):\n" + output.all.joined(separator: "\n"))
            }
            guard ContinuousClock.now < deadline else {
                throw TestDatabaseError("no \(what) from galaxyd within \(timeout):\n" + output.all.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func status(runId: Int64? = nil) async throws -> StatusReport {
        let result = try await client.call(method: "status", params: runId.map { ["runId": .integer($0)] } ?? [:])
        ResponseLog.record(method: "status", result: result)
        return try result.decode(as: StatusReport.self)
    }

    /// Polls `status` until the run has finished.
    func waitForRun(_ id: Int64, timeout: Duration = .seconds(60)) async throws -> RunStatus {
        let deadline = ContinuousClock.now + timeout
        while true {
            let run = try #require(try await status(runId: id).runs.first)
            if run.isFinished { return run }
            guard ContinuousClock.now < deadline else {
                throw TestDatabaseError("run \(id) still \(run.state) after \(timeout):\n" + output.all.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func runDaily(date: String) async throws -> Int64 {
        let result = try await client.call(method: "runDaily", params: ["date": .string(date)])
        ResponseLog.record(method: "runDaily", result: result)
        return try #require(result["runId"]?.integerValue)
    }

    /// SIGTERM, then waits for the exit.
    func stop() async -> ChildExit {
        process.signalGroup(SIGTERM)
        let exit = await process.wait()
        finish()
        return exit
    }

    func finish(keepDatabase: Bool = false) {
        if process.exit == nil { process.signalGroup(SIGKILL) }
        consumer.cancel()
        systemd.close()
        directory.remove()
        if !keepDatabase { database.drop() }
    }
}

/// Runs galaxyctl against `socket`, expects it to exit with `status`, and returns its stdout lines.
func ctl(_ arguments: [String], socket: String, status: Int32 = 0) async throws -> [String] {
    let output = OutputRecorder()
    let process = try ChildProcess.spawn(
        ChildSpec(
            executable: BuiltProducts.path("galaxyctl"), arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin", "GALAXY_SOCKET": socket]),
        onOutput: output.handler)
    let exit = try #require(await process.wait(timeout: .seconds(60)))
    #expect(exit.termination == .exited(status), "galaxyctl \(arguments): \(output.all)")
    return output.lines(.stdout)
}

/// Records real responses for scripts/check-openrpc.py --responses (validation against the documented schemas).
enum ResponseLog {
    private static let counter = Atomic<Int>(0)

    static func record(method: String, result: JSONValue? = nil, error: JSONRPCError? = nil) {
        guard let directory = ProcessInfo.processInfo.environment["GALAXY_TEST_RESPONSES_DIR"] else { return }
        var entry: [String: JSONValue] = ["method": .string(method)]
        if let result { entry["result"] = result }
        if let error { entry["error"] = error.jsonValue }
        let number = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let path = "\(directory)/\(getpid())-\(number)-\(method).json"
        try? JSONValue.object(entry).jsonText.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

final class MessageLog: Sendable {
    private let messages = Mutex<[NotifyMessage]>([])
    func append(_ message: NotifyMessage) { messages.withLock { $0.append(message) } }
    var all: [NotifyMessage] { messages.withLock { $0 } }
}
