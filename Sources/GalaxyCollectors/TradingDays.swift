import GalaxyCore
import GalaxyKRX

/// A source that can name the trading days of a range cheaply — the portal's KOSPI index screen (`MDCSTAT00301`)
/// lists every session of up to two years in one request — so a backfill does not spend a rate-limited request on
/// each weekend and holiday only to learn from "-" rows that the market was closed.
///
/// `KRXPortalClient` conforms. A source that does not is fetched day by day, and the "-"-rows shape says
/// `no_session`, which is correct, only slower (≈365 instead of ≈250 requests per year).
public protocol TradingDaysSource {
    /// The trading days in `range`, oldest first; days after the last published session are absent.
    func tradingDays(in range: DateRange) throws -> [TradeDate]
}

extension KRXPortalClient: TradingDaysSource {}

/// What the portal's calendar said about the days of a range run.
struct PortalSessions: Equatable {
    /// The days the index lists a session for.
    var sessions: Set<TradeDate> = []
    /// The days before the last listed session that it does not list: closed.
    var closed: Set<TradeDate> = []
}

/// Finds the closed days among the days a range run is about to fetch, one calendar request per year.
struct ClosedDayFinder {
    let calendar: any TradingDaysSource

    /// The days of `days` on which the calendar says the market did not trade. Days after the last session the
    /// calendar lists are never among them: that the index has no row for today (not published yet) or for a future
    /// date says nothing about whether the market trades, and such a day is fetched instead of settled as closed.
    func closedDays(among days: [TradeDate]) throws -> Set<TradeDate> { try sessions(among: days).closed }

    /// The sessions and the closed days among `days` (see `closedDays(among:)`).
    ///
    /// - Throws: `ClosedDayFinder.Implausible` when a year's answer lists no session although it spans a full week of
    ///   weekdays and later sessions exist (an empty answer must not turn a year of trading days into `no_session`);
    ///   the caller then fetches every day. The calendar's own errors pass through.
    func sessions(among days: [TradeDate]) throws -> PortalSessions {
        guard let first = days.first, let last = days.last, let span = DateRange(first, last) else {
            return PortalSessions()
        }
        var trading = Set<TradeDate>()
        var emptyChunks: [DateRange] = []
        let chunks = span.yearlyChunks()
        for (index, chunk) in chunks.enumerated() where days.contains(where: { chunk.contains($0) }) {
            // The last request looks two weeks past the range: a session after it proves the closing days at the
            // end of the range (12-29…12-31) closed instead of leaving them "after the last session".
            let asked = index == chunks.count - 1 ? DateRange(chunk.start, chunk.end.adding(days: 14))! : chunk
            let sessions = try calendar.tradingDays(in: asked)
            if sessions.isEmpty && chunk.filter({ !$0.isWeekend }).count >= 5 { emptyChunks.append(chunk) }
            trading.formUnion(sessions)
        }
        guard let lastSession = trading.max() else { return PortalSessions() }
        if let empty = emptyChunks.first(where: { $0.end < lastSession }) { throw Implausible(range: empty) }
        var result = PortalSessions()
        for day in days where day < lastSession || trading.contains(day) {
            if trading.contains(day) { result.sessions.insert(day) } else { result.closed.insert(day) }
        }
        return result
    }

    struct Implausible: Error, CustomStringConvertible {
        let range: DateRange
        var description: String { "the trading-day calendar lists no session in \(range)" }
    }
}
