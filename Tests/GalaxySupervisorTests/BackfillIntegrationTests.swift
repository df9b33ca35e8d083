import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real thing end to end: galaxyd, the real galaxy-collector children, krx-sim over HTTP (with the member
/// login), and PostgreSQL.
@Suite(.serialized) struct BackfillIntegrationTests {
    /// galaxyd believes it is Friday 2026-02-13, 19:00 in Seoul.
    static let now = "2026-02-13T19:00:00+09:00"

    func startDaemon(
        sim: KRXSimProcess, database: TestDatabase? = nil, attempts: Int = 2, rate: String = "0",
        environment extra: [String: String] = [:]
    ) async throws -> DaemonHarness {
        try await DaemonHarness(
            database: database,
            extraArguments: ["--now", Self.now, "--heartbeat-timeout", "20", "--ready-timeout", "20",
                             "--max-attempts", String(attempts)],
            environment: [
                "GALAXY_COLLECTOR": BuiltProducts.path("galaxy-collector"), "GALAXY_PORTAL_URL": sim.baseURL,
                "GALAXY_OPENAPI_URL": sim.baseURL, "KRX_ID": "tester", "KRX_PW": "sim-password",
                "GALAXY_LOG_LEVEL": "info", "GALAXY_RATE": rate,
            ].merging(extra) { $1 })
    }

    /// A small market with login; `faults` are krx-sim `--fault` rules (`ROUTE=KIND@TRIGGER`).
    func simulator(faults: [String] = []) async throws -> KRXSimProcess {
        try await KRXSimProcess.launch([
            "--stocks", "120", "--etfs", "30", "--require-login", "--account", "tester:sim-password",
        ] + faults.flatMap { ["--fault", $0] })
    }

    func simRequests(_ sim: KRXSimProcess, route: String) async throws -> Int {
        let (data, _) = try await URLSession.shared.data(from: URL(string: sim.baseURL + "/_sim/stats")!)
        let stats = try JSONValue(parsing: Array(data))
        return Int(stats["routes"]?[route]?["count"]?.integerValue ?? 0)
    }

    /// SIGKILL is a crash (the run is left `running`); SIGTERM is `systemctl stop`/`restart` (galaxyd records the
    /// run `interrupted` and exits 0). The next daemon resumes both.
    @Test(arguments: [SIGKILL, SIGTERM])
    func aBackfillStoppedMidwayResumesFromTheLedgerAndFetchesNoCollectedDayAgain(signal: Int32) async throws {
        let sim = try await simulator()
        // 25 requests/s for both collectors together: slow enough that the kill lands mid-backfill.
        let first = try await startDaemon(sim: sim, rate: "25")
        let database = first.database
        let accepted = try await first.client.call(
            method: "backfill", params: ["startYear": 2026, "datasets": ["price", "etf_price"]])
        ResponseLog.record(method: "backfill", result: accepted)
        let runID = try #require(accepted["runId"]?.integerValue)
        // Let it collect a few days, then stop the daemon (after a kill -9 its collectors see stdin EOF and exit).
        try await waitUntil(timeout: .seconds(120)) {
            (try await first.status(runId: runID).runs.first?.progress.perDataset["price"]?.daysDone ?? 0) >= 8
        }
        let beforeKill = try #require(try await first.status(runId: runID).runs.first)
        #expect(!beforeKill.isFinished, "the kill lands while the backfill runs")
        first.process.signalGroup(signal)
        let exit = await first.process.wait()
        first.finish(keepDatabase: true)
        if signal == SIGTERM {
            #expect(exit.termination == .exited(0), "a clean stop exits 0")
            let connection = try database.connect()
            defer { connection.close() }
            let state = try connection.query("SELECT state FROM job_runs WHERE id = $1", [runID]).scalar(as: String.self)
            #expect(state == "interrupted", "a clean stop records the run interrupted")
        }

        let second = try await startDaemon(sim: sim, database: database)
        defer { second.finish() }
        let run = try await second.waitForRun(runID, timeout: .seconds(180))
        #expect(run.state == "succeeded")
        #expect(run.params["startYear"]?.integerValue == 2026)
        #expect(run.tasks.contains { $0.state == "interrupted" } == false, "the resumed run shows its new tasks")

        let connection = try database.connect()
        defer { connection.close() }
        // Every calendar day 2026-01-01 … 2026-02-13 is settled for both datasets, once.
        for dataset in ["price", "etf_price"] {
            let settled = try connection.query(
                """
                SELECT count(*) FROM collection_days WHERE dataset = $1 AND status IN ('collected', 'no_session')
                AND trade_date BETWEEN '2026-01-01' AND '2026-02-13'
                """, [dataset]).scalar(as: Int64.self)
            #expect(settled == 44, "\(dataset): every day of the range is in the ledger")
        }
        let collectedDays = try connection.query(
            "SELECT count(*) FROM collection_days WHERE dataset = 'price' AND status = 'collected'"
        ).scalar(as: Int64.self)
        #expect(collectedDays >= 25)
        // Stored rows match the ledger's counts day by day (nothing lost, nothing duplicated).
        let mismatched = try connection.query(
            """
            SELECT count(*) FROM collection_days d
            WHERE d.dataset = 'price' AND d.status = 'collected'
              AND d.rows <> (SELECT count(*) FROM prices p WHERE p.date = d.trade_date)
            """).scalar(as: Int64.self)
        #expect(mismatched == 0)
        // No collected day was requested twice: one whole-market request per calendar day (closed days answer with
        // "-" rows), plus at most the day that was in flight when the daemon died. Both collectors of each daemon
        // shared one member session: KRX allows one per account, so separate logins would have ended each other's
        // sessions and every LOGOUT would have cost a request.
        let requests = try await simRequests(sim, route: "portal/MDCSTAT01501")
        #expect(requests >= Int(collectedDays))
        #expect(requests <= 44 + 1, "\(requests) whole-market requests for 44 calendar days")
        // The interrupted run's earlier tasks are on record.
        let interrupted = try connection.query(
            "SELECT count(*) FROM job_tasks WHERE run_id = $1 AND state = 'interrupted'", [runID]
        ).scalar(as: Int64.self)
        #expect(interrupted >= 1)
        _ = await sim.stop()
    }

    @Test func onlyFailedRerunsTheFailedDaysAndCancelStopsABackfill() async throws {
        let sim = try await simulator()
        defer { Task { _ = await sim.stop() } }
        // Malformed JSON for the first nine price requests: those days fail (the client's own retries included), the
        // others are stored. One attempt per task, so the failed days stay failed until `onlyFailed`.
        var request = URLRequest(url: URL(string: sim.baseURL + "/_sim/faults")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"spec":"portal/MDCSTAT01501=malformed@next=9"}"#.utf8)
        let (answer, _) = try await URLSession.shared.data(for: request)
        #expect(String(decoding: answer, as: UTF8.self).contains("\"ok\":true"))

        let daemon = try await startDaemon(sim: sim, attempts: 1)
        defer { daemon.finish() }
        let first = try await daemon.client.call(method: "backfill", params: ["startYear": 2026, "datasets": ["price"]])
        let firstRun = try await daemon.waitForRun(try #require(first["runId"]?.integerValue), timeout: .seconds(180))
        let connection = try daemon.database.connect()
        defer { connection.close() }
        let failedDays = try connection.query(
            "SELECT trade_date FROM collection_days WHERE dataset = 'price' AND status = 'failed' ORDER BY 1"
        ).rows.map { try $0.decode(0, as: TradeDateText.self).text }
        #expect(!failedDays.isEmpty, "the injected faults failed some days")
        #expect(firstRun.state == "failed" || firstRun.state == "partial" || firstRun.state == "succeeded")

        let before = try await simRequests(sim, route: "portal/MDCSTAT01501")
        let retry = try await daemon.client.call(
            method: "backfill", params: ["startYear": 2026, "datasets": ["price"], "onlyFailed": true])
        let retried = try await daemon.waitForRun(try #require(retry["runId"]?.integerValue), timeout: .seconds(120))
        #expect(retried.state == "succeeded")
        let after = try await simRequests(sim, route: "portal/MDCSTAT01501")
        #expect(after - before == failedDays.count, "only the failed days were fetched again")
        #expect(try connection.query(
            "SELECT count(*) FROM collection_days WHERE dataset = 'price' AND status = 'failed'").scalar(as: Int64.self) == 0)

        // A backfill further back, cancelled while it runs: it ends cancelled and its collectors are gone.
        let long = try await daemon.client.call(method: "backfill", params: ["startYear": 2024, "datasets": ["etf_price"]])
        let longID = try #require(long["runId"]?.integerValue)
        try await waitUntil(timeout: .seconds(60)) { try await !daemon.status().children.isEmpty }
        let pids = try await daemon.status().children.map(\.pid)
        let cancel = try await daemon.client.call(method: "cancel", params: ["runId": .integer(longID)])
        ResponseLog.record(method: "cancel", result: cancel)
        let cancelled = try await daemon.waitForRun(longID, timeout: .seconds(60))
        #expect(cancelled.state == "cancelled")
        for pid in pids { #expect(kill(pid, 0) != 0) }
        let status = try await daemon.status()
        #expect(status.children.isEmpty)
    }
}

/// A date column read as text (the tests compare ISO strings).
struct TradeDateText: PostgresDecodable {
    let text: String
    static func decodePostgres(_ text: String?) throws(PostgresValueError) -> TradeDateText {
        TradeDateText(text: text ?? "")
    }
}
