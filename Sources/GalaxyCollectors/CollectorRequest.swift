import GalaxyCore

/// Which days a `galaxy-collector` run covers, in the terms the supervisor uses (DESIGN §4, the collector contract).
public enum DaySelection: Sendable, Equatable, CustomStringConvertible {
    /// `--date D [--heal N]`: D unconditionally (a refresh), plus every day among the `heal` calendar days before D
    /// whose ledger row is missing or `failed` (the daily run's self-healing after downtime).
    case date(TradeDate, heal: Int)
    /// `--from A --to B`: the days of the range the ledger has not settled, so a killed backfill resumes where it
    /// stopped instead of fetching again what is already `collected` or `no_session`.
    case range(DateRange, mode: RangeMode)

    /// How `--from/--to` picks days from the ledger.
    public enum RangeMode: String, Sendable, Equatable {
        /// Days with no ledger row or a `failed` one (the default).
        case unsettled
        /// `--only-failed`: days whose ledger row is `failed`.
        case onlyFailed
        /// `--force`: every day of the range.
        case all
    }

    /// The calendar days this selection could touch, oldest first.
    public var span: DateRange {
        switch self {
        case .date(let date, let heal):
            DateRange(date.adding(days: -max(0, heal)), date) ?? DateRange(single: date)
        case .range(let range, _):
            range
        }
    }

    /// The last day asked for: the day a master snapshot is stored under.
    public var lastDay: TradeDate {
        switch self {
        case .date(let date, _): date
        case .range(let range, _): range.end
        }
    }

    public var description: String {
        switch self {
        case .date(let date, let heal): heal > 0 ? "\(date.iso) (healing \(heal) days before)" : date.iso
        case .range(let range, let mode):
            switch mode {
            case .unsettled: range.description
            case .onlyFailed: "\(range) (failed days only)"
            case .all: "\(range) (forced)"
            }
        }
    }
}

/// One `galaxy-collector` invocation: what to collect and for which days.
public struct CollectorRequest: Sendable, Equatable, CustomStringConvertible {
    public var job: CollectorJob
    public var days: DaySelection

    public init(job: CollectorJob, days: DaySelection) {
        self.job = job
        self.days = days
    }

    public var description: String { "\(job.rawValue) \(days)" }
}
