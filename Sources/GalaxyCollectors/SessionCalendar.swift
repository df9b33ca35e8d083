import GalaxyCore
import GalaxyKRX
import GalaxyPostgres

/// What the exchange calendar says about one day, and on what evidence.
enum CalendarVerdict: Equatable {
    case trading(because: String)
    case closed(because: String)
    /// No evidence, or evidence that contradicts itself.
    case unknown
}

/// The exchange calendar as far as galaxy knows it when a collector starts: the KOSPI index sessions a portal range
/// run asked for (`MDCSTAT00301`), and galaxy's own calendar data — the ledger of the other per-day datasets (a day
/// another dataset stored prices for traded; a day another dataset found closed did not).
///
/// The masters are no evidence: they are snapshots, stored whether or not the market traded.
struct SessionCalendar {
    var portal: PortalSessions?
    var ledger: [TradeDate: SessionEvidence]

    /// The per-day datasets whose ledger rows say something about `dataset`'s days.
    static func witnesses(for dataset: Dataset) -> [Dataset] {
        Dataset.allCases.filter { !$0.isMaster && $0 != dataset }
    }

    func verdict(on date: TradeDate) -> CalendarVerdict {
        if let portal {
            let index = "the KOSPI index (MDCSTAT00301)"
            if portal.sessions.contains(date) { return .trading(because: "\(index) lists a session") }
            if portal.closed.contains(date) { return .closed(because: "\(index) lists no session") }
        }
        guard let evidence = ledger[date] else { return .unknown }
        let names = { (datasets: [Dataset]) in datasets.map(\.rawValue).joined(separator: ", ") }
        switch (evidence.collected.isEmpty, evidence.noSession.isEmpty) {
        case (false, true): return .trading(because: "the ledger has \(names(evidence.collected)) collected that day")
        case (true, false): return .closed(because: "the ledger has \(names(evidence.noSession)) no_session that day")
        default: return .unknown
        }
    }
}

/// What a fetched day becomes in the ledger: the source's content weighed against the calendar.
///
/// A trading day is decided by both, never by "the list is non-empty": the clients already turn an answer without a
/// price in any row into `.noSession`. Then:
/// - rows with prices on a day the calendar says was closed are not stored: `failed`, with both sides as the reason;
/// - no prices on a day the calendar says was closed: `no_session`;
/// - no prices on a weekday the calendar does not list as closed, while the answer is provisional (the Open API
///   soon after its publication morning): `pending`, fetched again by the next run's healing;
/// - no prices, final, on a day the calendar lists as a session: `failed` with both sides;
/// - otherwise no prices is `no_session`.
enum DayVerdict {
    case collected(DayRows)
    case noSession(note: String?)
    case pending(reason: String)
    case failed(reason: String)

    static func judge(
        _ fetched: DayFetch, on date: TradeDate, calendar: CalendarVerdict, publication: DayPublication
    ) -> DayVerdict {
        switch fetched {
        case .rows(let rows):
            if case .closed(let because) = calendar {
                return .failed(
                    reason: "calendar and source disagree: the source answered \(rows.count) rows with prices, but "
                        + "\(because); not stored")
            }
            return .collected(rows)
        case .noSession:
            if case .closed = calendar { return .noSession(note: nil) }
            if case .provisional(let until) = publication, !date.isWeekend {
                var reason = "no rows with prices yet for a weekday the calendar does not list as closed"
                if case .trading(let because) = calendar { reason += " (\(because))" }
                return .pending(reason: reason + "; fetched again until \(until.iso)")
            }
            if case .trading(let because) = calendar {
                return .failed(reason: "calendar and source disagree: the source answered no session, but \(because)")
            }
            return .noSession(note: nil)
        }
    }
}
