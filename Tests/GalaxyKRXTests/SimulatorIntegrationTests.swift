import Foundation
import GalaxyCore
import KRXSimulator
import Testing

@testable import GalaxyKRX

/// The simulator's "today" (a Friday, 18:30 KST), a trading day before it, and a weekday holiday (삼일절).
private let simToday = SimDate(year: 2024, month: 3, day: 15)!
private let tradingDay = TradeDate(year: 2024, month: 3, day: 14)!
private let holiday = TradeDate(year: 2024, month: 3, day: 1)!
private let account = SimulatorAccount(id: "galaxy", password: "p@ss w0rd&=")
private let authKey = "sim-auth-key"

private func simDate(_ date: TradeDate) -> SimDate { SimDate(year: date.year, month: date.month, day: date.day)! }

private func startSimulator(
    requireLogin: Bool = true, accounts: [SimulatorAccount] = [account], dailyQuota: Int = 10_000
) async throws -> KRXSimulator {
    try await KRXSimulator.start(
        SimulatorConfiguration(
            seed: 11, requireLogin: requireLogin, accounts: accounts, authKeys: [OpenAPIKey(authKey)],
            dailyQuota: dailyQuota, clock: .fixed(simToday), stockCount: 400, etfCount: 120, threads: 1))
}

private func configuration(
    _ sim: KRXSimulator, id: String = account.id, password: String = account.password, maxAttempts: Int = 3
) -> KRXClientConfiguration {
    KRXClientConfiguration(
        portalURL: sim.baseURL, openAPIURL: sim.baseURL,
        credentials: KRXCredentials(memberID: id, memberPassword: Secret(password), authKey: Secret(authKey)),
        http: HTTPClientConfiguration(connectTimeout: 2, totalTimeout: 5),
        retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: 0.01, maxDelay: 0.05, maxRetryAfter: 5),
        today: { TradeDate(year: 2024, month: 3, day: 15)! })
}

private func portal(
    _ sim: KRXSimulator, id: String = account.id, password: String = account.password, rate: Double = 0,
    store: any CircuitBreakerStore = InMemoryBreakerStore(), maxAttempts: Int = 3
) throws -> KRXPortalClient {
    try KRXPortalClient(
        configuration: configuration(sim, id: id, password: password, maxAttempts: maxAttempts),
        limiter: RateLimiter(rate: rate), breakerStore: store, logger: RecordingLogHandler.logger().0)
}

private func openAPI(_ sim: KRXSimulator) throws -> KRXOpenAPIClient {
    try KRXOpenAPIClient(
        configuration: configuration(sim), limiter: RateLimiter(rate: 0), breakerStore: InMemoryBreakerStore(),
        logger: RecordingLogHandler.logger().0)
}

/// Runs blocking client code on a thread of its own, never on the cooperative pool.
private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

private func shutdown(_ sim: KRXSimulator) async { try? await sim.shutdown() }

@Suite("GalaxyKRX against krx-sim")
struct SimulatorIntegrationTests {
    @Test("every dataset on a trading day matches the simulator's market; a holiday is no_session")
    func everyDataset() async throws {
        let sim = try await startSimulator()
        let client = try portal(sim)
        let market = sim.market
        let day = simDate(tradingDay)
        #expect(market.isTradingDay(day) && !market.isTradingDay(simDate(holiday)))

        let fetched = try await blocking {
            try Dataset.allCases.map { ($0, try client.fetch($0, on: tradingDay)) }
        }
        for (dataset, fetch) in fetched {
            guard case .rows(let rows) = fetch else {
                Issue.record("\(dataset) on \(tradingDay) should have rows")
                continue
            }
            let expected: Int
            switch dataset {
            case .price, .valuation: expected = market.stocks(on: day).count
            case .sector: expected = market.stocks(on: day).filter { $0.market != .konex }.count
            case .etfPrice: expected = market.etfs(on: day).count
            case .stock: expected = market.stocks(on: simToday).filter { $0.listed <= day }.count
            case .etf: expected = market.etfs(on: simToday).filter { $0.listed <= day }.count
            }
            #expect(rows.count == expected, "\(dataset)")
        }
        // Row contents: one stock's OHLCV exactly as the simulator computed it.
        guard case .rows(.prices(let prices)) = fetched.first(where: { $0.0 == .price })?.1 else {
            Issue.record("prices expected")
            await shutdown(sim)
            return
        }
        for row in prices.prefix(50) {
            let stock = try #require(market.stock(row.ticker))
            let session = try #require(market.day(of: stock, on: day))
            #expect(row.isin == stock.isin && row.market == stock.market.rawValue)
            #expect(row.open == session.open && row.high == session.high && row.low == session.low)
            #expect(row.close == session.close && row.volume == session.volume && row.value == session.value)
            #expect(row.marketCap == session.marketCap && row.shares == session.listedShares)
            #expect(row.change == session.change && row.changeCode == session.fluctuation.rawValue)
        }

        let closed = try await blocking {
            try [Dataset.price, .valuation, .sector, .etfPrice].map { ($0, try client.fetch($0, on: holiday)) }
        }
        for (dataset, fetch) in closed {
            guard case .noSession = fetch else {
                Issue.record("\(dataset) on the 2024-03-01 holiday should be no_session")
                continue
            }
        }
        let stats = sim.stats()
        #expect(stats.count("login/MDCCOMS001D1") == 1)
        #expect(stats.count("portal/MDCSTAT03901") == 4)  // STK + KSQ, two days
        #expect(stats.count("portal/MDCSTAT01501") == 2)
        await shutdown(sim)
    }

    @Test("trading days of a range come from one index-history request per two years and match the calendar")
    func tradingDays() async throws {
        let sim = try await startSimulator()
        let client = try portal(sim)
        let range = try #require(DateRange(TradeDate(year: 2021, month: 6, day: 1)!, TradeDate(year: 2024, month: 3, day: 31)!))
        let days = try await blocking { try client.tradingDays(in: range) }
        let expected = range.filter { $0 <= TradeDate(year: 2024, month: 3, day: 15)! && sim.market.isTradingDay(simDate($0)) }
        #expect(days == Array(expected))
        #expect(!days.contains(holiday) && days.contains(tradingDay))
        let requests = sim.stats().count("portal/MDCSTAT00301")
        #expect(requests == 2)  // 1,400 days in windows of 730
        await shutdown(sim)
    }

    @Test("LOGOUT → one re-login → success; expired sessions are renewed the same way")
    func logoutRelogin() async throws {
        let sim = try await startSimulator()
        let client = try portal(sim)
        _ = try await blocking { try client.fetch(.etfPrice, on: tradingDay) }
        sim.faults.inject(.logout, route: "portal/MDCSTAT01501", next: 1)
        let first = try await blocking { try client.fetch(.price, on: tradingDay) }
        #expect(first.status == .collected)
        sim.expireSessions()
        let second = try await blocking { try client.fetch(.price, on: tradingDay) }
        #expect(second.status == .collected)
        let stats = sim.stats()
        // 1 first login; 2 after the injected LOGOUT (the account's session is still alive on the server, so the
        // fresh login meets CD011 and takes over with skipDup=Y); 1 after the sessions expired.
        #expect(stats.count("login/MDCCOMS001D1") == 4)
        #expect(stats.count("portal/MDCSTAT01501") == 4)
        await shutdown(sim)
    }

    @Test("CD010 is a clear error: one login attempt, no data request")
    func passwordChange() async throws {
        let sim = try await startSimulator(
            accounts: [SimulatorAccount(id: "galaxy", password: "old", passwordChangeRequired: true)])
        let client = try portal(sim, password: "old")
        await #expect(throws: KRXError.passwordChangeRequired) {
            try await blocking { try client.fetch(.price, on: tradingDay) }
        }
        #expect(sim.stats().count("login/MDCCOMS001D1") == 1)
        #expect(sim.stats().count("portal") == 0)
        await shutdown(sim)
    }

    @Test("two processes on one account: CD011 → skipDup=Y, and the displaced one logs in again")
    func singleSession() async throws {
        let sim = try await startSimulator()
        let a = try portal(sim)
        let b = try portal(sim)
        _ = try await blocking { try a.fetch(.price, on: tradingDay) }
        _ = try await blocking { try b.fetch(.price, on: tradingDay) }  // CD011, then skipDup=Y ends a's session
        #expect(sim.stats().count("login/MDCCOMS001D1") == 3)
        let again = try await blocking { try a.fetch(.valuation, on: tradingDay) }  // LOGOUT → CD011 → skipDup
        #expect(again.status == .collected)
        #expect(sim.stats().count("login/MDCCOMS001D1") == 5)
        #expect(sim.liveSessionCount == 1)
        await shutdown(sim)
    }

    @Test("block page (403 and 200): breaker open, and the simulator sees no further request", arguments: [403, 200])
    func blockPage(status: Int) async throws {
        let sim = try await startSimulator()
        let store = InMemoryBreakerStore()
        let client = try portal(sim, store: store)
        _ = try await blocking { try client.fetch(.price, on: tradingDay) }
        sim.faults.inject(.blockPage(status: status), route: "portal/MDCSTAT03501", next: 1)
        await #expect(throws: KRXError.self) { try await blocking { try client.fetch(.valuation, on: tradingDay) } }
        let seen = sim.stats().count()
        let state = try #require(try store.load(source: "portal"))
        #expect(state.isOpen(at: Date().addingTimeInterval(23 * 3600)))
        #expect(state.reason.contains("에러페이지") && state.reason.contains("\(status)"))
        // Neither this client nor another process's client (same store) sends anything now.
        let other = try portal(sim, store: store)
        for candidate in [client, other] {
            for dataset in [Dataset.price, .etf] {
                do {
                    _ = try await blocking { try candidate.fetch(dataset, on: tradingDay) }
                    Issue.record("the breaker must stop \(dataset)")
                } catch let error as KRXError {
                    guard case .blocked = error else {
                        Issue.record("expected blocked, got \(error)")
                        continue
                    }
                    #expect(error.exitCode == .sourceBlocked)
                }
            }
        }
        #expect(sim.stats().count() == seen)
        await shutdown(sim)
    }

    @Test("the outage page (Service unavailable, 403) opens the breaker too")
    func serviceUnavailable() async throws {
        let sim = try await startSimulator(requireLogin: false)
        let store = InMemoryBreakerStore()
        let client = try portal(sim, store: store)
        sim.faults.inject(.serviceUnavailable, route: "portal/MDCSTAT04301", next: 1)
        await #expect(throws: KRXError.self) { try await blocking { try client.fetch(.etfPrice, on: tradingDay) } }
        #expect(try store.load(source: "portal") != nil)
        #expect(sim.stats().count("portal/MDCSTAT04301") == 1)
        await shutdown(sim)
    }

    @Test("5xx twice, then success: retried; a truncated body is retried too")
    func retries() async throws {
        let sim = try await startSimulator()
        let client = try portal(sim)
        sim.faults.inject(.serverError(status: 503), route: "portal/MDCSTAT01501", next: 2)
        #expect(try await blocking { try client.fetch(.price, on: tradingDay) }.status == .collected)
        #expect(sim.stats().count("portal/MDCSTAT01501") == 3)
        sim.faults.inject(.truncatedBody, route: "portal/MDCSTAT04301", next: 1)
        #expect(try await blocking { try client.fetch(.etfPrice, on: tradingDay) }.status == .collected)
        #expect(sim.stats().count("portal/MDCSTAT04301") == 2)
        await shutdown(sim)
    }

    @Test("malformed JSON on every attempt: an error with the reason, after the bounded retries")
    func malformed() async throws {
        let sim = try await startSimulator()
        let client = try portal(sim, maxAttempts: 3)
        sim.faults.add(FaultRule(route: "portal/MDCSTAT03501", fault: .malformedJSON))
        do {
            _ = try await blocking { try client.fetch(.valuation, on: tradingDay) }
            Issue.record("malformed JSON must fail the day")
        } catch let error as KRXError {
            guard case .unexpectedResponse(let reason) = error else {
                Issue.record("expected unexpectedResponse, got \(error)")
                await shutdown(sim)
                return
            }
            #expect(reason.contains("MDCSTAT03501"))
        }
        #expect(sim.stats().count("portal/MDCSTAT03501") == 3)
        await shutdown(sim)
    }

    @Test("the rate limit holds at the simulator (arrival times)")
    func rate() async throws {
        let sim = try await startSimulator(requireLogin: false)
        let client = try portal(sim, rate: 4)
        _ = try await blocking {
            for _ in 0..<4 { _ = try client.fetch(.etfPrice, on: tradingDay) }
        }
        let times = sim.stats().timestamps("portal")
        #expect(times.count == 4)
        // Arrival times carry the scheduling noise between the limiter and the socket (the suite shares 2 cores);
        // the limiter's own spacing is exact and tested on its own. Without a limit these would be milliseconds apart.
        for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= 0.25 - 0.1) }
        #expect(times.last! - times.first! >= 3 * 0.25 - 0.1)
        await shutdown(sim)
    }

    @Test("Open API prices and ETF prices equal the portal's for the same day")
    func openAPIEqualsPortal() async throws {
        let sim = try await startSimulator(requireLogin: false)
        let web = try portal(sim)
        let api = try openAPI(sim)
        let (portalPrices, apiPrices, portalETFs, apiETFs) = try await blocking {
            (try web.fetch(.price, on: tradingDay), try api.fetch(.price, on: tradingDay),
             try web.fetch(.etfPrice, on: tradingDay), try api.fetch(.etfPrice, on: tradingDay))
        }
        guard case .rows(.prices(var fromPortal)) = portalPrices, case .rows(.prices(let fromAPI)) = apiPrices,
            case .rows(.etfPrices(var etfsFromPortal)) = portalETFs, case .rows(.etfPrices(let etfsFromAPI)) = apiETFs
        else {
            Issue.record("rows expected from both sources")
            await shutdown(sim)
            return
        }
        // The Open API sends neither the ISIN nor the change code; everything else must agree.
        for index in fromPortal.indices {
            fromPortal[index].isin = nil
            fromPortal[index].changeCode = nil
        }
        for index in etfsFromPortal.indices {
            etfsFromPortal[index].isin = nil
            etfsFromPortal[index].changeCode = nil
        }
        #expect(fromPortal.count > 100)
        #expect(fromPortal.sorted { $0.ticker < $1.ticker } == fromAPI.sorted { $0.ticker < $1.ticker })
        #expect(etfsFromPortal.sorted { $0.ticker < $1.ticker } == etfsFromAPI.sorted { $0.ticker < $1.ticker })
        let stats = sim.stats()
        #expect(stats.count("openapi") == 4)
        await shutdown(sim)
    }

    @Test("Open API: holiday is no_session, today is refused (T-1), the stock master is point-in-time")
    func openAPIDays() async throws {
        let sim = try await startSimulator(requireLogin: false)
        let api = try openAPI(sim)
        let closed = try await blocking { try api.fetch(.price, on: holiday) }
        #expect(closed.status == .noSession)
        await #expect(throws: KRXError.notYetPublished(date: TradeDate(year: 2024, month: 3, day: 15)!,
                                                       firstDate: TradeDate(year: 2024, month: 3, day: 16)!)) {
            try await blocking { try api.fetch(.price, on: TradeDate(year: 2024, month: 3, day: 15)!) }
        }
        guard case .rows(.stocks(let stocks)) = try await blocking({ try api.fetch(.stock, on: tradingDay) }) else {
            Issue.record("stock master expected")
            await shutdown(sim)
            return
        }
        #expect(stocks.count == sim.market.stocks(on: simDate(tradingDay)).count)
        #expect(sim.stats().count("openapi") == 6)
        await shutdown(sim)
    }

    @Test("Open API: the simulator's daily limit (429 until midnight) is quotaExhausted at once")
    func openAPIQuota() async throws {
        let sim = try await startSimulator(requireLogin: false, dailyQuota: 4)
        let api = try openAPI(sim)
        _ = try await blocking { try api.fetch(.price, on: tradingDay) }  // 3 calls
        await #expect(throws: KRXError.quotaExhausted(limit: 10_000)) {
            try await blocking { try api.fetch(.price, on: tradingDay) }
        }
        #expect(sim.stats().count("openapi") == 5)  // the 4th succeeded, the 5th was refused, no retry
        await shutdown(sim)
    }
}

@Suite("GalaxyKRX cost of a whole-market day")
struct WholeMarketCostTests {
    @Test("a full-size day (≈2,900 stocks, ≈1,000 ETFs) is fetched and parsed; the cost is printed")
    func wholeMarketDay() async throws {
        let sim = try await KRXSimulator.start(
            SimulatorConfiguration(seed: 1, accounts: [account], clock: .fixed(simToday), threads: 1))
        let client = try KRXPortalClient(
            configuration: configuration(sim), limiter: RateLimiter(rate: 0), breakerStore: InMemoryBreakerStore(),
            logger: RecordingLogHandler.logger().0)
        let (rows, seconds, etfRows, etfSeconds) = try await blocking {
            _ = try client.fetch(.price, on: tradingDay)  // warm up: connection, market cache
            var started = wallClock()
            let prices = try client.fetch(.price, on: tradingDay)
            let priceSeconds = wallClock() - started
            started = wallClock()
            let etfs = try client.fetch(.etfPrice, on: tradingDay)
            return (Self.count(prices), priceSeconds, Self.count(etfs), wallClock() - started)
        }
        // Parsing alone, on the body the simulator sent.
        let http = try CurlHTTPClient()
        let response = try await blocking {
            try http.perform(HTTPRequest(
                method: .post, url: sim.baseURL + "/comm/bldAttendant/getJsonData.cmd",
                body: "mktId=ALL&trdDd=\(tradingDay.compact)&share=1&money=1&bld=dbms/MDC/STAT/standard/MDCSTAT01501"))
        }
        let started = wallClock()
        let parsed = try KRXPortalParser.prices(response.body)
        let parseSeconds = wallClock() - started
        guard case .rows(let parsedRows) = parsed else {
            Issue.record("rows expected")
            await shutdown(sim)
            return
        }
        FileHandle.standardError.write(Data(
            ("GalaxyKRX cost: price day \(rows) rows in \(String(format: "%.3f", seconds)) s (parse alone "
                + "\(String(format: "%.3f", parseSeconds)) s for \(response.body.count) bytes); ETF day \(etfRows) "
                + "rows in \(String(format: "%.3f", etfSeconds)) s\n").utf8))
        #expect(rows > 2_000 && parsedRows.count == rows && etfRows > 500)
        // Only pathological slowness fails here (a quadratic parse): the whole suite shares 2 cores, so the numbers
        // printed above are the measurement, not this bound.
        #expect(seconds < 30 && etfSeconds < 30)
        await shutdown(sim)
    }

    private static func count(_ fetch: DayFetch) -> Int {
        if case .rows(let rows) = fetch { return rows.count }
        return 0
    }
}
