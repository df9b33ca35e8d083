import Foundation
import GalaxyCore
import Logging

@testable import GalaxyKRX

/// A scripted KRX over `TestHTTPServer`: the portal's login flow (CD001/CD010/CD011, skipDup, JSESSIONID), data
/// screens answering the recorded fixtures, the Open API, and a queue of faults to serve before the real answer.
/// It is deliberately small: the wire-faithful simulator is `krx-sim`; this one lets a test script one exchange.
final class FakeKRX: @unchecked Sendable {
    struct State {
        var accounts: [String: String] = ["galaxy": "s3cret&pw=1"]
        var requireLogin = true
        /// The next login answers CD010.
        var passwordExpired = false
        /// The account is logged in elsewhere: a login without skipDup=Y answers CD011.
        var loggedInElsewhere = false
        var sessions: Set<String> = []
        var sessionCounter = 0
        /// Answers served instead of the real one, in order, for data requests (portal and Open API).
        var faults: [TestHTTPServer.Response] = []
        /// Per-bld or per-API overrides of the body.
        var bodies: [String: String] = [:]
        var authKey = "open-api-key-42"
    }

    let state = LockedValue(State())
    private(set) var server: TestHTTPServer!

    /// The `MBR_NO` of the fake's account in its login answers.
    static let memberNumber = "2000095104"

    static let blockPage = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>에러페이지 - 한국거래소</title></head>
        <body><p>자동화 수단을 통한 비정상 대량 조회가 감지되어 해당 IP의 접속이 일시적으로 제한되었습니다.</p></body></html>
        """

    static func start(_ configure: (inout State) -> Void = { _ in }) throws -> FakeKRX {
        let fake = FakeKRX()
        fake.state.withLock(configure)
        fake.server = try TestHTTPServer.start { [unowned fake] request in fake.answer(request) }
        return fake
    }

    func shutdown() { server.shutdown() }

    var baseURL: String { server.baseURL }

    func requests(path: String) -> [TestHTTPServer.Request] { server.requests.filter { $0.path == path } }

    var dataRequests: [TestHTTPServer.Request] { requests(path: "/comm/bldAttendant/getJsonData.cmd") }
    var loginPosts: [TestHTTPServer.Request] { requests(path: "/contents/MDC/COMS/client/MDCCOMS001D1.cmd") }
    var openAPIRequests: [TestHTTPServer.Request] { server.requests.filter { $0.path.hasPrefix("/svc/apis/") } }

    func fault(_ responses: TestHTTPServer.Response...) {
        state.withLock { $0.faults += responses }
    }

    private func answer(_ request: TestHTTPServer.Request) -> TestHTTPServer.Response {
        switch request.path {
        case "/contents/MDC/COMS/client/MDCCOMS001.cmd":
            return TestHTTPServer.Response(
                headers: [("Set-Cookie", "__smVisitorID=visitor1; Path=/")], body: "<html>login</html>")
        case "/contents/MDC/COMS/client/view/login.jsp":
            return TestHTTPServer.Response(body: "<html><form>login</form></html>")
        case "/contents/MDC/COMS/client/MDCCOMS001D1.cmd":
            return login(request.form)
        case "/contents/MDC/COMS/client/MDCCOMS001D2.cmd":
            return TestHTTPServer.Response(body: "<html>bye</html>")
        case "/comm/bldAttendant/getJsonData.cmd":
            return data(request)
        default:
            if request.path.hasPrefix("/svc/apis/") { return openAPI(request) }
            return TestHTTPServer.Response(status: 404, body: "<html>not found</html>")
        }
    }

    private func login(_ form: [String: String]) -> TestHTTPServer.Response {
        state.withLock { state in
            guard let id = form["mbrId"], state.accounts[id] == form["pw"] else {
                return .json(#"{"_error_code":"CD002","_error_message":"아이디 또는 비밀번호가 올바르지 않습니다."}"#)
            }
            // KRX's answers for a known account carry the member fields (MBR_NO identifies the account: it must
            // never reach a log or an error).
            let member = #"{"previousMemberYn":false,"MDC_MBR_TP_CD":"P","MBR_NO":"\#(Self.memberNumber)","#
            if state.passwordExpired {
                return .json(member + #""_error_code":"CD010","_error_message":"패스워드 변경 필요"}"#)
            }
            if state.loggedInElsewhere, form["skipDup"] != "Y" {
                return .json(member + #""_error_code":"CD011","_error_message":"다른 곳에서 로그인 중입니다."}"#)
            }
            state.loggedInElsewhere = false
            state.sessionCounter += 1
            let session = "SESSION\(state.sessionCounter)"
            state.sessions = [session]  // a new login ends the previous session, as KRX does
            return TestHTTPServer.Response(
                headers: [("Set-Cookie", "JSESSIONID=\(session); Path=/; HttpOnly"),
                          ("Content-Type", "text/html; charset=utf-8")],
                body: member + #""_error_code":"CD001","_error_message":"정상"}"#)
        }
    }

    private func session(of request: TestHTTPServer.Request) -> String? {
        guard let cookie = request.header("Cookie") else { return nil }
        for part in cookie.split(separator: ";") {
            let pair = part.krxTrimmed.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == "JSESSIONID" { return String(pair[1]) }
        }
        return nil
    }

    private func data(_ request: TestHTTPServer.Request) -> TestHTTPServer.Response {
        state.withLock { state in
            if !state.faults.isEmpty { return state.faults.removeFirst() }
            if state.requireLogin {
                guard let session = session(of: request), state.sessions.contains(session) else {
                    return TestHTTPServer.Response(status: 400, body: "LOGOUT")
                }
            }
            let bld = request.form["bld"] ?? ""
            if let body = state.bodies[bld] { return .json(body) }
            switch bld {
            case "dbms/MDC/STAT/standard/MDCSTAT01501": return .json(Fixtures.prices01501)
            case "dbms/MDC/STAT/standard/MDCSTAT01901": return .json(Fixtures.stockMaster01901)
            case "dbms/MDC/STAT/standard/MDCSTAT03501": return .json(Fixtures.valuation03501)
            case "dbms/MDC/STAT/standard/MDCSTAT04601": return .json(Fixtures.etfMaster04601)
            case "dbms/MDC/STAT/standard/MDCSTAT04301": return .json(Fixtures.etfPrices04301)
            case "dbms/MDC/STAT/standard/MDCSTAT03901":
                // KOSDAQ gets its own rows so the two markets' answers do not collide.
                return request.form["mktId"] == "KSQ"
                    ? .json(Fixtures.sector03901.replacingOccurrences(of: "\"0", with: "\"1").replacingOccurrences(of: "\"2", with: "\"3"))
                    : .json(Fixtures.sector03901)
            default: return TestHTTPServer.Response(status: 400, body: "<html>unknown bld</html>")
            }
        }
    }

    private func openAPI(_ request: TestHTTPServer.Request) -> TestHTTPServer.Response {
        state.withLock { state in
            if !state.faults.isEmpty { return state.faults.removeFirst() }
            guard request.header("AUTH_KEY") == state.authKey else {
                return TestHTTPServer.Response(status: 401, body: #"{"respMsg":"Unauthorized Key","respCode":"401"}"#)
            }
            let api = String(request.path.dropFirst("/svc/apis/".count))
            if let body = state.bodies[api] { return .json(body) }
            switch api {
            case "sto/stk_bydd_trd": return .json(Fixtures.openAPIKospiPrices)
            case "sto/ksq_bydd_trd":
                return .json(Fixtures.openAPIKospiPrices.replacingOccurrences(of: "\"ISU_CD\":\"0", with: "\"ISU_CD\":\"1"))
            case "sto/knx_bydd_trd": return .json(#"{"OutBlock_1":[]}"#)
            case "etp/etf_bydd_trd": return .json(Fixtures.openAPIETFPrices)
            default: return .json(#"{"OutBlock_1":[]}"#)
            }
        }
    }
}

/// Records every log message with its metadata, so tests can check what was logged (and that no secret was).
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    static let box = LockedValue<[String: [Entry]]>([:])
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let entry = Entry(
            level: event.level, message: "\(event.message)",
            metadata: metadata.merging(event.metadata ?? [:]) { $1 })
        Self.box.withLock { $0[label, default: []].append(entry) }
    }

    /// A logger whose entries are kept under a unique label.
    static func logger() -> (Logger, String) {
        let label = "test-\(UUID().uuidString)"
        return (Logger(label: label, factory: { RecordingLogHandler(label: $0) }), label)
    }

    static func entries(_ label: String) -> [Entry] { box.withLock { $0[label] ?? [] } }

    /// Everything logged under `label`, as one text to search for secrets.
    static func text(_ label: String) -> String {
        entries(label).map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
    }
}

/// Client settings for tests: the fake's URLs, short timeouts, retries without long waits, no rate limit.
func testConfiguration(
    _ fake: FakeKRX, credentials: KRXCredentials? = nil, maxAttempts: Int = 3, totalTimeout: Double = 5,
    sessionLifetime: TimeInterval = 3600, today: TradeDate = TradeDate(year: 2026, month: 11, day: 30)!
) -> KRXClientConfiguration {
    KRXClientConfiguration(
        portalURL: fake.baseURL, openAPIURL: fake.baseURL,
        credentials: credentials
            ?? KRXCredentials(memberID: "galaxy", memberPassword: Secret("s3cret&pw=1"),
                              authKey: Secret("open-api-key-42")),
        http: HTTPClientConfiguration(connectTimeout: 2, totalTimeout: totalTimeout, verifyTLS: true),
        retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: 0.01, maxDelay: 0.05, maxRetryAfter: 5),
        sessionLifetime: sessionLifetime, today: { today })
}
