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

/// `coverage` and the run summary's day counts against a real backfill: galaxyd, real collectors, krx-sim over HTTP
/// with faults, PostgreSQL; every figure checked against the ledger counted with SQL.
@Suite(.serialized) struct CoverageTests {
    @Test func coverageAndTheRunSummaryCountWhatTheLedgerHolds() async throws {
        let backfills = BackfillIntegrationTests()
        // Malformed answers for the first price requests: some price days fail (one attempt per task), etf_price
        // is untouched, so the run ends partial.
        let sim = try await backfills.simulator(faults: ["portal/MDCSTAT01501=malformed@next=9"])
        defer { Task { _ = await sim.stop() } }
        let daemon = try await backfills.startDaemon(sim: sim, attempts: 1)
        defer { daemon.finish() }
        let connection = try daemon.database.connect()
        defer { connection.close() }

        let started = try await daemon.client.call(
            method: "backfill", params: ["startYear": 2026, "datasets": ["price", "etf_price"]])
        let partial = try await daemon.waitForRun(try #require(started["runId"]?.integerValue), timeout: .seconds(120))
        #expect(partial.state == "partial")
        func count(_ sql: String, _ parameters: [String] = []) throws -> Int {
            Int(try connection.query(sql, parameters).scalar(as: Int64.self))
        }
        // Independently of galaxyd: the ledger's counts over both datasets (a fresh database: the run wrote them all).
        let collected = try count("SELECT count(*) FROM collection_days WHERE status = 'collected'")
        let failed = try count("SELECT count(*) FROM collection_days WHERE status = 'failed'")
        let noSession = try count("SELECT count(*) FROM collection_days WHERE status = 'no_session'")
        #expect(failed > 0, "the injected faults failed some price days")
        let days = try #require(partial.days)
        #expect(days == RunDays(collected: collected, noSession: noSession, failed: failed), "\(days)")
        let status = try await ctl(["status"], socket: daemon.socketPath)
        let summary = "\(Self.grouped(collected)) collected, \(failed) failed, \(noSession) no session"
        #expect(status.contains { $0.contains("partial") && $0.contains(summary) }, "\(status)")

        // The failed days again: a succeeded run that says what it collected and what it already held.
        let retry = try await daemon.client.call(
            method: "backfill", params: ["startYear": 2026, "datasets": ["price"], "onlyFailed": true])
        let retryID = try #require(retry["runId"]?.integerValue)
        let succeeded = try await daemon.waitForRun(retryID, timeout: .seconds(120))
        #expect(succeeded.state == "succeeded")
        let inRanges = try count(
            """
            SELECT count(*) FROM job_tasks t, generate_series(t.range_start, t.range_end, interval '1 day') d
            WHERE t.run_id = $1::bigint
            """, [String(retryID)])
        let retried = try #require(succeeded.days)
        #expect(retried.collected == failed && retried.failed == 0, "\(retried)")
        #expect(retried.collected + retried.alreadyHeld == inRanges, "\(retried) over \(inRanges) days")
        let follow = try await ctl(["follow", String(retryID)], socket: daemon.socketPath)
        let line = try #require(follow.last)
        #expect(line.contains(" succeeded in "), "\(follow)")
        let held = retried.alreadyHeld > 0 ? ", \(Self.grouped(retried.alreadyHeld)) already held" : ""
        #expect(line.contains(": \(failed) collected\(held); "), "\(follow)")

        // A hole on a weekday and one on a Saturday: the first is missing, the second no session.
        _ = try connection.query(
            "DELETE FROM collection_days WHERE dataset = 'etf_price' AND trade_date IN ('2026-02-10', '2026-02-07')")
        let failedDate = TradeDate(year: 2026, month: 1, day: 2)!
        _ = try connection.query(
            "UPDATE collection_days SET status = 'failed', rows = 0 WHERE dataset = 'price' AND trade_date = $1",
            [failedDate])
        _ = try connection.query("DELETE FROM prices WHERE date = $1", [failedDate])

        let raw = try await daemon.client.call(method: "coverage", params: ["datasets": ["price", "etf_price"]])
        ResponseLog.record(method: "coverage", result: raw)
        let report = try raw.decode(as: CoverageReport.self)
        #expect(report.fromYear == 2026 && report.toYear == 2026 && report.through == "2026-02-13")
        #expect(report.datasets.map(\.dataset) == ["price", "etf_price"])
        for coverage in report.datasets {
            let name = coverage.dataset
            let of = { (status: String) in
                try count(
                    "SELECT count(*) FROM collection_days WHERE dataset = $1 AND status = $2", [name, status])
            }
            let withoutRow = { (weekend: Bool) in
                try count(
                    """
                    SELECT count(*) FROM generate_series('2026-01-01'::date, '2026-02-13', interval '1 day') d
                    WHERE (extract(isodow FROM d) >= 6) = $2::boolean AND NOT EXISTS (
                        SELECT 1 FROM collection_days c WHERE c.dataset = $1 AND c.trade_date = d::date)
                    """, [name, String(weekend)])
            }
            let expected = CoverageTotals(
                collected: try of("collected"), noSession: try of("no_session") + withoutRow(true),
                failed: try of("failed"), pending: try of("pending"), missing: try withoutRow(false))
            #expect(coverage.totals == expected, "\(name)")
            #expect(coverage.years.map(\.year) == [2026])
            #expect(coverage.years.first?.totals == expected)
            #expect(coverage.years.first?.days.count == 44, "January 1st through February 13th")
        }
        let priceDays = Array(try #require(report.datasets.first?.years.first?.days))
        let etfDays = Array(try #require(report.datasets.last?.years.first?.days))
        #expect(priceDays[1] == "F", "2026-01-02 failed")
        #expect(etfDays[40] == "M", "2026-02-10, a Tuesday without a row, is missing")
        #expect(etfDays[37] == "N", "2026-02-07, a Saturday without a row, is no session")
        #expect(report.datasets.last?.totals.missing == 1)

        // Bad params: precise errors, and galaxyd goes on answering.
        let bad: [([String: JSONValue], String)] = [
            (["datasets": ["price", "bonds"]], "params.datasets[1]: unknown dataset 'bonds'"),
            (["fromYear": 2026, "toYear": 2020], "params.fromYear: 2026 is after params.toYear (2020)"),
            (["fromYear": "2020"], "params.fromYear: expected an integer"),
            (["toYear": 1989], "params.toYear: expected a year between 1990 and 2026, got 1989"),
            (["datasets": "price"], "params.datasets: expected an array"),
            (["from": 2020], "params.from: unknown parameter"),
        ]
        for (params, message) in bad {
            do {
                _ = try await daemon.client.call(method: "coverage", params: .object(params))
                Issue.record("coverage \(params) was accepted")
            } catch let error as JSONRPCError {
                #expect(error.code == -32602 && error.message.contains(message), "\(params): \(error)")
            }
        }

        // galaxyctl draws it: every cell is the letter of its day, the known week among them.
        let plain = try await ctl(["coverage", "--dataset", "etf_price"], socket: daemon.socketPath)
        let heading = try #require(plain.firstIndex { $0.hasPrefix("2026 etf_price: ") }, "\(plain)")
        #expect(plain[heading].hasSuffix(CoverageCalendarText.totals(try #require(report.datasets.last?.totals))))
        let rows = Array(plain[(heading + 2)..<(heading + 9)])
        #expect(rows.map { String($0.prefix(3)) } == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        func cell(_ index: Int) -> Character {
            let position = 3 + index  // 2026-01-01 is a Thursday: three days of week 0 before it
            let line = Array(rows[position % 7])
            let column = 4 + position / 7 * 2
            return column < line.count ? line[column] : " "
        }
        let glyphs: [Character: Character] = ["C": "#", "N": ".", "F": "F", "P": "?", "M": "_"]
        #expect(etfDays.indices.allSatisfy { cell($0) == glyphs[etfDays[$0]] }, "\(plain.joined(separator: "\n"))")
        #expect((37...43).map(cell) == [".", ".", "#", "_", "#", "#", "#"], "the week of 2026-02-09")
        #expect(cell(44) == " ", "after the last day: blank")
        #expect(plain.last?.hasPrefix("legend: # collected  . no session  F failed  ? pending  _ missing") == true)
        #expect(!plain.joined().contains("\u{1B}"), "no colours without a terminal")

        let json = try await ctl(
            ["coverage", "--dataset", "price", "--dataset", "etf_price", "--from", "2026", "--json"],
            socket: daemon.socketPath)
        #expect(json.count == 1)
        #expect(try JSONValue(parsing: try #require(json.first)).decode(as: CoverageReport.self) == report)
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return out
    }
}

/// The totals text galaxyctl prints in a year's heading (`248 collected, 115 no session, …`).
enum CoverageCalendarText {
    static func totals(_ totals: CoverageTotals) -> String {
        "\(CoverageTests.grouped(totals.collected)) collected, \(CoverageTests.grouped(totals.noSession)) no session, "
            + "\(CoverageTests.grouped(totals.failed)) failed, \(CoverageTests.grouped(totals.pending)) pending, "
            + "\(CoverageTests.grouped(totals.missing)) missing"
    }
}
