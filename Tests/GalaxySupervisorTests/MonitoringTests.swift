import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
@testable import GalaxySupervisor
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `metrics`, `GALAXY_METRICS_FILE` and `check` against a real galaxyd: real collectors, krx-sim over HTTP with
/// faults, PostgreSQL. Every figure is checked against what the ledger, the tables and the simulator counted, and
/// the text is read by the official Prometheus client's parser (scripts/parse-prometheus.py), not by ours.
@Suite(.serialized) struct MonitoringTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The samples of an exposition as the Prometheus client parsed it.
    struct Parsed {
        var families: [String: String]
        var samples: [(name: String, labels: [String: String], value: Double)]

        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in
                sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
            }?.value
        }
    }

    static func parse(_ text: String) async throws -> Parsed {
        let directory = try TemporaryDirectory(prefix: "prom")
        defer { directory.remove() }
        let file = directory.file("metrics.prom")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return try await parse(file: file)
    }

    static func parse(file: String) async throws -> Parsed {
        let (status, output) = try await runProcess(
            ["/bin/sh", "-c", "python3 \"$0\" \"$1\" 2>&1", "\(repository)/scripts/parse-prometheus.py", file])
        try #require(status == 0, "the Prometheus client's parser refused the text: \(output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        var families: [String: String] = [:]
        for (name, family) in json["families"] as? [String: [String: String]] ?? [:] { families[name] = family["type"] }
        let samples = (json["samples"] as? [[Any]] ?? []).compactMap { sample -> (String, [String: String], Double)? in
            guard sample.count == 3, let name = sample[0] as? String, let labels = sample[1] as? [String: String]
            else { return nil }
            let value = (sample[2] as? NSNumber)?.doubleValue ?? (sample[2] as? String == "+Inf" ? .infinity : .nan)
            return (name, labels, value)
        }
        return Parsed(families: families, samples: samples.map { (name: $0.0, labels: $0.1, value: $0.2) })
    }

    @Test func metricsAndCheckSayWhatTheLedgerAndTheSimulatorCounted() async throws {
        let backfills = BackfillIntegrationTests()
        // Garbled answers for the first price requests: some attempts fail and are counted by kind.
        let sim = try await backfills.simulator(faults: ["portal/MDCSTAT01501=malformed@next=3"])
        defer { Task { _ = await sim.stop() } }
        let files = try TemporaryDirectory(prefix: "textfile")
        defer { files.remove() }
        let metricsFile = files.file("galaxy.prom")
        let daemon = try await backfills.startDaemon(
            sim: sim, attempts: 1, environment: ["GALAXY_METRICS_FILE": metricsFile])
        defer { daemon.finish() }
        let connection = try daemon.database.connect()
        defer { connection.close() }

        // Written at start, before any run: a file node_exporter can read, with the gauges and zeroed counters.
        #expect(FileManager.default.fileExists(atPath: metricsFile))
        var info = stat()
        #expect(stat(metricsFile, &info) == 0 && info.st_mode & 0o777 == 0o644)
        let first = try await Self.parse(file: metricsFile)
        #expect(first.value("galaxy_runs_total", ["kind": "backfill", "outcome": "succeeded"]) == 0)
        try await waitUntil("the leader in the file", timeout: .seconds(15)) {
            try await Self.parse(file: metricsFile).value("galaxy_leader") == 1
        }

        let started = try await daemon.client.call(
            method: "backfill", params: ["startYear": 2026, "datasets": ["price", "etf_price"]])
        let run = try await daemon.waitForRun(try #require(started["runId"]?.integerValue), timeout: .seconds(120))
        let result = try await daemon.client.call(method: "metrics")
        ResponseLog.record(method: "metrics", result: result)
        let exposition = try result.decode(as: MetricsResult.self)
        #expect(exposition.contentType == "text/plain; version=0.0.4; charset=utf-8")
        let parsed = try await Self.parse(exposition.text)

        func count(_ sql: String) throws -> Double { Double(try connection.query(sql).scalar(as: Int64.self)) }
        #expect(parsed.value("galaxy_runs_total", ["kind": "backfill", "outcome": run.state]) == 1)
        #expect(parsed.value("galaxy_run_duration_seconds_count", ["kind": "backfill"]) == 1)
        #expect(parsed.value("galaxy_rows_stored_total", ["collector": "price"])
            == (try count("SELECT count(*) FROM prices")))
        #expect(parsed.value("galaxy_rows_stored_total", ["collector": "etf_price"])
            == (try count("SELECT count(*) FROM etf_prices")))
        // Every request the simulator served (login steps included) was counted, and each garbled answer once.
        let (statsData, _) = try await URLSession.shared.data(from: URL(string: sim.baseURL + "/_sim/stats")!)
        let served = try #require(try JSONValue(parsing: Array(statsData))["total"]?.integerValue)
        #expect(parsed.value("galaxy_krx_requests_total", ["source": "portal"]) == Double(served))
        #expect(parsed.value("galaxy_krx_request_errors_total", ["source": "portal", "kind": "malformed"]) == 3)
        #expect(parsed.value("galaxy_krx_achieved_request_rate").map { $0 > 0 } == true, "requests in the last minute")
        let tasks = run.tasks.count
        #expect(parsed.value("galaxy_task_duration_seconds_count", ["collector": "price"])
            .map { $0 + (parsed.value("galaxy_task_duration_seconds_count", ["collector": "etf_price"]) ?? 0) }
            == Double(tasks))
        #expect(parsed.value("galaxy_task_duration_seconds_bucket", ["collector": "price", "le": "+Inf"])
            == parsed.value("galaxy_task_duration_seconds_count", ["collector": "price"]))
        #expect((parsed.value("galaxy_collector_peak_rss_bytes", ["collector": "price"]) ?? 0) > 1_000_000)
        #expect(parsed.value("galaxy_database_reachable") == 1)
        #expect(parsed.value("galaxy_build_info", ["version": GalaxyVersion.current]) == 1)
        #expect(parsed.families["galaxy_runs"] == "counter")
        #expect(parsed.families["galaxy_run_duration_seconds"] == "histogram")
        // The ledger gauges: the newest collected day as 00:00 KST, and no trading day behind (today, the 13th,
        // was collected).
        let newest = try connection.query(
            "SELECT max(trade_date) FROM collection_days WHERE dataset = 'price' AND status = 'collected'"
        ).scalar(as: TradeDate.self)
        let midnight = try #require(TimeZoneRules(identifier: "Asia/Seoul")?.utcSeconds(
            of: LocalTime(date: newest, hour: 0, minute: 0)))
        try await waitUntil("the ledger gauges", timeout: .seconds(30)) {
            let parsed = try await metrics(daemon)
            return parsed.value("galaxy_dataset_last_collected_timestamp_seconds", ["dataset": "price"])
                == Double(midnight) && parsed.value("galaxy_dataset_age_trading_days", ["dataset": "price"]) == 0
                && parsed.value("galaxy_dataset_age_trading_days", ["dataset": "stock"]) == .infinity
        }
        // The file holds the same families (its counters may be a beat older), and no temporary file is left.
        try await waitUntil("the file's turn", timeout: .seconds(30)) {
            try await Self.parse(file: metricsFile)
                .value("galaxy_runs_total", ["kind": "backfill", "outcome": run.state]) == 1
        }
        let inFile = Set(try await Self.parse(file: metricsFile).families.keys)
        let fromMethod = Set(try await metrics(daemon).families.keys)
        #expect(inFile == fromMethod, "\(inFile.symmetricDifference(fromMethod))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: files.path) == ["galaxy.prom"])

        // check: the 13th is due (19:00 passed) and held; the masters were never collected.
        let ok = try await check(daemon, ["deadline": "19:00", "datasets": ["price", "etf_price"]])
        #expect(ok.status == .ok, "\(ok)")
        #expect(ok.due == "2026-02-13")
        #expect(ok.summary.hasPrefix("2/2 datasets current through 2026-02-13"), "\(ok.summary)")
        let all = try await check(daemon, [:])
        #expect(all.status == .critical && all.summary.contains("stock was never collected"), "\(all.summary)")
        let line = try await ctl(["check", "--dataset", "price,etf_price"], socket: daemon.socketPath, status: 0)
        #expect(line.first?.hasPrefix("GALAXY OK: 2/2 datasets current") == true, "\(line)")
        #expect(line.first?.hasSuffix("| age_price=0;;0;0; age_etf_price=0;;0;0;") == true, "\(line)")
        let critical = try await ctl(["check"], socket: daemon.socketPath, status: 2)
        #expect(critical.first?.hasPrefix("GALAXY CRITICAL: ") == true, "\(critical)")

        // Price two trading days behind, the newest day failed with its reason in the summary.
        _ = try connection.query(
            """
            UPDATE collection_days SET status = 'failed', last_error = 'KRX answered HTTP 503 (test)'
            WHERE dataset = 'price' AND trade_date >= '2026-02-12'
            """)
        let behind = try await check(daemon, ["datasets": ["price", "etf_price"]])
        #expect(behind.status == .critical)
        #expect(behind.summary == "price 2 trading days behind (last collected 2026-02-11, 2026-02-13 due); "
            + "2026-02-13 is failed: KRX answered HTTP 503 (test)", "\(behind.summary)")
        #expect(behind.datasets.first { $0.dataset == "price" }?.ageTradingDays == 2)
        // Before the deadline the 12th is due, one day behind; the JSON is the method's result.
        let json = try await ctl(["check", "--deadline", "23:59", "--dataset", "price", "--json"],
                                 socket: daemon.socketPath, status: 2)
        let early = try JSONValue(parsing: try #require(json.first)).decode(as: CheckReport.self)
        #expect(early.due == "2026-02-12" && early.datasets.first?.ageTradingDays == 1, "\(early)")

        // A day the ledger records closed (no_session in every per-day dataset) is no trading day; a newest day that
        // is only pending is a warning.
        _ = try connection.query(
            "UPDATE collection_days SET status = 'no_session' WHERE trade_date = '2026-02-12' AND dataset <> 'stock'")
        _ = try connection.query(
            "UPDATE collection_days SET status = 'pending' WHERE trade_date = '2026-02-13' AND dataset = 'price'")
        let pending = try await check(daemon, ["datasets": ["price"]])
        #expect(pending.status == .warning, "\(pending)")
        #expect(pending.datasets.first?.ageTradingDays == 1 && pending.summary.contains("2026-02-13 is pending"))
        #expect(try await ctl(["check", "--dataset", "price"], socket: daemon.socketPath, status: 1)
            .first?.hasPrefix("GALAXY WARNING: price 1 trading day behind") == true)

        // An open breaker is a warning once galaxyd's beat has seen it.
        _ = try connection.query(
            "UPDATE collection_days SET status = 'collected' WHERE dataset = 'price' AND trade_date = '2026-02-13'")
        _ = try connection.query(
            "INSERT INTO source_breakers (source, opened_at, open_until, reason) "
                + "VALUES ('portal', now(), now() + interval '24 hours', 'block page (test)')")
        try await waitUntil("the breaker in check", timeout: .seconds(15)) {
            try await check(daemon, ["datasets": ["price"]]).checks
                .contains { $0.name == "breaker" && $0.status == .warning }
        }
        let blocked = try await check(daemon, ["datasets": ["price"]])
        #expect(blocked.status == .warning && blocked.summary.contains("breaker open until"), "\(blocked.summary)")
        let open = try await metrics(daemon)
        #expect(open.value("galaxy_breaker_open", ["source": "portal"]) == 1)
        let until = open.value("galaxy_breaker_open_until_timestamp_seconds", ["source": "portal"]) ?? 0
        #expect(until > Date().timeIntervalSince1970)

        // An orderly stop leaves no metrics that look alive.
        daemon.process.signalGroup(SIGTERM)
        #expect(await daemon.process.wait().termination == .exited(0))
        #expect(!FileManager.default.fileExists(atPath: metricsFile))
    }

    @Test func wrongParamsAreInvalidParamsAndABadCheckIsUnknownForMonitoring() async throws {
        let daemon = try await DaemonHarness()
        defer { daemon.finish() }
        for (method, params, message) in [
            ("check", ["deadline": JSONValue.string("25:00")], "params.deadline: expected HH:MM"),
            ("check", ["deadline": .integer(19)], "params.deadline: expected a string"),
            ("check", ["datasets": .array([.string("bonds")])], "unknown dataset 'bonds'"),
            ("check", ["datasets": .array([])], "params.datasets: expected at least one dataset"),
            ("metrics", ["format": .string("json")], "params.format: unknown parameter"),
        ] {
            await #expect {
                _ = try await daemon.client.call(method: method, params: .object(params))
            } throws: { error in
                guard let error = error as? JSONRPCError else { return false }
                ResponseLog.record(method: method, error: error)
                return error.code == -32602 && error.message.contains(message)
            }
        }
        // A monitoring system must read a mistyped check or an absent galaxyd as UNKNOWN (3), never as CRITICAL.
        let usage = try await ctl(["check", "--deadline", "7pm"], socket: daemon.socketPath, status: 3)
        #expect(usage.first?.hasPrefix("GALAXY UNKNOWN: ") == true, "\(usage)")
        let absent = try await ctl(["check"], socket: daemon.directory.file("nobody.sock"), status: 3)
        #expect(absent.first?.hasPrefix("GALAXY UNKNOWN: galaxyd is not running") == true, "\(absent)")
        let absentJSON = try await ctl(["check", "--json"], socket: daemon.directory.file("nobody.sock"), status: 3)
        #expect(try JSONValue(parsing: try #require(absentJSON.first))["status"]?.stringValue == "UNKNOWN")
        // The daemon is unharmed.
        #expect(try await daemon.status().daemon.ready)
        let text = try await ctl(["metrics"], socket: daemon.socketPath, status: 0).joined(separator: "\n")
        #expect(try await Self.parse(text + "\n").value("galaxy_leader") == 1)
    }

    @Test func aDatabaseThatGoesAwayIsCriticalAndTheMetricsSaySo() async throws {
        let cluster = try await PrivateCluster.start()
        defer { Task { await cluster.remove() } }
        let database = try TestDatabase.create(clusterURL: cluster.url)
        let daemon = try await DaemonHarness(database: database)
        defer { daemon.finish() }
        try await cluster.stopServer()
        try await waitUntil { try await daemon.status().daemon.database == "unavailable" }
        let report = try await check(daemon, ["datasets": ["price"]])
        #expect(report.status == .critical, "\(report)")
        #expect(report.checks.first { $0.name == "database" }?.status == .critical)
        #expect(report.checks.first { $0.name == "data" }?.status == .unknown && report.datasets.isEmpty)
        let line = try await ctl(["check"], socket: daemon.socketPath, status: 2)
        #expect(line.first?.contains("database unreachable") == true, "\(line)")
        #expect(try await metrics(daemon).value("galaxy_database_reachable") == 0)
        #expect(daemon.process.exit == nil)
    }

    @Test func aMetricsFileThatCannotBeWrittenStopsGalaxydAtStartWith78() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let (exit, stderr) = try await DaemonFailureTests().runToExit([
            "GALAXY_DATABASE_URL": database.url, "GALAXY_COLLECTOR": "/bin/true",
            "GALAXY_METRICS_FILE": "/nonexistent-\(getpid())/galaxy.prom",
        ])
        #expect(exit.termination == .exited(78))
        #expect(stderr.last?.hasPrefix("galaxyd: GALAXY_METRICS_FILE: cannot write /nonexistent-") == true, "\(stderr)")
        #expect(!stderr.contains { $0.contains("run started") }, "it stops before it leads: \(stderr)")
    }

    @Test func theTextFollowsTheFormatWhateverTheValues() async throws {
        var out = PrometheusText()
        out.family("galaxy_test_total", .counter, help: "A help text with a \\ backslash\nand a newline.")
        out.sample("galaxy_test_total", [("label", "quote \" backslash \\ newline \n end")], 3)
        out.family("galaxy_test_gauge", .gauge, help: "Special values.")
        out.sample("galaxy_test_gauge", [("v", "inf")], .infinity)
        out.sample("galaxy_test_gauge", [("v", "fraction")], 0.25)
        var histogram = Histogram(bounds: [1, 10])
        for value in [0.5, 5, 50] { histogram.observe(value) }
        out.family("galaxy_test_seconds", .histogram, help: "Buckets.")
        out.histogram("galaxy_test_seconds", [], histogram)
        let parsed = try await Self.parse(out.text)
        #expect(parsed.value("galaxy_test_total", ["label": "quote \" backslash \\ newline \n end"]) == 3)
        #expect(parsed.value("galaxy_test_gauge", ["v": "inf"]) == .infinity)
        #expect(parsed.value("galaxy_test_gauge", ["v": "fraction"]) == 0.25)
        #expect(parsed.value("galaxy_test_seconds_bucket", ["le": "1"]) == 1)
        #expect(parsed.value("galaxy_test_seconds_bucket", ["le": "10"]) == 2)
        #expect(parsed.value("galaxy_test_seconds_bucket", ["le": "+Inf"]) == 3)
        #expect(parsed.value("galaxy_test_seconds_sum") == 55.5)
    }

    @Test func freshnessCountsTradingDaysAndTheOpenAPIIsDueADayLater() {
        let friday = TradeDate(year: 2026, month: 2, day: 13)!
        var ledger = LedgerFreshness()
        ledger.calendar = TradingCalendar(closed: [TradeDate(year: 2026, month: 2, day: 16)!])  // a Monday holiday
        ledger.lastCollected[.price] = TradeDate(year: 2026, month: 2, day: 11)!
        ledger.lastCollected[.etfPrice] = TradeDate(year: 2026, month: 2, day: 12)!
        let deadline = ClockTime(hour: 19, minute: 0)!
        #expect(ledger.due(at: LocalTime(date: friday, hour: 18, minute: 59), deadline: deadline).day == 12)
        #expect(ledger.due(at: LocalTime(date: friday, hour: 19, minute: 0), deadline: deadline) == friday)
        // Saturday, Sunday and the holiday Monday: Friday is still due on Tuesday before the deadline.
        let tuesday = TradeDate(year: 2026, month: 2, day: 17)!
        #expect(ledger.due(at: LocalTime(date: tuesday, hour: 9, minute: 0), deadline: deadline) == friday)
        let portal = ledger.freshness(of: .price, source: .portal, due: tuesday)
        #expect(portal.ageTradingDays == 3 && portal.status == .critical, "12th, 13th, 17th: \(portal)")
        let openAPI = ledger.freshness(of: .etfPrice, source: .openapi, due: tuesday)
        #expect(openAPI.expected == "2026-02-13" && openAPI.ageTradingDays == 1, "\(openAPI)")
        #expect(ledger.freshness(of: .stock, source: .portal, due: tuesday).ageTradingDays == nil)
        #expect(ClockTime("7:05")?.description == "07:05" && ClockTime("24:00") == nil && ClockTime("19") == nil)
    }

    func metrics(_ daemon: DaemonHarness) async throws -> Parsed {
        try await Self.parse(try await daemon.client.call(method: "metrics").decode(as: MetricsResult.self).text)
    }

    func check(_ daemon: DaemonHarness, _ params: [String: JSONValue]) async throws -> CheckReport {
        let result = try await daemon.client.call(method: "check", params: .object(params))
        ResponseLog.record(method: "check", result: result)
        return try result.decode(as: CheckReport.self)
    }
}
