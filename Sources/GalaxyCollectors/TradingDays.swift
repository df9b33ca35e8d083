import GalaxyCore
import GalaxyKRX

/// A source that can name the trading days of a range cheaply — the portal's KOSPI index screen (`MDCSTAT00301`)
/// lists every session of up to two years in one request — so a backfill does not spend a rate-limited request on
/// each weekend and holiday only to learn from "-" rows that the market was closed.
///
/// GalaxyKRX's portal client does not offer this yet; a client that conforms (one extension) is used automatically.
/// Without it, the collector fetches every day and the "-"-rows shape says `no_session`, which is correct, only
/// slower (≈365 instead of ≈250 requests per year).
public protocol TradingDaysSource {
    /// The trading days in `range` (at most one calendar year), oldest first; one request.
    func tradingDays(in range: DateRange) throws -> [TradeDate]
}

/// Finds the closed days among the days a range run is about to fetch, one calendar request per year.
struct ClosedDayFinder {
    let calendar: any TradingDaysSource

    /// The days of `days` on which the calendar says the market did not trade.
    ///
    /// - Throws: `ClosedDayFinder.Implausible` when a year's answer lists no session although it spans a full week of
    ///   weekdays (an empty answer must not turn a year of trading days into `no_session`); the caller then fetches
    ///   every day. The calendar's own errors pass through.
    func closedDays(among days: [TradeDate]) throws -> Set<TradeDate> {
        guard let first = days.first, let last = days.last, let span = DateRange(first, last) else { return [] }
        var closed = Set<TradeDate>()
        for chunk in span.yearlyChunks() {
            let wanted = days.filter { chunk.contains($0) }
            guard !wanted.isEmpty else { continue }
            let trading = Set(try calendar.tradingDays(in: chunk))
            if trading.isEmpty && chunk.filter({ !$0.isWeekend }).count >= 5 {
                throw Implausible(range: chunk)
            }
            closed.formUnion(wanted.filter { !trading.contains($0) })
        }
        return closed
    }

    struct Implausible: Error, CustomStringConvertible {
        let range: DateRange
        var description: String { "the trading-day calendar lists no session in \(range)" }
    }
}
