import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyKRX
import GalaxyPostgres
import KRXSimulator
import Synchronization
import Testing

/// The portal client wrapped with a trading-day calendar from the simulator's KOSPI index screen (`MDCSTAT00301`),
/// as GalaxyKRX would offer it: what the collector does when a source conforms to `TradingDaysSource`.
final class CalendarPortalSource: KRXSource, TradingDaysSource, @unchecked Sendable {
    let inner: any KRXSource
    let baseURL: String
    let http: CurlHTTPClient
    private let calendarRequests = Atomic<Int>(0)

    init(inner: any KRXSource, baseURL: String) throws {
        self.inner = inner
        self.baseURL = baseURL
        self.http = try CurlHTTPClient()
    }

    var kind: SourceKind { inner.kind }
    var datasets: Set<Dataset> { inner.datasets }
    var requestsSent: Int { inner.requestsSent + calendarRequests.load(ordering: .relaxed) }
    func fetch(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch { try inner.fetch(dataset, on: date) }
    func breakerState() throws -> BreakerState? { try inner.breakerState() }

    func tradingDays(in range: DateRange) throws -> [TradeDate] {
        calendarRequests.add(1, ordering: .relaxed)
        let form = "bld=dbms/MDC/STAT/standard/MDCSTAT00301&indIdx=1&indIdx2=001&strtDd=\(range.start.compact)"
            + "&endDd=\(range.end.compact)&locale=ko_KR&share=1&money=1&csvxls_isNo=false"
        let response = try http.perform(HTTPRequest(
            method: .post, url: baseURL + "/comm/bldAttendant/getJsonData.cmd",
            headers: [("Referer", baseURL + "/contents/MDC/MDI/outerLoader/index.cmd")], body: form))
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let rows = object?["output"] as? [[String: Any]] ?? []
        return rows.compactMap { ($0["TRD_DD"] as? String).flatMap { TradeDate($0) } }.sorted()
    }
}

@Suite("Trading-day calendar")
struct TradingDaysTests {
    @Test("a range run learns closed days with one calendar request per year and fetches only trading days")
    func calendarSkipsClosedDays() async throws {
        try await withFixture { fixture in
            let configuration = try fixture.configuration()
            let baseURL = fixture.simulator.baseURL
            let plain = fastSource(today: simToday)
            let range = DateRange(TradeDate("2023-12-20")!, TradeDate("2024-01-10")!)!  // crosses a year
            let request = CollectorRequest(job: .dataset(.price), days: .range(range, mode: .unsettled))
            let outcome = await onThread {
                CollectorRun(
                    request: request, configuration: configuration, logger: testLogger,
                    makeSource: { dataset, configuration, store, logger in
                        try CalendarPortalSource(inner: plain(dataset, configuration, store, logger), baseURL: baseURL)
                    }
                ).run()
            }
            #expect(outcome.exitCode == .success, "\(outcome)")
            let market = fixture.simulator.market
            let trading = range.filter { market.isTradingDay($0.sim) }
            let stats = fixture.simulator.stats()
            #expect(stats.count("portal/MDCSTAT00301") == 2, "one per calendar year of the range")
            #expect(stats.count("portal/MDCSTAT01501") == trading.count, "no request for a closed day")
            #expect(outcome.progress.daysDone == range.dayCount)
            #expect(outcome.progress.requests == trading.count + 2)

            let connection = try fixture.connect()
            defer { connection.close() }
            let counts = try Ledger(connection).statusCounts(.price, in: range)
            #expect(counts[.collected] == trading.count)
            #expect(counts[.noSession] == range.dayCount - trading.count)
            #expect(try Ledger(connection).day(.price, on: TradeDate("2023-12-29")!)?.status == .noSession,
                    "연말휴장일: a weekday closure")
        }
    }
}
