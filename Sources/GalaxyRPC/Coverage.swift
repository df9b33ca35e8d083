import GalaxyCore

// `coverage`: what the ledger holds, per dataset and year, as one letter per calendar day (the calendar
// `galaxyctl coverage` draws). The shape is `#/components/schemas/Coverage` in protocol/galaxyd.openrpc.json.

/// `coverage {datasets?, fromYear?, toYear?}`.
public struct CoverageParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = ["datasets", "fromYear", "toYear"]
    /// Dataset names; nil means those a backfill fills by default (`price`, `etf_price`).
    public var datasets: [Dataset]?
    /// nil: the earliest year the ledger holds for these datasets.
    public var fromYear: Int?
    /// nil: the current year.
    public var toYear: Int?

    public init(datasets: [Dataset]? = nil, fromYear: Int? = nil, toYear: Int? = nil) {
        self.datasets = datasets
        self.fromYear = fromYear
        self.toYear = toYear
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        datasets = try container.decodeDatasets(forKey: .datasets)
        fromYear = try container.decodeIfPresent(Int.self, forKey: .fromYear)
        toYear = try container.decodeIfPresent(Int.self, forKey: .toYear)
    }

    /// Years within 1990…`currentYear` (as `backfill`'s `startYear`), `fromYear` ≤ `toYear`, at least one dataset.
    public func validate(currentYear: Int) throws(JSONRPCError) {
        for (name, year) in [("fromYear", fromYear), ("toYear", toYear)] {
            if let year, !(1990...currentYear).contains(year) {
                throw .invalidParams("params.\(name): expected a year between 1990 and \(currentYear), got \(year)")
            }
        }
        if let fromYear, let toYear, fromYear > toYear {
            throw .invalidParams("params.fromYear: \(fromYear) is after params.toYear (\(toYear))")
        }
        try datasets.requireNonEmpty()
    }

    /// The datasets asked for, each once, in the order given.
    public var selectedDatasets: [Dataset] { datasets.uniqued(or: Dataset.backfillDefault) }
}

/// What one calendar day is in the coverage calendar; the raw value is its letter in ``YearCoverage/days``.
public enum CoverageDay: Character, Sendable, CaseIterable {
    /// A `collected` ledger row.
    case collected = "C"
    /// A `no_session` row, or a weekend day without one (see ``init(ledgerLetter:date:)``).
    case noSession = "N"
    /// A `failed` row: fetched again by healing and `backfill --only-failed`.
    case failed = "F"
    /// A `pending` row: an answer that may be premature, fetched again.
    case pending = "P"
    /// A weekday without a ledger row: nothing has asked the source for it.
    case missing = "M"

    /// The day from the ledger's letter (`C`, `N`, `F`, `P`, or `-` for no row). A day without a row is missing
    /// unless it is a Sunday, or a Saturday after KRX's last Saturday session (1998-12-05): those never traded, and
    /// a ledger that has no row for them lacks nothing.
    public init(ledgerLetter: Character, date: TradeDate) {
        if let day = CoverageDay(rawValue: ledgerLetter), day != .missing {
            self = day
        } else if date.weekday == 7 || (date.weekday == 6 && date > Self.lastSaturdaySession) {
            self = .noSession
        } else {
            self = .missing
        }
    }

    static let lastSaturdaySession = TradeDate(year: 1998, month: 12, day: 5)!
}

/// Day counts by what the days were.
public struct CoverageTotals: Codable, Sendable, Equatable {
    public var collected = 0
    public var noSession = 0
    public var failed = 0
    public var pending = 0
    public var missing = 0

    public init(collected: Int = 0, noSession: Int = 0, failed: Int = 0, pending: Int = 0, missing: Int = 0) {
        self.collected = collected
        self.noSession = noSession
        self.failed = failed
        self.pending = pending
        self.missing = missing
    }

    public mutating func count(_ day: CoverageDay, times: Int = 1) {
        switch day {
        case .collected: collected += times
        case .noSession: noSession += times
        case .failed: failed += times
        case .pending: pending += times
        case .missing: missing += times
        }
    }

    public static func + (lhs: CoverageTotals, rhs: CoverageTotals) -> CoverageTotals {
        CoverageTotals(
            collected: lhs.collected + rhs.collected, noSession: lhs.noSession + rhs.noSession,
            failed: lhs.failed + rhs.failed, pending: lhs.pending + rhs.pending, missing: lhs.missing + rhs.missing)
    }
}

/// One year of one dataset.
public struct YearCoverage: Codable, Sendable, Equatable {
    public var year: Int
    /// One ``CoverageDay`` letter per day from January 1st through December 31st, or through the report's
    /// `through` day in its last year.
    public var days: String
    public var totals: CoverageTotals

    public init(year: Int, days: String, totals: CoverageTotals) {
        self.year = year
        self.days = days
        self.totals = totals
    }
}

public struct DatasetCoverage: Codable, Sendable, Equatable {
    public var dataset: String
    public var totals: CoverageTotals
    public var years: [YearCoverage]

    public init(dataset: String, totals: CoverageTotals, years: [YearCoverage]) {
        self.dataset = dataset
        self.totals = totals
        self.years = years
    }
}

/// The result of `coverage`.
public struct CoverageReport: Codable, Sendable, Equatable {
    public var fromYear: Int
    public var toYear: Int
    /// The last day shown: today (in the exchange's zone) in the current year, else December 31st of `toYear`.
    public var through: String
    public var datasets: [DatasetCoverage]

    public init(fromYear: Int, toYear: Int, through: String, datasets: [DatasetCoverage]) {
        self.fromYear = fromYear
        self.toYear = toYear
        self.through = through
        self.datasets = datasets
    }

    /// The report from the ledger's letters per dataset and year (`Ledger.dayLetters`: `-` for no row, each year's
    /// text starting on January 1st), in the order of `datasets`.
    public init(
        ledger: [(dataset: Dataset, year: Int, letters: String)], datasets: [Dataset], toYear: Int,
        through: TradeDate
    ) {
        var years: [Dataset: [YearCoverage]] = [:]
        for row in ledger {
            var date = TradeDate(year: row.year, month: 1, day: 1)!
            var days = ""
            var totals = CoverageTotals()
            days.reserveCapacity(row.letters.utf8.count)
            for letter in row.letters {
                let day = CoverageDay(ledgerLetter: letter, date: date)
                days.append(day.rawValue)
                totals.count(day)
                date = date.next
            }
            years[row.dataset, default: []].append(YearCoverage(year: row.year, days: days, totals: totals))
        }
        self.init(
            fromYear: ledger.map(\.year).min() ?? toYear, toYear: toYear, through: through.iso,
            datasets: datasets.map { dataset in
                let rows = years[dataset] ?? []
                return DatasetCoverage(
                    dataset: dataset.rawValue, totals: rows.map(\.totals).reduce(CoverageTotals(), +), years: rows)
            })
    }
}
