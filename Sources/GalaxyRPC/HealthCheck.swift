import GalaxyCore

// `check` and `metrics`: what a monitoring system asks galaxyd. Shared by galaxyd (which answers) and galaxyctl
// (which prints); the shapes are `#/components/schemas/Check` and `Metrics` in protocol/galaxyd.openrpc.json.

/// `check {deadline?, datasets?}`: is the last trading day's data in, and is everything that collects it healthy?
public struct CheckParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = ["deadline", "datasets"]
    /// `HH:MM` in the exchange's time zone: a trading day's data is due by then (default 19:00, an hour after the
    /// daily run).
    public var deadline: String?
    /// nil: the six datasets of the daily run.
    public var datasets: [Dataset]?

    public static let defaultDeadline = "19:00"

    public init(deadline: String? = nil, datasets: [Dataset]? = nil) {
        self.deadline = deadline
        self.datasets = datasets
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        deadline = try container.decodeIfPresent(String.self, forKey: .deadline)
        datasets = try container.decodeDatasets(forKey: .datasets)
    }

    /// The deadline as hour and minute.
    public func deadlineTime() throws(JSONRPCError) -> ClockTime {
        let text = deadline ?? Self.defaultDeadline
        guard let time = ClockTime(text) else {
            throw .invalidParams("params.deadline: expected HH:MM (00:00 to 23:59), got \"\(text)\"")
        }
        return time
    }

    /// The datasets asked for, each once, in the daily run's order when none are named.
    public func selectedDatasets() throws(JSONRPCError) -> [Dataset] {
        try datasets.requireNonEmpty()
        return datasets.uniqued(or: Dataset.dailyOrder)
    }
}

/// A time of day, `HH:MM`.
public struct ClockTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init?(hour: Int, minute: Int) {
        guard (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// `H:MM` or `HH:MM`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) }), let hour = Int(parts[0]), let minute = Int(parts[1])
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.hour, lhs.minute) < (rhs.hour, rhs.minute) }

    public var description: String {
        (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }
}

/// The exchange calendar as freshness is judged: every weekday is a trading day unless the ledger knows it was
/// closed (a per-day dataset recorded `no_session` and none recorded `collected`). A holiday the ledger has not met
/// yet counts as a trading day until the daily run records it closed, which it does that evening.
public struct TradingCalendar: Sendable, Equatable {
    public var closed: Set<TradeDate>

    public init(closed: Set<TradeDate> = []) { self.closed = closed }

    public func isTradingDay(_ date: TradeDate) -> Bool { !date.isWeekend && !closed.contains(date) }

    /// The latest trading day on or before `date`.
    public func tradingDay(atOrBefore date: TradeDate) -> TradeDate {
        var day = date
        // A closed stretch longer than a month does not happen on KRX; the bound keeps a corrupt ledger harmless.
        for _ in 0..<40 where !isTradingDay(day) { day = day.previous }
        return day
    }

    /// Trading days after `start` through `end` (0 when `end` is not after `start`).
    public func tradingDays(after start: TradeDate, through end: TradeDate) -> Int {
        guard start < end else { return 0 }
        var count = 0
        var day = start.next
        while day <= end {
            if isTradingDay(day) { count += 1 }
            day = day.next
        }
        return count
    }
}

/// How one check of `check` came out, in the monitoring-plugin scale.
public enum CheckStatus: String, Codable, Sendable, Comparable, CaseIterable {
    case ok = "OK"
    case warning = "WARNING"
    case critical = "CRITICAL"
    case unknown = "UNKNOWN"

    /// The monitoring-plugin exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    /// Worse is greater; CRITICAL outranks UNKNOWN, since a failure that is known is what an operator must see.
    private var severity: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.severity < rhs.severity }
}

/// One of `check`'s verdicts: `database`, `leader`, `breaker`, `configuration` or `data`.
public struct CheckItem: Codable, Sendable, Equatable {
    public var name: String
    public var status: CheckStatus
    public var detail: String

    public init(name: String, status: CheckStatus, detail: String) {
        self.name = name
        self.status = status
        self.detail = detail
    }
}

/// How current one dataset is.
public struct DatasetFreshness: Codable, Sendable, Equatable {
    public var dataset: String
    /// `portal` or `openapi`: the Open API publishes a day the next morning, so its datasets are due a day later.
    public var source: String
    /// The newest `collected` day; null when the ledger has none.
    @NullEncoded public var lastCollected: String?
    /// The trading day that should be collected by now.
    public var expected: String
    /// Trading days after `lastCollected` through `expected`: 0 is current; null when nothing was ever collected.
    @NullEncoded public var ageTradingDays: Int?
    public var status: CheckStatus
    public var detail: String

    public init(
        dataset: String, source: String, lastCollected: String?, expected: String, ageTradingDays: Int?,
        status: CheckStatus, detail: String
    ) {
        self.dataset = dataset
        self.source = source
        self.lastCollected = lastCollected
        self.expected = expected
        self.ageTradingDays = ageTradingDays
        self.status = status
        self.detail = detail
    }
}

/// The result of `check`.
public struct CheckReport: Codable, Sendable, Equatable {
    /// The worst of `checks`.
    public var status: CheckStatus
    /// One line: what is wrong, or that all is well.
    public var summary: String
    public var checkedAt: String
    /// `HH:MM` in `timeZone`.
    public var deadline: String
    public var timeZone: String
    /// The last trading day whose deadline has passed: what the portal's datasets must hold.
    public var due: String
    public var checks: [CheckItem]
    public var datasets: [DatasetFreshness]

    public init(
        status: CheckStatus, summary: String, checkedAt: String, deadline: String, timeZone: String, due: String,
        checks: [CheckItem], datasets: [DatasetFreshness]
    ) {
        self.status = status
        self.summary = summary
        self.checkedAt = checkedAt
        self.deadline = deadline
        self.timeZone = timeZone
        self.due = due
        self.checks = checks
        self.datasets = datasets
    }
}

/// The result of `metrics`: galaxyd's metrics in the Prometheus text exposition format, as it also writes them to
/// `GALAXY_METRICS_FILE` for node_exporter's textfile collector.
public struct MetricsResult: Codable, Sendable, Equatable {
    public var contentType: String
    public var text: String

    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    public init(text: String, contentType: String = MetricsResult.prometheusContentType) {
        self.contentType = contentType
        self.text = text
    }
}
