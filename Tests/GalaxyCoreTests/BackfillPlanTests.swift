import GalaxyCore
import Testing

@Suite struct BackfillPlanTests {
    let today = TradeDate("2026-11-27")!

    func covered(_ range: DateRange, failed: Set<TradeDate> = []) -> LedgerCoverage {
        let days = Set(range).subtracting(failed)
        return LedgerCoverage(done: days, failed: failed, earliestCollected: range.start, latestCollected: range.end)
    }

    @Test func nothingStoredCollectsFromStartYearToTheEndInYearlyChunks() throws {
        let chunks = try BackfillPlanner.plan(dataset: .price, startYear: 2023, end: today, coverage: LedgerCoverage())
        #expect(chunks.map(\.range.description) == [
            "2023-01-01…2023-12-31", "2024-01-01…2024-12-31", "2025-01-01…2025-12-31", "2026-01-01…2026-11-27",
        ])
        #expect(chunks.first?.range.start == TradeDate("2023-01-01"))
    }

    @Test func storedFromJuneEndsTheBackfillTheDayBeforeAndFillsForward() throws {
        let stored = DateRange(TradeDate("2024-06-01")!, TradeDate("2026-10-30")!)!
        let chunks = try BackfillPlanner.plan(dataset: .price, startYear: 2023, end: today, coverage: covered(stored))
        #expect(chunks.map(\.description) == [
            "price 2026-10-31…2026-11-27 (forward)",
            "price 2024-01-01…2024-05-31 (backward)",
            "price 2023-01-01…2023-12-31 (backward)",
        ])
    }

    @Test func holesBetweenStoredDaysAreFilledAndFailedDaysCountAsHoles() throws {
        let stored = DateRange(TradeDate("2025-01-01")!, today)!
        var coverage = covered(stored, failed: [TradeDate("2025-03-04")!])
        coverage.done.subtract(DateRange(TradeDate("2025-12-30")!, TradeDate("2026-01-02")!)!)
        let chunks = try BackfillPlanner.plan(dataset: .etfPrice, startYear: 2025, end: today, coverage: coverage)
        #expect(chunks.map(\.description) == [
            "etf_price 2026-01-01…2026-01-02 (hole)",
            "etf_price 2025-12-30…2025-12-31 (hole)",
            "etf_price 2025-03-04 (hole)",
        ])
    }

    @Test func onlyFailedPlansJustTheFailedDays() throws {
        let failed: Set<TradeDate> = [TradeDate("2024-02-05")!, TradeDate("2024-02-06")!, TradeDate("2025-07-01")!]
        let coverage = covered(DateRange(TradeDate("2024-01-01")!, today)!, failed: failed)
        let chunks = try BackfillPlanner.plan(
            dataset: .price, startYear: 2020, end: today, coverage: coverage, onlyFailed: true)
        #expect(chunks.map(\.description) == ["price 2024-02-05…2024-02-06 (retry)", "price 2025-07-01 (retry)"])
    }

    @Test func aCompleteLedgerPlansNothing() throws {
        let coverage = covered(DateRange(TradeDate("2020-01-01")!, today)!)
        #expect(try BackfillPlanner.plan(dataset: .price, startYear: 2020, end: today, coverage: coverage).isEmpty)
    }

    @Test(arguments: [1989, 2027, 0, -5])
    func startYearOutsideTheAllowedRangeIsRejected(_ year: Int) {
        #expect(throws: BackfillPlanner.InvalidStartYear.self) {
            try BackfillPlanner.plan(dataset: .price, startYear: year, end: TradeDate("2026-11-27")!, coverage: LedgerCoverage())
        }
    }
}
