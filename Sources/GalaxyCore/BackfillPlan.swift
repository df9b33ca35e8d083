/// What the ledger knows about one dataset, as much as backfill planning needs.
public struct LedgerCoverage: Sendable, Equatable {
    /// Days whose status is `collected` or `no_session`: done, never fetched again by a backfill.
    public var done: Set<TradeDate>
    /// Days whose last attempt failed. (`pending` days are in neither set: planned again like missing days.)
    public var failed: Set<TradeDate>
    /// Earliest and latest day with stored rows (`collected`), the anchors of the original design's backfill.
    public var earliestCollected: TradeDate?
    public var latestCollected: TradeDate?

    public init(done: Set<TradeDate> = [], failed: Set<TradeDate> = [], earliestCollected: TradeDate? = nil,
                latestCollected: TradeDate? = nil) {
        self.done = done
        self.failed = failed
        self.earliestCollected = earliestCollected
        self.latestCollected = latestCollected
    }
}

/// One unit of backfill work: one child process collecting one dataset over a range of at most a calendar year.
public struct BackfillChunk: Sendable, Hashable, CustomStringConvertible {
    public enum Purpose: String, Sendable, Codable {
        /// After the latest stored day, up to the backfill's end.
        case forward
        /// Before the earliest stored day, back to the start year.
        case backward
        /// A gap the ledger shows between stored days.
        case hole
        /// Days whose last attempt failed (`onlyFailed`).
        case retry
    }

    public var dataset: Dataset
    public var range: DateRange
    public var purpose: Purpose

    public init(dataset: Dataset, range: DateRange, purpose: Purpose) {
        self.dataset = dataset
        self.range = range
        self.purpose = purpose
    }

    public var description: String { "\(dataset) \(range) (\(purpose.rawValue))" }
}

/// Turns "backfill from startYear" into chunks, from the ledger alone (DESIGN §4).
///
/// The original design: nothing stored → `startYear-01-01 … end`; otherwise `startYear-01-01 … earliest-1`, then a
/// forward fill `latest+1 … end`. Beyond it: holes between stored days are filled, and ranges are cut at year
/// boundaries (one child per chunk). The forward gap comes first (the most valuable days), then holes, then the past
/// going backwards year by year. A chunk may span days that are already done: the collector skips those, which is
/// what makes a killed backfill resumable without re-fetching anything.
public enum BackfillPlanner {
    /// The earliest year KRX's portal serves (and the original API's bound).
    public static let earliestYear = 1990

    public struct InvalidStartYear: Error, CustomStringConvertible, Sendable {
        public let startYear: Int
        public let currentYear: Int
        public var description: String {
            "startYear \(startYear) is outside \(BackfillPlanner.earliestYear)…\(currentYear)"
        }
    }

    /// - Parameters:
    ///   - end: the last day to fill (the latest completed session's date, normally today in Asia/Seoul).
    ///   - onlyFailed: plan only the days whose last attempt failed.
    public static func plan(
        dataset: Dataset, startYear: Int, end: TradeDate, coverage: LedgerCoverage, onlyFailed: Bool = false
    ) throws -> [BackfillChunk] {
        guard (earliestYear...end.year).contains(startYear) else {
            throw InvalidStartYear(startYear: startYear, currentYear: end.year)
        }
        let start = TradeDate(year: startYear, month: 1, day: 1)!
        guard let whole = DateRange(start, end) else { return [] }

        if onlyFailed {
            let failed = coverage.failed.filter { whole.contains($0) }
            return spans(of: failed).flatMap { span in
                span.yearlyChunks().map { BackfillChunk(dataset: dataset, range: $0, purpose: .retry) }
            }
        }

        guard let earliest = coverage.earliestCollected, let latest = coverage.latestCollected else {
            return whole.yearlyChunks().map { BackfillChunk(dataset: dataset, range: $0, purpose: .forward) }
        }
        var chunks: [BackfillChunk] = []
        if latest < end, let forward = DateRange(max(latest.next, start), end) {
            chunks += forward.yearlyChunks().map { BackfillChunk(dataset: dataset, range: $0, purpose: .forward) }
        }
        if let middle = DateRange(max(earliest, start), min(latest, end)) {
            let missing = Set(middle.filter { !coverage.done.contains($0) })
            for span in spans(of: missing).reversed() {
                chunks += span.yearlyChunks().reversed().map {
                    BackfillChunk(dataset: dataset, range: $0, purpose: .hole)
                }
            }
        }
        if start < earliest, let backward = DateRange(start, min(earliest.previous, end)) {
            chunks += backward.yearlyChunks().reversed().map {
                BackfillChunk(dataset: dataset, range: $0, purpose: .backward)
            }
        }
        return chunks
    }

    /// Consecutive runs of days as ranges, oldest first.
    static func spans(of days: Set<TradeDate>) -> [DateRange] {
        var result: [DateRange] = []
        for day in days.sorted() {
            if let last = result.last, last.end.next == day {
                result[result.count - 1] = DateRange(last.start, day)!
            } else {
                result.append(DateRange(single: day))
            }
        }
        return result
    }
}
