import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What every fault scenario runs: the same small backfill (price + etf_price, 2026-01-01 … 2026-03-13) of the same
/// deterministic simulated market, so each scenario's final database can be compared with a fault-free run's.
enum Scenario {
    /// galaxyd believes it is Friday 2026-03-13, 19:00 in Seoul; the simulator's today is the same day.
    static let now = "2026-03-13T19:00:00+09:00"
    static let today = "2026-03-13"
    static let startYear = 2026
    static let datasets = ["price", "etf_price"]
    /// Calendar days of the range, each of which ends up in the ledger once per dataset.
    static let calendarDays = 72
    /// A small universe: the invariants do not depend on its size, and the suite must stay at a few minutes.
    static let simulatorArguments = [
        "--stocks", "60", "--etfs", "20", "--today", today, "--require-login", "--account", "tester:sim-password",
    ]

    static var backfillParams: JSONValue {
        ["startYear": .integer(Int64(startYear)), "datasets": .array(datasets.map { .string($0) })]
    }
}

/// A real galaxyd with the real galaxy-collector, talking to a krx-sim process and a database.
final class FaultDaemon: Sendable {
    let databaseURL: String
    let directory: TemporaryDirectory
    let process: ChildProcess
    let output: OutputRecorder

    var socketPath: String { directory.file("control.sock") }
    var client: RPCClient { RPCClient(socketPath: socketPath, timeout: .seconds(20)) }

    /// Starts galaxyd and returns once `status` answers with `ready`.
    init(
        databaseURL: String, sim: KRXSimProcess, directory: TemporaryDirectory? = nil, attempts: Int = 4,
        extraArguments: [String] = [], environment extra: [String: String] = [:], launcher: [String] = [],
        waitForLeadership: Bool = true
    ) async throws {
        self.databaseURL = databaseURL
        self.directory = try directory ?? TemporaryDirectory(prefix: "fs")
        var environment: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "GALAXY_DATABASE_URL": databaseURL,
            "GALAXY_SOCKET": self.directory.file("control.sock"),
            "GALAXY_COLLECTOR": BuiltProducts.path("galaxy-collector"), "GALAXY_RATE": "0",
            "GALAXY_PORTAL_URL": sim.baseURL, "GALAXY_OPENAPI_URL": sim.baseURL,
            "KRX_ID": "tester", "KRX_PW": "sim-password", "GALAXY_LOG_LEVEL": "info",
            // Schedules that never fire (February 30th): no catch-up run starts behind a scenario's back.
            "GALAXY_DAILY_CRON": "0 18 30 2 *", "GALAXY_SNAPSHOT_CRON": "30 18 30 2 *",
        ]
        environment.merge(extra) { $1 }
        let arguments = [
            "serve", "--now", Scenario.now, "--runtime-directory", self.directory.file("run"),
            "--ready-timeout", "20", "--heartbeat-timeout", "20", "--grace", "2", "--retry-delay", "0.2",
            "--max-attempts", String(attempts), "--leader-retry", "0.3",
        ] + extraArguments
        output = OutputRecorder()
        process = try ChildProcess.spawn(
            // `launcher` (`ip netns exec NS`) execs galaxyd in place: the child's pid is galaxyd's.
            ChildSpec(executable: launcher.first ?? BuiltProducts.path("galaxyd"),
                      arguments: (launcher.isEmpty ? [] : Array(launcher.dropFirst()) + [BuiltProducts.path("galaxyd")])
                          + arguments,
                      environment: environment),
            onOutput: output.handler)
        let client = self.client
        let process = self.process
        let output = self.output
        try await waitUntil("galaxyd ready", timeout: .seconds(90)) {
            if let exit = process.exit {
                throw TestDatabaseError("galaxyd exited (\(exit)) before it was ready:\n\(output.tail)")
            }
            guard let report = try? await client.call(method: "status").decode(as: StatusReport.self) else {
                return false
            }
            return report.daemon.ready && (report.daemon.leader || !waitForLeadership)
        }
    }

    func status(runId: Int64? = nil) async throws -> StatusReport {
        try await client.call(method: "status", params: runId.map { ["runId": .integer($0)] } ?? [:])
            .decode(as: StatusReport.self)
    }

    func run(_ id: Int64) async throws -> RunStatus {
        try #require(try await status(runId: id).runs.first)
    }

    func startBackfill(_ params: JSONValue = Scenario.backfillParams) async throws -> Int64 {
        let accepted = try await client.call(method: "backfill", params: params)
        return try #require(accepted["runId"]?.integerValue)
    }

    /// Polls `status` until the run has finished.
    func waitForRun(_ id: Int64, timeout: Duration = .seconds(240)) async throws -> RunStatus {
        let deadline = ContinuousClock.now + timeout
        while true {
            let run = try await run(id)
            if run.isFinished { return run }
            guard ContinuousClock.now < deadline else {
                throw TestDatabaseError("run \(id) still \(run.state) after \(timeout):\n\(output.tail)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGKILL to galaxyd's process group (its collectors see stdin EOF and exit on their own).
    func kill9() async {
        process.signalGroup(SIGKILL)
        _ = await process.wait()
    }

    func finish(keepDirectory: Bool = false) {
        if process.exit == nil { process.signalGroup(SIGKILL) }
        // GALAXY_FAULT_LOG_DIR keeps every daemon's whole log (a failed scenario's message shows only the tail).
        if let logs = ProcessInfo.processInfo.environment["GALAXY_FAULT_LOG_DIR"] {
            let path = "\(logs)/galaxyd-\(process.pid).log"
            _ = FileManager.default.createFile(atPath: path, contents: Data(output.all.joined(separator: "\n").utf8))
        }
        if !keepDirectory { directory.remove() }
    }

    /// galaxyd's resident set, from /proc.
    var residentKiB: Int? { ProcStatus.kib("VmRSS", pid: process.pid) }
}

enum ProcStatus {
    static func kib(_ field: String, pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}

/// Calls `status` every few milliseconds in the background, as an operator's `galaxyctl status --follow` would, and
/// counts what came back. A scenario asserts on it afterwards: the daemon answered throughout (or, for a scenario
/// that kills the daemon, only during the window it was down).
final class StatusWatcher: Sendable {
    struct Counts: Sendable {
        var succeeded = 0
        var failed: [String] = []
    }

    private let counts = Mutex(Counts())
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(socketPath: String, interval: Duration = .milliseconds(100)) {
        let client = RPCClient(socketPath: socketPath, timeout: .seconds(5))
        let poller = Task { [self] in
            while !Task.isCancelled {
                do {
                    _ = try await client.call(method: "status").decode(as: StatusReport.self)
                    counts.withLock { $0.succeeded += 1 }
                } catch {
                    // stop() cancels a call in flight: that is the watcher ending, not the daemon failing.
                    if Task.isCancelled || error is CancellationError { break }
                    counts.withLock { $0.failed.append("\(error)") }
                }
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = poller }
    }

    /// Stops polling and returns what it saw.
    func stop() async -> Counts {
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
        return counts.withLock { $0 }
    }
}

/// The simulator's control endpoints.
extension KRXSimProcess {
    func addFault(_ spec: String) async throws {
        var request = URLRequest(url: URL(string: baseURL + "/_sim/faults")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"spec":"\#(spec)"}"#.utf8)
        let (answer, _) = try await URLSession.shared.data(for: request)
        let text = String(decoding: answer, as: UTF8.self)
        guard text.contains("\"ok\":true") else { throw TestDatabaseError("krx-sim refused fault \(spec): \(text)") }
    }

    func clearFaults() async throws {
        var request = URLRequest(url: URL(string: baseURL + "/_sim/faults")!)
        request.httpMethod = "DELETE"
        _ = try await URLSession.shared.data(for: request)
    }

    /// Ends every member session (the next portal request answers LOGOUT).
    func expireSessions() async throws {
        var request = URLRequest(url: URL(string: baseURL + "/_sim/sessions/expire")!)
        request.httpMethod = "POST"
        _ = try await URLSession.shared.data(for: request)
    }

    /// Requests received per route (`portal/MDCSTAT01501`, `login/MDCCOMS001D1`, …), and the total.
    func requestCounts() async throws -> (total: Int, routes: [String: Int]) {
        let (data, _) = try await URLSession.shared.data(from: URL(string: baseURL + "/_sim/stats")!)
        let stats = try JSONValue(parsing: Array(data))
        var routes: [String: Int] = [:]
        if case .object(let members)? = stats["routes"] {
            for (route, value) in members { routes[route] = Int(value["count"]?.integerValue ?? 0) }
        }
        return (Int(stats["total"]?.integerValue ?? 0), routes)
    }

    static func scenario(_ extra: [String] = []) async throws -> KRXSimProcess {
        try await launch(Scenario.simulatorArguments + extra)
    }
}

/// A database's content, reduced to what must be equal after a fault-free and a faulty run: every stored price and
/// ETF price (all columns but bookkeeping timestamps), and the ledger's verdict and row count per day.
struct DatabaseFingerprint: Equatable, CustomStringConvertible {
    var prices: String
    var etfPrices: String
    var ledger: String
    var priceRows: Int64
    var etfPriceRows: Int64
    var collectedDays: Int64
    var settledDays: Int64

    var description: String {
        "prices \(priceRows) rows md5 \(prices.prefix(8)), etf_prices \(etfPriceRows) rows md5 \(etfPrices.prefix(8)), "
            + "ledger \(settledDays) settled days (\(collectedDays) collected) md5 \(ledger.prefix(8))"
    }

    static func of(_ url: String) throws -> DatabaseFingerprint {
        let connection = try Connection(url: url)
        defer { connection.close() }
        func digest(_ table: String) throws -> String {
            try connection.query(
                """
                SELECT md5(coalesce(string_agg((to_jsonb(t) - 'updated_at' - 'created_at')::text, E'\\n'
                                               ORDER BY t.ticker, t.date), ''))
                FROM \(table) t
                """
            ).scalar(as: String.self)
        }
        func count(_ sql: String) throws -> Int64 { try connection.query(sql).scalar(as: Int64.self) }
        return DatabaseFingerprint(
            prices: try digest("prices"), etfPrices: try digest("etf_prices"),
            ledger: try connection.query(
                """
                SELECT md5(coalesce(string_agg(dataset || '|' || trade_date || '|' || status || '|' || rows, E'\\n'
                                               ORDER BY dataset, trade_date), ''))
                FROM collection_days WHERE dataset IN ('price', 'etf_price')
                """
            ).scalar(as: String.self),
            priceRows: try count("SELECT count(*) FROM prices"),
            etfPriceRows: try count("SELECT count(*) FROM etf_prices"),
            collectedDays: try count(
                "SELECT count(*) FROM collection_days WHERE dataset IN ('price', 'etf_price') AND status = 'collected'"),
            settledDays: try count(
                """
                SELECT count(*) FROM collection_days
                WHERE dataset IN ('price', 'etf_price') AND status IN ('collected', 'no_session')
                """))
    }
}

/// Invariants that hold for any database galaxy wrote, faults or not.
enum Invariants {
    /// No (ticker, date) twice, and every collected day's stored rows equal the ledger's count for it.
    static func check(_ url: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let connection = try Connection(url: url)
        defer { connection.close() }
        for table in ["prices", "etf_prices"] {
            let duplicated = try connection.query(
                "SELECT count(*) FROM (SELECT ticker, date FROM \(table) GROUP BY 1, 2 HAVING count(*) > 1) d"
            ).scalar(as: Int64.self)
            #expect(duplicated == 0, "\(table): \(duplicated) (ticker, date) pairs stored twice",
                    sourceLocation: sourceLocation)
        }
        for (dataset, table) in [("price", "prices"), ("etf_price", "etf_prices")] {
            let mismatched = try connection.query(
                """
                SELECT count(*) FROM collection_days d
                WHERE d.dataset = $1 AND d.status = 'collected'
                  AND d.rows <> (SELECT count(*) FROM \(table) p WHERE p.date = d.trade_date)
                """, [dataset]
            ).scalar(as: Int64.self)
            #expect(mismatched == 0, "\(dataset): \(mismatched) collected days whose stored rows differ from the ledger",
                    sourceLocation: sourceLocation)
            let orphaned = try connection.query(
                """
                SELECT count(DISTINCT p.date) FROM \(table) p
                WHERE NOT EXISTS (SELECT 1 FROM collection_days d
                                  WHERE d.dataset = $1 AND d.trade_date = p.date AND d.status = 'collected')
                """, [dataset]
            ).scalar(as: Int64.self)
            #expect(orphaned == 0, "\(dataset): \(orphaned) days have rows but no collected ledger row",
                    sourceLocation: sourceLocation)
        }
    }
}

/// The fault-free reference: the scenario backfill once, on its own simulator and database, computed on first use
/// and shared by every scenario of the process.
actor ReferenceRun {
    static let shared = ReferenceRun()
    private var result: DatabaseFingerprint?

    func fingerprint() async throws -> DatabaseFingerprint {
        if let result { return result }
        let sim = try await KRXSimProcess.scenario()
        let database = try TestDatabase.create()
        defer { database.drop() }
        let daemon = try await FaultDaemon(databaseURL: database.url, sim: sim)
        defer { daemon.finish() }
        let run = try await daemon.waitForRun(try await daemon.startBackfill())
        _ = await sim.stop()
        guard run.state == "succeeded" else {
            throw TestDatabaseError("the fault-free reference backfill ended \(run.state): \(run.error ?? "")\n\(daemon.output.tail)")
        }
        let fingerprint = try DatabaseFingerprint.of(database.url)
        guard fingerprint.settledDays == Int64(Scenario.calendarDays * Scenario.datasets.count),
              fingerprint.priceRows > 0, fingerprint.etfPriceRows > 0
        else {
            throw TestDatabaseError("the reference backfill left an incomplete database: \(fingerprint)")
        }
        result = fingerprint
        return fingerprint
    }
}

/// One line per scenario for scripts/fault-suite.sh's table (when GALAXY_FAULT_REPORT is set).
enum ScenarioReport {
    private static let lock = Mutex(())

    static func record(_ scenario: String, _ details: String, test: String = #function) {
        guard let path = ProcessInfo.processInfo.environment["GALAXY_FAULT_REPORT"] else { return }
        let line = "\(test)\t\(scenario)\t\(details.replacingOccurrences(of: "\t", with: " "))\n"
        lock.withLock { _ in
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.seekToEndOfFile()
                handle.write(Data(line.utf8))
                try? handle.close()
            } else {
                _ = FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
            }
        }
    }
}
