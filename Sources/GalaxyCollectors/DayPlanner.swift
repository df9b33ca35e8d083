import GalaxyCore
import GalaxyPostgres

/// Turns a `DaySelection` into the list of days to fetch, by asking the ledger which days are already settled.
///
/// Weekends and holidays are not skipped here: whether a date traded is the source's content and the calendar's to
/// say (`DayVerdict`), and the collector records a closed day `no_session` so it is never asked again. `pending` and
/// `failed` days are unsettled: healing and backfills plan them again.
public struct DayPlanner {
    public let ledger: Ledger

    public init(ledger: Ledger) { self.ledger = ledger }

    /// The days to fetch for `dataset`, oldest first.
    public func days(for dataset: Dataset, _ selection: DaySelection) throws(PostgresError) -> [TradeDate] {
        if dataset.isMaster { return try masterDay(dataset, selection) }
        switch selection {
        case .date(let date, let heal):
            guard heal > 0 else { return [date] }
            let before = DateRange(date.adding(days: -heal), date.previous) ?? DateRange(single: date.previous)
            return try ledger.unsettledDays(dataset, in: before) + [date]
        case .range(let range, .unsettled):
            return try ledger.unsettledDays(dataset, in: range)
        case .range(let range, .onlyFailed):
            return try ledger.failedDays(dataset, in: range)
        case .range(let range, .all):
            return Array(range)
        }
    }

    /// Masters (`stock`, `etf`) have no date on the wire: KRX serves today's list. One snapshot is stored, under the
    /// requested date (or the range's last day), subject to the same ledger rule as any other day.
    private func masterDay(_ dataset: Dataset, _ selection: DaySelection) throws(PostgresError) -> [TradeDate] {
        let day = selection.lastDay
        switch selection {
        case .date, .range(_, .all):
            return [day]
        case .range(_, .unsettled):
            return try ledger.unsettledDays(dataset, in: DateRange(single: day))
        case .range(_, .onlyFailed):
            return try ledger.failedDays(dataset, in: DateRange(single: day))
        }
    }
}
