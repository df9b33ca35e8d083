import GalaxyCore
import GalaxyRPC
import Testing

@Suite struct CoverageReportTests {
    /// A day without a ledger row is missing on a weekday, and on a Saturday while KRX still traded Saturdays
    /// (until 1998-12-05); a Sunday, or a later Saturday, without a row is no session.
    @Test func daysWithoutARowAreMissingOnlyWhenTheMarketCouldHaveTraded() throws {
        let saturday1998 = try #require(TradeDate("1998-11-28"))
        let laterSaturday = try #require(TradeDate("1998-12-12"))
        let sunday = try #require(TradeDate("1998-11-29"))
        let monday = try #require(TradeDate("1998-11-30"))
        #expect(CoverageDay(ledgerLetter: "-", date: saturday1998) == .missing)
        #expect(CoverageDay(ledgerLetter: "-", date: laterSaturday) == .noSession)
        #expect(CoverageDay(ledgerLetter: "-", date: sunday) == .noSession)
        #expect(CoverageDay(ledgerLetter: "-", date: monday) == .missing)
        #expect(CoverageDay(ledgerLetter: "C", date: sunday) == .collected, "a row says what the day was")
        #expect(CoverageDay(ledgerLetter: "P", date: monday) == .pending)
    }

    @Test func theReportCountsEveryYearAndEveryDataset() throws {
        // 2026-01-01 is a Thursday: Thu C, Fri F, Sat -, Sun -, Mon -, Tue P, Wed N.
        let report = CoverageReport(
            ledger: [(.price, 2025, String(repeating: "C", count: 365)), (.price, 2026, "CF---PN")],
            datasets: [.price, .etfPrice], toYear: 2026, through: try #require(TradeDate("2026-01-07")))
        #expect(report.fromYear == 2025 && report.through == "2026-01-07")
        let price = try #require(report.datasets.first)
        #expect(price.years.map(\.days.count) == [365, 7])
        #expect(price.years.last?.days == "CFNNMPN")
        let expected = CoverageTotals(collected: 1, noSession: 3, failed: 1, pending: 1, missing: 1)
        #expect(price.years.last?.totals == expected)
        #expect(price.totals == CoverageTotals(collected: 366, noSession: 3, failed: 1, pending: 1, missing: 1))
        #expect(report.datasets.last?.dataset == "etf_price" && report.datasets.last?.years.isEmpty == true)
    }

    @Test func paramsAreCheckedWithTheFieldNamed() throws {
        #expect(throws: JSONRPCError.invalidParams("params.fromYear: 2026 is after params.toYear (2020)")) {
            try CoverageParams(fromYear: 2026, toYear: 2020).validate(currentYear: 2026)
        }
        #expect(throws: JSONRPCError.invalidParams("params.datasets: expected at least one dataset")) {
            try CoverageParams(datasets: []).validate(currentYear: 2026)
        }
        #expect(CoverageParams(datasets: [.price, .price, .etfPrice]).selectedDatasets == [.price, .etfPrice])
        #expect(CoverageParams().selectedDatasets == Dataset.backfillDefault)
    }
}
