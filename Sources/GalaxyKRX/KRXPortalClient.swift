import Foundation
import GalaxyCore
import Logging

/// The data portal (data.krx.co.kr `getJsonData.cmd`): all six datasets, behind a member login since 2026-02.
///
/// Requests look like the portal's own page scripts: a form POST with `bld`, `locale=ko_KR&share=1&money=1&
/// csvxls_isNo=false`, the `outerLoader` Referer, `X-Requested-With: XMLHttpRequest` and a browser User-Agent; the
/// member session is libcurl's cookie jar on the reused handle.
///
/// Requests per day: one for price (`mktId=ALL`), valuation (`mktId=ALL`) and ETF prices, two for sector (STK and
/// KSQ: the screen has no ALL), one for each master.
///
/// The masters (`MDCSTAT01901`, `MDCSTAT04601`) have no date: KRX only serves today's snapshot. `fetch(.stock, on:)`
/// and `fetch(.etf, on:)` therefore return the current master restricted to the entries listed on or before `date`
/// (entries without a listing date are kept). For a past date that is "today's master as far as it existed then":
/// anything delisted since is missing — KRX does not offer more. Per-day history of the universe lives in the price
/// screens, which carry ticker, ISIN, name and listed shares for every day.
///
/// Session: with `KRX_ID`/`KRX_PW` the client logs in before its first request (the three steps of krx-wire §4.2),
/// answers `CD011` (logged in elsewhere) with one retry using `skipDup=Y`, stops on `CD010` (password change due)
/// with `KRXError.passwordChangeRequired`, logs in again once when a request answers `LOGOUT`, and renews the session
/// before `sessionLifetime` runs out. Without credentials it sends requests anonymously and reports
/// `missingCredentials` on the first `LOGOUT`.
public final class KRXPortalClient: KRXSource, @unchecked Sendable {
    public let kind = SourceKind.portal
    public let datasets = Set(Dataset.allCases)
    public let configuration: KRXClientConfiguration
    public let transport: KRXTransport
    private let logger: Logger
    /// When the current member session was established (seconds since 1970); nil without one.
    private let sessionStart = LockedValue<Double?>(nil)
    /// The session shared with galaxyd's other collectors, when galaxyd set `GALAXY_SESSION_FILE`.
    private var sharedSession: LockedStateFile? { configuration.sessionFile.map(LockedStateFile.init(path:)) }
    private let operation = NSLock()

    public convenience init(
        configuration: KRXClientConfiguration, limiter: RateLimiter, breakerStore: any CircuitBreakerStore, logger: Logger
    ) throws {
        let transport = KRXTransport(
            http: try CurlHTTPClient(configuration: configuration.http), limiter: limiter,
            breaker: CircuitBreaker(source: .portal, store: breakerStore, openDuration: configuration.breakerDuration),
            retry: configuration.retry, logger: logger)
        self.init(configuration: configuration, transport: transport, logger: logger)
    }

    public init(configuration: KRXClientConfiguration, transport: KRXTransport, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        var logger = logger
        logger[metadataKey: "source"] = "portal"
        self.logger = logger
    }

    public func breakerState() throws -> BreakerState? { try transport.breaker.state() }

    public var requestsSent: Int { transport.requestsSent }
    public var requestErrors: [RequestErrorKind: Int] { transport.requestErrors }

    /// Whether a member session is believed to be live.
    public var hasSession: Bool { sessionStart.withLock { $0 != nil } }

    public func fetch(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch {
        try logger.loggingFailedDay(dataset, date) { try fetchDay(dataset, on: date) }
    }

    private func fetchDay(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch {
        operation.lock()
        defer { operation.unlock() }
        let metadata: Logger.Metadata = ["dataset": "\(dataset.rawValue)", "date": "\(date.iso)"]
        let started = wallClock()
        let result: DayFetch
        switch dataset {
        case .stock:
            let rows = try query(.stockMaster, [("mktId", "ALL")], metadata) { body throws(KRXError) in
                try KRXPortalParser.stocks(body)
            }
            result = .rows(.stocks(try Self.listed(rows, on: date, screen: .stockMaster, listedOn: \.listedOn)))
        case .etf:
            let rows = try query(.etfMaster, [], metadata) { body throws(KRXError) in try KRXPortalParser.etfs(body) }
            result = .rows(.etfs(try Self.listed(rows, on: date, screen: .etfMaster, listedOn: \.listedOn)))
        case .price:
            let day = try query(.prices, [("mktId", "ALL"), ("trdDd", date.compact)], metadata) { body throws(KRXError) in
                try KRXPortalParser.prices(body)
            }
            result = Self.outcome(day, DayRows.prices)
        case .valuation:
            let day = try query(.valuation, [("mktId", "ALL"), ("trdDd", date.compact)], metadata) {
                body throws(KRXError) in try KRXPortalParser.valuations(body)
            }
            result = Self.outcome(day, DayRows.valuations)
        case .etfPrice:
            let day = try query(.etfPrices, [("trdDd", date.compact)], metadata) { body throws(KRXError) in
                try KRXPortalParser.etfPrices(body)
            }
            result = Self.outcome(day, DayRows.etfPrices)
        case .sector:
            let kospi = try query(.sector, [("mktId", "STK"), ("trdDd", date.compact)], metadata) {
                body throws(KRXError) in try KRXPortalParser.sectors(body)
            }
            let kosdaq = try query(.sector, [("mktId", "KSQ"), ("trdDd", date.compact)], metadata) {
                body throws(KRXError) in try KRXPortalParser.sectors(body)
            }
            switch (kospi, kosdaq) {
            case (.closed, .closed):
                result = .noSession
            case (.rows(let a), .rows(let b)):
                try KRXJSON.checkUnique((a + b).map(\.ticker), screen: "MDCSTAT03901 STK+KSQ")
                result = .rows(.sectors(a + b))
            case (.closed, .rows), (.rows, .closed):
                throw KRXError.unexpectedResponse(
                    reason: "MDCSTAT03901: one market answered a closed day and the other a trading day for "
                        + date.iso)
            }
        }
        var done = metadata
        done["rows"] = "\(Self.count(result))"
        done["seconds"] = "\(String(format: "%.2f", wallClock() - started))"
        logger.info(result.status == .noSession ? "KRX day: no session" : "KRX day fetched", metadata: done)
        return result
    }

    /// The trading days in `range`, oldest first, from the KOSPI index history (`MDCSTAT00301`, `indIdx=1&indIdx2=001`):
    /// one request per two years (KRX's limit per range request), instead of one "-"-rows request per closed day.
    /// Days after the last published session are simply absent.
    public func tradingDays(in range: DateRange) throws -> [TradeDate] {
        operation.lock()
        defer { operation.unlock() }
        var days: [TradeDate] = []
        var start = range.start
        while start <= range.end {
            let end = min(range.end, start.adding(days: 729))
            let metadata: Logger.Metadata = ["dataset": "calendar", "date": "\(start.iso)…\(end.iso)"]
            let chunk = try query(
                .indexHistory,
                [("indIdx", "1"), ("indIdx2", "001"), ("strtDd", start.compact), ("endDd", end.compact)], metadata
            ) { body throws(KRXError) in try KRXPortalParser.sessionDates(body) }
            days += chunk.filter { start <= $0 && $0 <= end }
            start = end.next
        }
        return days
    }

    /// Logs in now (also done on demand by `fetch`). Exposed for `galaxy-collector --check` style diagnostics.
    public func login() throws {
        operation.lock()
        defer { operation.unlock() }
        try logIn()
    }

    /// Ends the member session (best effort), so that the next process's login does not meet `CD011`. A shared
    /// session is left alone: other collectors are using it. A request still in flight on another thread (a collector
    /// that stopped while its next day was being fetched) is waited for at most `wait`; then the session is left to
    /// expire (the next login answers `CD011` and takes over with `skipDup=Y`).
    public func logout(waitingAtMost wait: TimeInterval = 2) {
        guard operation.lock(before: Date(timeIntervalSinceNow: wait)) else {
            logger.notice("KRX logout skipped: a request is still in flight")
            return
        }
        defer { operation.unlock() }
        guard sessionStart.withLock({ $0 }) != nil, sharedSession == nil else { return }
        let base = configuration.portalURL
        let request = HTTPRequest(
            method: .post, url: base + "/contents/MDC/COMS/client/MDCCOMS001D2.cmd",
            headers: pageHeaders(referer: base + "/contents/MDC/COMS/client/MDCCOMS001.cmd"), body: "")
        _ = try? transport.send(request, what: "logout (MDCCOMS001D2)", expectsJSON: false) { _ in () }
        sessionStart.withLock { $0 = nil }
        transport.http.clearCookies()
    }

    // MARK: - Requests

    /// One screen request with the session handled: log in first if needed, and once more on `LOGOUT`.
    private func query<T>(
        _ screen: PortalScreen, _ parameters: [(String, String)], _ metadata: Logger.Metadata,
        parse: @escaping ([UInt8]) throws(KRXError) -> T
    ) throws -> T {
        try ensureSession()
        var fields = [("locale", "ko_KR")] + parameters
        fields += [("share", "1"), ("money", "1"), ("csvxls_isNo", "false"), ("bld", screen.bld)]
        let base = configuration.portalURL
        var headers = pageHeaders(referer: base + "/contents/MDC/MDI/outerLoader/index.cmd")
        headers.append(("X-Requested-With", "XMLHttpRequest"))
        headers.append(("Accept", "application/json, text/javascript, */*; q=0.01"))
        let request = HTTPRequest(
            method: .post, url: base + "/comm/bldAttendant/getJsonData.cmd", headers: headers,
            body: FormEncoding.encode(fields))
        var metadata = metadata
        metadata["screen"] = "\(screen.rawValue)"
        if let market = parameters.first(where: { $0.0 == "mktId" }) { metadata["market"] = "\(market.1)" }
        var loggedInAgain = false
        while true {
            do {
                return try transport.send(request, what: screen.rawValue, metadata: metadata) { response in
                    try parse(response.body)
                }
            } catch KRXError.loggedOut {
                guard !loggedInAgain else { throw KRXError.loggedOut }
                guard credentials() != nil else {
                    throw KRXError.missingCredentials(
                        variable: configuration.credentials.memberID == nil ? "KRX_ID" : "KRX_PW")
                }
                loggedInAgain = true
                logger.notice("KRX answered LOGOUT: logging in again once", metadata: metadata)
                if let shared = sharedSession {
                    let failed = sessionStart.withLock { session -> Double? in
                        defer { session = nil }
                        return session
                    }
                    try adoptOrLogIn(shared, unless: failed)
                } else {
                    try logIn()
                }
            }
        }
    }

    private func credentials() -> (id: String, password: Secret)? {
        guard let id = configuration.credentials.memberID, let password = configuration.credentials.memberPassword
        else { return nil }
        return (id, password)
    }

    /// Logs in when credentials exist and there is no session yet or it is about to expire.
    private func ensureSession() throws {
        let memberID = configuration.credentials.memberID
        let password = configuration.credentials.memberPassword
        if memberID == nil, password == nil { return }  // anonymous; a LOGOUT will say what is missing
        guard memberID != nil else { throw KRXError.missingCredentials(variable: "KRX_ID") }
        guard password != nil else { throw KRXError.missingCredentials(variable: "KRX_PW") }
        let start = sessionStart.withLock { $0 }
        if let start, wallClock() - start < configuration.sessionLifetime { return }
        if start != nil { logger.info("KRX member session is due for renewal: logging in again") }
        if let shared = sharedSession {
            try adoptOrLogIn(shared, unless: nil)
        } else {
            try logIn()
        }
    }

    /// Under the shared file's lock: adopt the session another collector established if it is still fresh (and is
    /// not the one that just answered LOGOUT), otherwise log in and publish the new session. Holding the lock while
    /// logging in makes the other collectors wait for this login instead of racing their own, which would end it.
    private func adoptOrLogIn(_ shared: LockedStateFile, unless failed: Double?) throws {
        try shared.update { text in
            if let record = SharedSessionRecord(text), record.startedAt != failed,
                wallClock() - record.startedAt < configuration.sessionLifetime
            {
                transport.http.importCookies(record.cookies)
                sessionStart.withLock { $0 = record.startedAt }
                logger.debug("KRX member session adopted from another collector")
                return ((), text)
            }
            try logIn()
            let started = sessionStart.withLock { $0 } ?? wallClock()
            return ((), SharedSessionRecord(startedAt: started, cookies: transport.http.exportCookies()).text)
        }
    }

    /// The three-step login of krx-wire §4.2.
    private func logIn() throws {
        guard let (id, password) = credentials() else {
            throw KRXError.missingCredentials(
                variable: configuration.credentials.memberID == nil ? "KRX_ID" : "KRX_PW")
        }
        sessionStart.withLock { $0 = nil }
        transport.http.clearCookies()
        let base = configuration.portalURL
        let loginPage = base + "/contents/MDC/COMS/client/MDCCOMS001.cmd"
        let metadata: Logger.Metadata = ["member": "\(id)"]
        try fetchPage(HTTPRequest(method: .get, url: loginPage, headers: pageHeaders(referer: nil)), "login page (MDCCOMS001)")
        try fetchPage(
            HTTPRequest(
                method: .get, url: base + "/contents/MDC/COMS/client/view/login.jsp?site=mdc",
                headers: pageHeaders(referer: loginPage)), "login form (login.jsp)")

        var fields = [("mbrNm", ""), ("telNo", ""), ("di", ""), ("certType", ""), ("mbrId", id),
                      ("pw", password.revealed)]
        var code = try postLogin(fields, referer: loginPage)
        if code.code == "CD011" {
            logger.notice("KRX login: the account is logged in elsewhere (CD011); taking over with skipDup=Y",
                          metadata: metadata)
            fields.append(("skipDup", "Y"))
            code = try postLogin(fields, referer: loginPage)
        }
        switch code.code {
        case "CD001":
            sessionStart.withLock { $0 = wallClock() }
            logger.info("KRX member login succeeded", metadata: metadata)
        case "CD010":
            logger.error("KRX login refused: password change required (CD010)", metadata: metadata)
            transport.countFailure(.authentication)
            throw KRXError.passwordChangeRequired
        default:
            logger.error("KRX login refused", metadata: metadata.merging(["code": "\(code.code)"]) { $1 })
            transport.countFailure(.authentication)
            throw KRXError.authenticationFailed(code: code.code, message: code.message)
        }
    }

    private func fetchPage(_ request: HTTPRequest, _ what: String) throws {
        do {
            try transport.send(request, what: what, expectsJSON: false) { _ in () }
        } catch KRXError.loggedOut {
            throw KRXError.unexpectedResponse(reason: "\(what) answered LOGOUT")
        }
    }

    /// Posts the login form and returns KRX's `_error_code` and `_error_message`.
    private func postLogin(_ fields: [(String, String)], referer: String) throws -> (code: String, message: String) {
        let request = HTTPRequest(
            method: .post, url: configuration.portalURL + "/contents/MDC/COMS/client/MDCCOMS001D1.cmd",
            headers: pageHeaders(referer: referer) + [("X-Requested-With", "XMLHttpRequest")],
            body: FormEncoding.encode(fields))
        let what = "login (MDCCOMS001D1)"
        do {
            return try transport.send(request, what: what) { response in
                guard case .object(let object) = KRXJSON.parse(response.body) else {
                    throw KRXError.unexpectedResponse(
                        reason: "\(what): not a JSON object: \(KRXJSON.excerpt(response.body))")
                }
                guard let code = object["_error_code"]?.stringValue else {
                    throw KRXError.unexpectedResponse(reason: "\(what): no _error_code in the answer")
                }
                return (code, object["_error_message"]?.stringValue ?? "")
            }
        } catch KRXError.loggedOut {
            throw KRXError.unexpectedResponse(reason: "\(what) answered LOGOUT")
        }
    }

    private func pageHeaders(referer: String?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("User-Agent", configuration.userAgent)]
        if let referer { headers.append(("Referer", referer)) }
        return headers
    }

    // MARK: - Results

    private static func outcome<Row>(_ day: ParsedDay<Row>, _ wrap: ([Row]) -> DayRows) -> DayFetch {
        switch day {
        case .closed: .noSession
        case .rows(let rows): .rows(wrap(rows))
        }
    }

    private static func count(_ fetch: DayFetch) -> Int {
        switch fetch {
        case .rows(let rows): rows.count
        case .noSession: 0
        }
    }

    /// The master's entries listed on or before `date` (entries without a listing date stay).
    static func listed<Row>(
        _ rows: [Row], on date: TradeDate, screen: PortalScreen, listedOn: KeyPath<Row, TradeDate?>
    ) throws -> [Row] {
        let kept = rows.filter { row in row[keyPath: listedOn].map { $0 <= date } ?? true }
        guard !kept.isEmpty else {
            throw KRXError.unexpectedResponse(
                reason: "\(screen.rawValue): none of the \(rows.count) entries of today's master was listed on or "
                    + "before \(date.iso)")
        }
        return kept
    }
}

/// The shared session file's content: `galaxy-session <startedAt>` then the cookie jar's lines.
struct SharedSessionRecord {
    var startedAt: Double
    var cookies: [String]

    init(startedAt: Double, cookies: [String]) {
        self.startedAt = startedAt
        self.cookies = cookies
    }

    init?(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let header = lines.first, header.hasPrefix("galaxy-session "),
            let started = Double(header.dropFirst("galaxy-session ".count))
        else { return nil }
        lines.removeFirst()
        self.init(startedAt: started, cookies: lines)
    }

    var text: String { (["galaxy-session \(startedAt)"] + cookies).joined(separator: "\n") }
}
