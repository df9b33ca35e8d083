/// One of the six KRX data sets galaxy keeps. The raw value is the name used in the ledger, in the control API,
/// and on `galaxy-collector`'s command line.
public enum Dataset: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case stock
    case sector
    case price
    case valuation
    case etf
    case etfPrice = "etf_price"

    /// The daily run's order: masters before the per-day sets that reference them.
    public static let dailyOrder: [Dataset] = [.stock, .sector, .price, .valuation, .etf, .etfPrice]

    /// What `backfill` fills when the caller names no datasets (the original design's choice).
    public static let backfillDefault: [Dataset] = [.price, .etfPrice]

    /// The master this dataset needs to have been collected first, if any.
    public var prerequisite: Dataset? {
        switch self {
        case .stock, .etf: nil
        case .sector, .price, .valuation: .stock
        case .etfPrice: .etf
        }
    }

    /// Whether this dataset is a current snapshot (the stock and ETF masters) rather than a per-day history. A
    /// master's ledger rows say nothing about whether the market traded that day.
    public var isMaster: Bool { self == .stock || self == .etf }

    public var description: String { rawValue }
}

/// What a `galaxy-collector` process can be asked to run: a dataset, or the portfolio snapshot.
public enum CollectorJob: Hashable, Sendable, CustomStringConvertible {
    case dataset(Dataset)
    case snapshot

    public init?(rawValue: String) {
        if rawValue == "snapshot" {
            self = .snapshot
        } else if let dataset = Dataset(rawValue: rawValue) {
            self = .dataset(dataset)
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .dataset(let dataset): dataset.rawValue
        case .snapshot: "snapshot"
        }
    }

    public static let allNames: [String] = Dataset.allCases.map(\.rawValue) + ["snapshot"]

    public var description: String { rawValue }
}

/// A day's outcome in the `collection_days` ledger.
public enum DayStatus: String, Sendable, Codable, CaseIterable {
    /// Rows stored (possibly zero rows for a master that really is empty — never for a price day).
    case collected
    /// The market did not trade: no row of the answer carries a price (the portal's "-" rows, the Open API's empty
    /// list or `""` rows) and the calendar does not list a session. `last_error` may hold a note.
    case noSession = "no_session"
    /// Fetching or parsing failed, or the source and the calendar disagree; `last_error` says why. Backfill and the
    /// daily run retry these.
    case failed
    /// An answer without prices that may be premature: a weekday the calendar does not list as closed, within a few
    /// days of the source's publication (the Open API publishes a day the next morning and answers nothing before).
    /// Not settled: the next daily run's healing and backfills fetch it again; `last_error` says until when.
    case pending
}
