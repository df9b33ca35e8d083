import Foundation
import GalaxyCore
import Testing

@testable import GalaxyKRX

private let tradingDay = TradeDate(year: 2021, month: 1, day: 22)!

private func portal(
    _ fake: FakeKRX, credentials: KRXCredentials? = nil, maxAttempts: Int = 3, totalTimeout: Double = 5,
    sessionLifetime: TimeInterval = 3600, rate: Double = 0, store: any CircuitBreakerStore = InMemoryBreakerStore()
) throws -> (KRXPortalClient, String) {
    let (logger, label) = RecordingLogHandler.logger()
    let client = try KRXPortalClient(
        configuration: testConfiguration(
            fake, credentials: credentials, maxAttempts: maxAttempts, totalTimeout: totalTimeout,
            sessionLifetime: sessionLifetime),
        limiter: RateLimiter(rate: rate), breakerStore: store, logger: logger)
    return (client, label)
}

private func prices(_ fetch: DayFetch) -> [PriceRow]? {
    if case .rows(.prices(let rows)) = fetch { return rows }
    return nil
}

@Suite("Data portal client over real HTTP")
struct PortalClientTests {
    @Test("logs in with the three steps, then sends the portal's form and headers with the session cookie")
    func loginAndRequestShape() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        let rows = try #require(prices(try client.fetch(.price, on: tradingDay)))
        #expect(rows.count == 3)

        let paths = fake.server.requests.map(\.path)
        #expect(paths == [
            "/contents/MDC/COMS/client/MDCCOMS001.cmd", "/contents/MDC/COMS/client/view/login.jsp",
            "/contents/MDC/COMS/client/MDCCOMS001D1.cmd", "/comm/bldAttendant/getJsonData.cmd",
        ])
        let login = try #require(fake.loginPosts.first)
        #expect(login.form["mbrId"] == "galaxy")
        #expect(login.form["pw"] == "s3cret&pw=1")  // exactly as configured, despite & and =
        #expect(login.form["skipDup"] == nil)
        #expect(login.header("Referer") == fake.baseURL + "/contents/MDC/COMS/client/MDCCOMS001.cmd")

        let data = try #require(fake.dataRequests.first)
        #expect(data.method == "POST")
        #expect(data.form == [
            "bld": "dbms/MDC/STAT/standard/MDCSTAT01501", "mktId": "ALL", "trdDd": "20210122", "locale": "ko_KR",
            "share": "1", "money": "1", "csvxls_isNo": "false",
        ])
        #expect(data.header("Referer") == fake.baseURL + "/contents/MDC/MDI/outerLoader/index.cmd")
        #expect(data.header("X-Requested-With") == "XMLHttpRequest")
        #expect(data.header("User-Agent")?.hasPrefix("Mozilla/5.0") == true)
        #expect(data.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(data.header("Accept-Encoding")?.contains("gzip") == true)
        #expect(data.header("Cookie")?.contains("JSESSIONID=SESSION1") == true)
        #expect(client.transport.http.cookieNames().sorted() == ["JSESSIONID", "__smVisitorID"])
    }

    @Test("one reused handle keeps one connection alive across requests")
    func keepAlive() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        _ = try client.fetch(.price, on: tradingDay)
        _ = try client.fetch(.valuation, on: tradingDay)
        _ = try client.fetch(.sector, on: tradingDay)
        #expect(fake.server.requests.count == 7)  // 3 login + price + valuation + 2 sector
        #expect(fake.server.connectionCount == 1)
    }

    @Test("every dataset parses; sector asks STK and KSQ; masters honour the listing date")
    func everyDataset() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        let recent = TradeDate(year: 2026, month: 1, day: 22)!
        for dataset in Dataset.allCases {
            guard case .rows(let rows) = try client.fetch(dataset, on: recent) else {
                Issue.record("\(dataset) should have rows")
                continue
            }
            #expect(rows.dataset == dataset)
            #expect(rows.count > 0)
        }
        let sectorMarkets = fake.dataRequests.filter { $0.form["bld"]?.hasSuffix("03901") == true }.map { $0.form["mktId"] }
        #expect(sectorMarkets == ["STK", "KSQ"])
        guard case .rows(.sectors(let sectors)) = try client.fetch(.sector, on: tradingDay) else {
            Issue.record("sector rows expected")
            return
        }
        #expect(sectors.count == 6)
        // 2010-01-04: of the three stocks in the master, the one listed in 2015 did not exist yet.
        guard case .rows(.stocks(let stocks)) = try client.fetch(.stock, on: TradeDate(year: 2010, month: 1, day: 4)!)
        else {
            Issue.record("stock rows expected")
            return
        }
        #expect(stocks.map(\.ticker) == ["098120", "009520"])
        #expect(fake.dataRequests.filter { $0.form["bld"]?.hasSuffix("01901") == true }.allSatisfy {
            $0.form["mktId"] == "ALL" && $0.form["trdDd"] == nil
        })
    }

    @Test("a \"-\" day is no_session")
    func closedDay() throws {
        let fake = try FakeKRX.start { $0.bodies["dbms/MDC/STAT/standard/MDCSTAT01501"] = Fixtures.pricesHoliday01501 }
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        guard case .noSession = try client.fetch(.price, on: TradeDate(year: 2021, month: 1, day: 3)!) else {
            Issue.record("expected no session")
            return
        }
    }

    @Test("CD011 (logged in elsewhere) is answered once with skipDup=Y")
    func duplicateLogin() throws {
        let fake = try FakeKRX.start { $0.loggedInElsewhere = true }
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        #expect(fake.loginPosts.map { $0.form["skipDup"] } == [nil, "Y"])
    }

    @Test("CD010 stops with a clear error: no retry loop, no data request")
    func passwordChange() throws {
        let fake = try FakeKRX.start { $0.passwordExpired = true }
        defer { fake.shutdown() }
        let (client, label) = try portal(fake)
        #expect(throws: KRXError.passwordChangeRequired) { try client.fetch(.price, on: tradingDay) }
        #expect(fake.loginPosts.count == 1)
        #expect(fake.dataRequests.isEmpty)
        #expect(client.requestErrors == [.authentication: 1])
        let message = KRXError.passwordChangeRequired.description
        #expect(message.contains("data.krx.co.kr") && message.contains("KRX_PW"))
        #expect(!RecordingLogHandler.text(label).contains("s3cret"))
    }

    @Test("wrong password is an authentication error naming KRX's code")
    func wrongPassword() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(
            fake, credentials: KRXCredentials(memberID: "galaxy", memberPassword: Secret("wrong")))
        do {
            _ = try client.fetch(.price, on: tradingDay)
            Issue.record("login must fail")
        } catch let error as KRXError {
            guard case .authenticationFailed(let code, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == "CD002")
            #expect(!error.description.contains("wrong"))
        }
        #expect(fake.loginPosts.count == 1)
        #expect(client.requestErrors == [.authentication: 1], "a refused login counts for the metrics")
    }

    @Test("LOGOUT → one fresh login → success")
    func reloginOnLogout() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, label) = try portal(fake)
        _ = try client.fetch(.price, on: tradingDay)
        fake.state.withLock { $0.sessions = [] }  // another process logged in: our session is gone
        guard case .rows(.valuations(let valuations)) = try client.fetch(.valuation, on: tradingDay) else {
            Issue.record("valuation rows expected")
            return
        }
        #expect(valuations.count == 3)
        #expect(fake.loginPosts.count == 2)
        #expect(fake.dataRequests.count == 3)
        #expect(fake.dataRequests.last?.header("Cookie")?.contains("JSESSIONID=SESSION2") == true)
        #expect(RecordingLogHandler.entries(label).contains { $0.message.contains("LOGOUT") })
    }

    @Test("LOGOUT again right after the fresh login is .loggedOut, not a loop")
    func logoutTwice() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        fake.fault(
            TestHTTPServer.Response(status: 400, body: "LOGOUT"), TestHTTPServer.Response(status: 400, body: "LOGOUT"))
        #expect(throws: KRXError.loggedOut) { try client.fetch(.price, on: tradingDay) }
        #expect(fake.loginPosts.count == 2)
        #expect(fake.dataRequests.count == 2)
    }

    @Test("without credentials, LOGOUT says which variable is missing")
    func anonymous() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake, credentials: KRXCredentials())
        #expect(throws: KRXError.missingCredentials(variable: "KRX_ID")) { try client.fetch(.price, on: tradingDay) }
        #expect(fake.loginPosts.isEmpty && fake.dataRequests.count == 1)
        let open = try FakeKRX.start { $0.requireLogin = false }
        defer { open.shutdown() }
        let (anonymous, _) = try portal(open, credentials: KRXCredentials())
        #expect(prices(try anonymous.fetch(.price, on: tradingDay))?.count == 3)
        #expect(open.loginPosts.isEmpty)
    }

    @Test("the session is renewed when it is older than its lifetime")
    func renewal() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake, sessionLifetime: 0)
        _ = try client.fetch(.price, on: tradingDay)
        _ = try client.fetch(.price, on: tradingDay)
        #expect(fake.loginPosts.count == 2)
        let (fresh, _) = try portal(fake, sessionLifetime: 3600)
        _ = try fresh.fetch(.price, on: tradingDay)
        _ = try fresh.fetch(.price, on: tradingDay)
        #expect(fake.loginPosts.count == 3)
    }

    @Test("block page with 403 opens the breaker for 24 h; nothing more is sent, by this or another client")
    func blockPage403() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("krx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = FileBreakerStore(path: directory.appendingPathComponent("breaker.json").path)
        let (client, label) = try portal(fake, store: store)
        fake.fault(TestHTTPServer.Response(status: 403, body: FakeKRX.blockPage))
        let before = Date()
        do {
            _ = try client.fetch(.price, on: tradingDay)
            Issue.record("a block page must fail")
        } catch KRXError.blocked(let until, let reason) {
            #expect(until.timeIntervalSince(before) > 23.9 * 3600)
            #expect(reason.contains("에러페이지") && reason.contains("403"))
        }
        #expect(fake.dataRequests.count == 1)  // never retried
        let sent = fake.server.requests.count
        #expect(throws: KRXError.self) { try client.fetch(.valuation, on: tradingDay) }
        // A second client with the same store — another collector process — does not send anything either.
        let (other, _) = try portal(fake, store: FileBreakerStore(path: store.path))
        #expect(throws: KRXError.self) { try other.fetch(.price, on: tradingDay) }
        #expect(fake.server.requests.count == sent)
        let state = try #require(try other.breakerState())
        #expect(state.source == "portal" && state.reason.contains("MDCSTAT01501"))
        #expect(RecordingLogHandler.entries(label).contains { $0.level == .critical })
    }

    @Test("block page with HTTP 200 opens the breaker too")
    func blockPage200() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let store = InMemoryBreakerStore()
        let (client, _) = try portal(fake, store: store)
        fake.fault(TestHTTPServer.Response(status: 200, body: "<html><span>Service unavailable</span> The service is "
            + "not smooth due to temporary access instability</html>"))
        #expect(throws: KRXError.self) { try client.fetch(.etfPrice, on: tradingDay) }
        #expect(try store.load(source: "portal")?.isOpen(at: Date()) == true)
        #expect(fake.dataRequests.count == 1)
    }

    @Test("a marker under a 503 (a proxy's outage page) is retried, not a day-long stop")
    func markerUnder503() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let store = InMemoryBreakerStore()
        let (client, _) = try portal(fake, store: store)
        fake.fault(TestHTTPServer.Response(status: 503, body: "<html>Service unavailable</html>"))
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        #expect(try store.load(source: "portal") == nil)
        #expect(client.requestsSent == 5)  // 3 login steps + 2 attempts
        #expect(fake.server.requests.count == client.requestsSent)
        #expect(client.requestErrors == [.serverError: 1], "the failed attempt is counted by kind for the metrics")
    }

    @Test("block pages, LOGOUT and garbled bodies are counted by kind")
    func failedAttemptsByKind() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake, store: InMemoryBreakerStore())
        fake.fault(TestHTTPServer.Response(status: 200, body: "{\"OutBlock_1\": [{\"ISU_SRT"))
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        fake.fault(TestHTTPServer.Response(status: 403, body: "<html>에러페이지</html>"))
        #expect(throws: KRXError.self) { try client.fetch(.price, on: tradingDay) }
        #expect(client.requestErrors == [.malformed: 1, .blocked: 1], "\(client.requestErrors)")
    }

    @Test("errors map to the collector's exit statuses")
    func exitCodes() {
        #expect(KRXError.blocked(until: Date(), reason: "x").exitCode == .sourceBlocked)
        #expect(KRXError.passwordChangeRequired.exitCode == .authenticationFailed)
        #expect(KRXError.missingCredentials(variable: "KRX_ID").exitCode == .configuration)
        #expect(KRXError.transport("timeout").exitCode == .temporaryFailure)
        #expect(KRXError.passwordChangeRequired.isTransient == false)
    }

    @Test("5xx, then success: retried with backoff")
    func retryServerError() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, label) = try portal(fake)
        fake.fault(TestHTTPServer.Response(status: 503, body: "<html>busy</html>"),
                   TestHTTPServer.Response(status: 500, body: ""))
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        #expect(fake.dataRequests.count == 3)
        #expect(RecordingLogHandler.entries(label).filter { $0.message.contains("retrying") }.count == 2)
    }

    @Test("5xx on every attempt fails with the status after maxAttempts")
    func retriesSpent() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake, maxAttempts: 2)
        fake.fault(TestHTTPServer.Response(status: 502, body: ""), TestHTTPServer.Response(status: 502, body: ""))
        #expect(throws: KRXError.http(status: 502, url: fake.baseURL + "/comm/bldAttendant/getJsonData.cmd")) {
            try client.fetch(.price, on: tradingDay)
        }
        #expect(fake.dataRequests.count == 2)
    }

    @Test("429 honours Retry-After")
    func retryAfter() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        fake.fault(TestHTTPServer.Response(status: 429, headers: [("Retry-After", "1")], body: "slow down"))
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        let times = fake.dataRequests.map(\.time)
        #expect(times.count == 2)
        #expect(times[1] - times[0] >= 0.95)
    }

    @Test("malformed JSON is retried, then fails with the reason; a wrong shape fails at once")
    func malformed() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        let broken = TestHTTPServer.Response.json(#"{"OutBlock_1":[{"ISU_SRT_CD":"0955"#)
        fake.fault(broken, broken, broken)
        do {
            _ = try client.fetch(.price, on: tradingDay)
            Issue.record("malformed JSON must fail")
        } catch KRXError.unexpectedResponse(let reason) {
            #expect(reason.contains("MDCSTAT01501") && reason.contains("malformed or truncated JSON"))
        }
        #expect(fake.dataRequests.count == 3)
        fake.fault(.json(#"{"output":[],"CURRENT_DATETIME":"2026.01.25 PM 08:27:25"}"#))
        do {
            _ = try client.fetch(.price, on: tradingDay)
            Issue.record("a wrong key must fail")
        } catch KRXError.unexpectedResponse(let reason) {
            #expect(reason.contains("no \"OutBlock_1\" list"))
        }
        #expect(fake.dataRequests.count == 4)
    }

    @Test("HTML instead of JSON (maintenance) is retried")
    func maintenanceHTML() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        fake.fault(TestHTTPServer.Response(body: "<html><body>점검 중입니다</body></html>"))
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        #expect(fake.dataRequests.count == 2)
    }

    @Test("a hung server costs one total timeout per attempt, then a transport error")
    func timeout() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake, maxAttempts: 2, totalTimeout: 0.3)
        _ = try client.fetch(.price, on: tradingDay)
        var hang = TestHTTPServer.Response.json(Fixtures.prices01501)
        hang.delay = 5
        fake.fault(hang, hang)
        let started = Date()
        do {
            _ = try client.fetch(.price, on: tradingDay)
            Issue.record("a hang must fail")
        } catch KRXError.transport(let message) {
            #expect(message.contains("curl 28"))  // CURLE_OPERATION_TIMEDOUT
        }
        // Two attempts of 0.3 s each; waiting for the hung answers would take 10 s.
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.55 && elapsed < 4)
        #expect(fake.dataRequests.count == 3)
    }

    @Test("a truncated transfer is retried")
    func truncated() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        var cut = TestHTTPServer.Response.json(Fixtures.prices01501)
        cut.truncateTo = 200
        fake.fault(cut)
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
        #expect(fake.dataRequests.count == 2)
    }

    @Test("gzip bodies are decoded")
    func gzip() throws {
        let compressed = try gzipBytes(Array(Fixtures.prices01501.utf8))
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (client, _) = try portal(fake)
        fake.fault(TestHTTPServer.Response(
            headers: [("Content-Encoding", "gzip"), ("Content-Type", "text/html; charset=utf-8")], bytes: compressed))
        #expect(prices(try client.fetch(.price, on: tradingDay))?.count == 3)
    }

    @Test("requests are spaced by the rate limit")
    func rateRespected() throws {
        let fake = try FakeKRX.start { $0.requireLogin = false }
        defer { fake.shutdown() }
        let (client, _) = try portal(fake, credentials: KRXCredentials(), rate: 10)
        for _ in 0..<4 { _ = try client.fetch(.price, on: tradingDay) }
        let times = fake.dataRequests.map(\.time)
        #expect(times.count == 4)
        // Arrival times include the client's own scheduling noise after the limiter let it go (2 busy cores).
        for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= 0.1 - 0.05) }
        #expect(times.last! - times.first! >= 0.3 - 0.05)
    }

    @Test("no secret in any error description or log line")
    func noSecrets() throws {
        let fake = try FakeKRX.start { $0.passwordExpired = true }
        defer { fake.shutdown() }
        let (client, label) = try portal(fake, maxAttempts: 2)
        let errors: [KRXError] = [
            .passwordChangeRequired, .missingCredentials(variable: "KRX_PW"),
            .authenticationFailed(code: "CD002", message: "x"),
        ]
        do { _ = try client.fetch(.price, on: tradingDay) } catch {}
        fake.state.withLock { $0.passwordExpired = false }
        fake.fault(TestHTTPServer.Response(status: 500, body: ""), TestHTTPServer.Response(status: 500, body: ""))
        do { _ = try client.fetch(.price, on: tradingDay) } catch let error as KRXError {
            #expect(!error.description.contains("s3cret"))
        }
        for error in errors { #expect(!error.description.contains("s3cret")) }
        let logged = RecordingLogHandler.text(label)
        #expect(!logged.isEmpty)
        #expect(!logged.contains("s3cret") && !logged.contains("SESSION1"))
        #expect("\(KRXCredentials(memberID: "a", memberPassword: Secret("s3cret")))".contains("s3cret") == false)
    }
}

/// Compresses with the system's gzip (a real child process), so the client's decoding meets a real gzip stream.
func gzipBytes(_ input: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c"]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Array(output)
}
