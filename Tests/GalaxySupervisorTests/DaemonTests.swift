import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct DaemonTests {
    @Test func readyComesAfterTheSocketAcceptsAndTheWatchdogKeepsPinging() async throws {
        let daemon = try await DaemonHarness()
        defer { daemon.finish() }
        // READY=1 has been received: the socket must already answer.
        let status = try await daemon.status()
        #expect(status.daemon.ready)
        #expect(status.daemon.leader)
        #expect(status.daemon.pid == daemon.process.pid)
        #expect(status.schedule.map(\.job) == ["daily", "snapshot"])
        #expect(status.schedule.first?.cron == "0 18 30 2 *")
        #expect(status.schedule.first?.timeZone == "Asia/Seoul")
        let before = daemon.notifications.filter(\.isWatchdog).count
        try await daemon.waitForNotify("more WATCHDOG=1") { _ in daemon.notifications.filter(\.isWatchdog).count >= before + 3 }
        #expect(daemon.notifications.contains { $0.status?.hasPrefix("leader") == true })
    }

    @Test func aCrashingOrHungCollectorCostsOnlyItsOwnTask() async throws {
        let daemon = try await DaemonHarness(behaviours: [
            "sector": .segfault, "price": .sigkill, "valuation": .exit1, "etf": .hang, "etf_price": .noReady,
        ])
        defer { daemon.finish() }
        let id = try await daemon.runDaily(date: "2026-11-27")
        let run = try await daemon.waitForRun(id)
        #expect(run.state == "partial")
        let byCollector = Dictionary(uniqueKeysWithValues: run.tasks.map { ($0.collector, $0) })
        #expect(run.tasks.map(\.collector) == ["stock", "sector", "price", "valuation", "etf", "etf_price"])
        #expect(byCollector["stock"]?.state == "succeeded")
        #expect(byCollector["etf_price"]?.state == "failed")
        #expect(byCollector["etf_price"]?.error?.contains("READY") == true)
        #expect(byCollector["sector"]?.signal == SIGSEGV)
        #expect(byCollector["price"]?.signal == SIGKILL)
        #expect(byCollector["valuation"]?.exitCode == 1)
        // The hung collector was stopped by the heartbeat deadline (SIGTERM to its group), and retried once.
        #expect(byCollector["etf"]?.state == "failed")
        #expect(byCollector["etf"]?.signal == SIGTERM)
        #expect(byCollector["etf"]?.error?.contains("heartbeat") == true)
        for collector in ["sector", "price", "valuation", "etf", "etf_price"] {
            #expect(byCollector[collector]?.attempts == 2, "\(collector) is retried once")
            #expect(byCollector[collector]?.peakRssKiB ?? 0 > 0)
        }
        // Recorded in job_tasks too.
        let connection = try daemon.database.connect()
        defer { connection.close() }
        let recorded = try connection.query(
            "SELECT collector, state, exit_code, signal FROM job_tasks WHERE run_id = $1 ORDER BY position", [id])
        #expect(recorded.count == 6)
        #expect(try recorded.rows[1].decode("signal", as: Int32?.self) == SIGSEGV)
        #expect(try connection.query("SELECT state FROM job_runs WHERE id = $1", [id]).scalar(as: String.self) == "partial")
        // The metrics count the same, as the Prometheus client reads them: each failure by what ended it.
        let metrics = try await daemon.client.call(method: GalaxyMethod.metrics).decode(as: MetricsResult.self)
        let parsed = try await MonitoringTests.parse(metrics.text)
        let reasons = ["signal", "heartbeat_timeout", "ready_timeout", "runtime_limit", "stopped"]
        let kills = Dictionary(uniqueKeysWithValues: reasons.map {
            ($0, parsed.value("galaxy_children_killed_total", ["reason": $0]))
        })
        // Two attempts each: sector's SIGSEGV and price's SIGKILL, etf's hang, etf_price's missing READY.
        #expect(kills == ["signal": 4, "heartbeat_timeout": 2, "ready_timeout": 2, "runtime_limit": 0, "stopped": 0])
        for collector in ["sector", "price", "valuation", "etf", "etf_price"] {
            #expect(parsed.value("galaxy_task_retries_total", ["collector": collector]) == 1, "\(collector)")
            #expect(parsed.value("galaxy_tasks_total", ["collector": collector, "outcome": "failed"]) == 1)
        }
        #expect(parsed.value("galaxy_runs_total", ["kind": "daily", "outcome": "partial"]) == 1)
        // The daemon is fine: still ready, still pinging the watchdog.
        let status = try await daemon.status()
        #expect(status.daemon.ready)
        let pings = daemon.notifications.filter(\.isWatchdog).count
        try await daemon.waitForNotify("WATCHDOG=1 after the failures") { _ in
            daemon.notifications.filter(\.isWatchdog).count > pings
        }
    }

    @Test func collectorsGetAnExplicitMinimalEnvironmentAndTheDailyArguments() async throws {
        let daemon = try await DaemonHarness(environment: [
            "LISTEN_FDS": "1", "LISTEN_PID": "1", "JOURNAL_STREAM": "8:9", "SECRET_OF_THE_HOST": "x", "KRX_ID": "member",
        ])
        defer { daemon.finish() }
        let run = try await daemon.waitForRun(try await daemon.runDaily(date: "2026-11-27"))
        #expect(run.state == "succeeded")
        #expect(run.progress.rows == 600)
        let environment = try String(contentsOfFile: daemon.directory.file("env-price.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let names = Set(environment.compactMap { $0.split(separator: "=").first.map(String.init) })
        #expect(environment.contains("NOTIFY_SOCKET=\(daemon.directory.file("run"))/children.notify"))
        #expect(environment.contains("KRX_ID=member"))
        #expect(names.contains("GALAXY_RATE_FILE"))
        #expect(names.contains("GALAXY_DATABASE_URL"))
        for leaked in ["LISTEN_FDS", "LISTEN_PID", "WATCHDOG_PID", "JOURNAL_STREAM", "SECRET_OF_THE_HOST"] {
            #expect(!names.contains(leaked), "\(leaked) leaked into a collector")
        }
        let calls = try String(contentsOfFile: daemon.directory.file("calls.log"), encoding: .utf8)
        #expect(calls.contains("price --date 2026-11-27 --heal 14 --supervised"))
    }

    @Test func aSecondRunDailyForTheSameDateReturnsTheRunningRun() async throws {
        let daemon = try await DaemonHarness(default: .slow)
        defer { daemon.finish() }
        let first = try await daemon.runDaily(date: "2026-11-26")
        let second = try await daemon.client.call(method: "runDaily", params: ["date": "2026-11-26"])
        #expect(second["runId"]?.integerValue == first)
        #expect(second["alreadyRunning"] == .bool(true))
        let other = try await daemon.runDaily(date: "2026-11-25")
        #expect(other != first)
        _ = try await daemon.client.call(method: "cancel", params: ["runId": .integer(other)])
        let cancelled = try await daemon.waitForRun(other)
        #expect(cancelled.state == "cancelled")
    }

    @Test func sigtermStopsEveryChildAndRecordsTheTasksInterrupted() async throws {
        let daemon = try await DaemonHarness(default: .forever)
        let id = try await daemon.runDaily(date: "2026-11-27")
        var pids: [Int32] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while pids.count < 2, ContinuousClock.now < deadline {
            pids = try await daemon.status().children.map(\.pid)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(pids.count == 2, "two chains run at once (GALAXY_MAX_CHILDREN=2)")
        let database = daemon.database
        let exit = await daemon.process.terminate(grace: .seconds(30))
        #expect(exit.termination == .exited(0))
        for pid in pids { #expect(kill(pid, 0) != 0, "collector \(pid) survived galaxyd") }
        let connection = try database.connect()
        defer {
            connection.close()
            daemon.finish()
        }
        #expect(try connection.query("SELECT state FROM job_runs WHERE id = $1", [id]).scalar(as: String.self) == "interrupted")
        let states = try connection.query("SELECT DISTINCT state FROM job_tasks WHERE run_id = $1", [id]).rows.map {
            try $0.decode(0, as: String.self)
        }
        #expect(Set(states) == ["interrupted"])
        #expect(daemon.notifications.contains { $0.isStopping })
    }

    @Test func aPeerOutsideTheAdminGroupMayReadButNotStartWork() async throws {
        let daemon = try await DaemonHarness()
        defer { daemon.finish() }
        chmod(daemon.socketPath, 0o666)  // let the unprivileged peer connect at all
        chmod(daemon.directory.path, 0o755)
        func asNobody(_ request: String) throws -> String {
            let script = try daemon.directory.script("nobody-client-\(UUID().uuidString.prefix(6))", """
                #!/usr/bin/env python3
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                s.sendall(sys.argv[2].encode() + b"\\n")
                print(s.makefile().readline(), end="")
                """)
            let pipe = Pipe()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", script, daemon.socketPath, request]
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        let denied = try JSONValue(parsing: try asNobody(#"{"jsonrpc":"2.0","id":1,"method":"runDaily","params":{}}"#))
        #expect(denied["error"]?["code"]?.integerValue == -32003)
        #expect(denied["error"]?["message"]?.stringValue?.contains("permission denied") == true)
        let served = try JSONValue(parsing: try asNobody(#"{"jsonrpc":"2.0","id":2,"method":"status"}"#))
        #expect(served["result"]?["daemon"]?["ready"] == .bool(true))
        #expect(try await daemon.status().runs.isEmpty, "the denied call started nothing")
    }

    @Test func socketActivationStartsGalaxydOnTheFirstConnection() async throws {
        let directory = try TemporaryDirectory(prefix: "sa")
        defer { directory.remove() }
        let socket = directory.file("activated.sock")
        let daemon = try await DaemonHarness(listenSocket: socket)
        defer { daemon.finish() }
        // systemd-socket-activate is listening; galaxyd starts when we connect.
        let deadline = ContinuousClock.now + .seconds(10)
        while access(socket, F_OK) != 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let status = try await RPCClient(socketPath: socket, timeout: .seconds(60)).call(method: "status")
        #expect(status["daemon"]?["socket"]?.stringValue?.contains("socket-activated") == true)
        try await daemon.waitForNotify("READY=1") { $0.isReady }
    }

    @Test func rpcDiscoverServesTheCommittedContractAndEveryMethodIsDocumented() async throws {
        let daemon = try await DaemonHarness()
        defer { daemon.finish() }
        let served = try await daemon.client.call(method: "rpc.discover")
        let committed = try JSONValue(parsing: String(contentsOfFile: Self.protocolPath, encoding: .utf8))
        #expect(served == committed)
        let documented = Set(committed["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        #expect(documented == [
            "runDaily", "backfill", "status", "cancel", "coverage", "check", "metrics", "rpc.discover",
        ])
        // Every documented method exists (an unknown one answers -32601), and an undocumented name does not.
        for method in documented where method != "rpc.discover" {
            do {
                _ = try await daemon.client.call(method: method, params: ["runId": .integer(999_999)])
            } catch let error as JSONRPCError {
                #expect(error.code != JSONRPCError.Code.methodNotFound, "\(method) is documented but not implemented")
                ResponseLog.record(method: method, error: error)
            }
        }
        await #expect(throws: JSONRPCError.self) { _ = try await daemon.client.call(method: "shutdown") }
    }

    static var protocolPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("protocol/galaxyd.openrpc.json").path
    }
}

