import Foundation
import NIOHTTP1

/// What to send for one request: the route it counted as, the response, and faults that apply.
struct Decision {
    var route: String?
    var response: SimResponse
    var latencyMilliseconds: Int = 0
    var fault: SimulatedFault? = nil
    /// Cookies to set (name, value), e.g. a fresh `JSESSIONID` for an anonymous visitor.
    var setCookies: [(String, String)] = []
}

/// The simulator's request logic, independent of the transport: routing, sessions, quota, screens, control.
final class SimulatorCore: Sendable {
    let configuration: SimulatorConfiguration
    let market: SimulatedMarket
    let faults: FaultController
    let stats = StatsRecorder()
    let sessions: SessionStore
    let quota = QuotaCounter()
    let otps = OTPStore()

    init(configuration: SimulatorConfiguration, market: SimulatedMarket) {
        self.configuration = configuration
        self.market = market
        self.faults = FaultController(rules: configuration.faults, seed: configuration.seed)
        self.sessions = SessionStore(accounts: configuration.accounts, lifetime: configuration.sessionLifetime)
    }

    /// Route name for a path (stats and fault matching), nil for the control endpoints.
    func route(for request: SimRequest) -> String? {
        let path = request.path
        if path.hasPrefix("/_sim/") { return nil }
        switch path {
        case "/comm/bldAttendant/getJsonData.cmd":
            let bld = request.form["bld"] ?? ""
            return "portal/" + (bld.split(separator: "/").last.map(String.init) ?? "unknown")
        case "/comm/bldAttendant/executeForResourceBundle.cmd": return "portal/resourceBundle"
        case "/contents/MDC/COMS/client/MDCCOMS001.cmd": return "login/MDCCOMS001"
        case "/contents/MDC/COMS/client/view/login.jsp": return "login/login.jsp"
        case "/contents/MDC/COMS/client/MDCCOMS001D1.cmd": return "login/MDCCOMS001D1"
        case "/contents/MDC/COMS/client/MDCCOMS001D2.cmd": return "login/MDCCOMS001D2"
        case "/contents/COM/GenerateOTP.jspx": return "holidays/otp"
        case "/contents/OPN/99/OPN99000001.jspx": return "holidays/OPN99000001"
        default:
            if path.hasPrefix("/svc/apis/") {
                return "openapi/" + (path.split(separator: "/").last.map(String.init) ?? "unknown")
            }
            return "other"
        }
    }

    func decide(_ request: SimRequest) -> Decision {
        guard let route = route(for: request) else {
            return Decision(route: nil, response: control(request))
        }
        let (latency, fault) = faults.decide(route: route)
        var decision = respond(request, route: route)
        decision.latencyMilliseconds = latency
        decision.fault = fault
        return decision
    }

    // MARK: Routes

    private func respond(_ request: SimRequest, route: String) -> Decision {
        let cookies = request.cookies
        var setCookies: [(String, String)] = []
        let sessionID: String
        if let existing = cookies["JSESSIONID"], !existing.isEmpty {
            sessionID = existing
        } else {
            sessionID = SessionStore.newSessionID()
            setCookies.append(("JSESSIONID", sessionID))
            if cookies["__smVisitorID"] == nil { setCookies.append(("__smVisitorID", visitorID())) }
        }
        let today = configuration.clock.today
        let response: SimResponse
        switch route {
        case _ where route.hasPrefix("portal/") && route != "portal/resourceBundle":
            if configuration.requireLogin && !sessions.isValid(cookies["JSESSIONID"]) {
                response = .text(.badRequest, "LOGOUT")
            } else {
                let screens = PortalScreens(market: market, today: today)
                let form = request.form
                if let body = screens.render(
                    bld: form["bld"] ?? "", form: form, currentDateTime: configuration.clock.currentDateTime)
                {
                    response = SimResponse(status: .ok, contentType: SimResponse.html, body: body)
                } else {
                    var w = JSONWriter(capacity: 64)
                    w.beginEnvelope("output")
                    w.endEnvelope(currentDateTime: configuration.clock.currentDateTime)
                    response = SimResponse(status: .ok, contentType: SimResponse.html, body: w.bytes)
                }
            }
        case "portal/resourceBundle":
            let key = request.query["key"] ?? ""
            if key == "B128.bld" {
                let latest = market.calendar.tradingDay(onOrBefore: today)?.compact ?? today.compact
                response = .text(.ok, "{\"result\":{\"output\":[{\"max_work_dt\":\"\(latest)\"}]}}")
            } else {
                response = .text(.ok, "{\"result\":{\"output\":[]}}")
            }
        case "login/MDCCOMS001":
            response = .text(.ok, Pages.loginLanding)
        case "login/login.jsp":
            response = .text(.ok, Pages.loginForm)
        case "login/MDCCOMS001D1":
            let form = request.form
            let outcome = sessions.login(
                sessionID: sessionID, id: form["mbrId"] ?? "", password: form["pw"] ?? "",
                skipDuplicate: form["skipDup"] == "Y")
            if outcome == .success, !setCookies.contains(where: { $0.0 == "JSESSIONID" }) {
                setCookies.append(("JSESSIONID", sessionID))
            }
            // KRX's real answer: text/html, the member fields first (MBR_NO is the account's number; a client
            // must never log it), then the code and message.
            var w = JSONWriter(capacity: 192)
            if let member = sessions.memberNumber(form["mbrId"] ?? "") {
                w.raw("{\"previousMemberYn\":false,\"MDC_MBR_TP_CD\":\"P\",\"MBR_NO\":")
                w.quoted(member)
                w.raw(",")
            } else {
                w.raw("{")
            }
            w.raw("\"_error_code\":")
            w.quoted(outcome.code)
            w.raw(",\"_error_message\":")
            w.quoted(outcome.message)
            w.raw("}")
            response = SimResponse(status: .ok, contentType: SimResponse.html, body: w.bytes)
        case "login/MDCCOMS001D2":
            sessions.logout(cookies["JSESSIONID"])
            response = .text(.ok, "{\"_error_code\":\"CD001\",\"_error_message\":\"로그아웃 되었습니다.\"}", type: SimResponse.json)
        case "holidays/otp":
            response = .text(.ok, otps.issue())
        case "holidays/OPN99000001":
            response = holidays(request.form)
        case _ where route.hasPrefix("openapi/"):
            response = openAPI(request, today: today)
            setCookies.removeAll()
        default:
            response = .text(.notFound, Pages.serverError(404))
        }
        return Decision(route: route, response: response, setCookies: setCookies)
    }

    private func visitorID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<11).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    private func holidays(_ form: [String: String]) -> SimResponse {
        guard otps.isValid(form["code"]) else {
            return .text(.badRequest, Pages.serverError(400))
        }
        let year = Int(form["search_bas_yy"] ?? "") ?? configuration.clock.today.year
        let names = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        let korean = ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"]
        var w = JSONWriter(capacity: 4_096)
        w.raw("{\"block1\":[")
        for (i, day) in market.calendar.weekdayClosures(year: year).enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.raw("\"calnd_dd\":")
            w.quoted(day.iso)
            w.raw(",\"dy_tp_cd\":")
            w.quoted(names[day.weekday - 1])
            w.raw(",\"calnd_dd_dy\":")
            w.quoted(day.iso)
            w.raw(",\"kr_dy_tp\":")
            w.quoted(korean[day.weekday - 1])
            w.raw(",\"holdy_nm\":")
            w.quoted(TradingCalendar.holidayName(day))
            w.raw("}")
        }
        w.raw("]}")
        return SimResponse(status: .ok, contentType: SimResponse.html, body: w.bytes)
    }

    private func openAPI(_ request: SimRequest, today: SimDate) -> SimResponse {
        func error(_ status: HTTPResponseStatus, _ message: String) -> SimResponse {
            var response = SimResponse.text(
                status, "{\"respMsg\":\"\(message)\",\"respCode\":\"\(status.code)\"}", type: SimResponse.json)
            response.compressible = false
            return response
        }
        var key = request.headers.first(name: "AUTH_KEY") ?? request.query["AUTH_KEY"]
        if key == nil, let authorization = request.headers.first(name: "Authorization"),
            authorization.hasPrefix("Bearer ")
        {
            key = String(authorization.dropFirst(7))
        }
        guard let key, let entry = configuration.authKeys.first(where: { $0.key == key }) else {
            return error(.unauthorized, "Unauthorized Key")
        }
        let parts = request.path.split(separator: "/")  // svc, apis, cat, api
        guard parts.count == 4 else { return error(.notFound, "Not Found") }
        let api = "\(parts[2])/\(parts[3])"
        guard OpenAPIScreens.apis.contains(api) else { return error(.notFound, "Not Found") }
        if let approved = entry.approvedAPIs, !approved.contains(String(parts[3])) {
            return error(.unauthorized, "Unauthorized API Call")
        }
        guard quota.take(key: key, day: today, quota: configuration.dailyQuota) else {
            var response = error(.tooManyRequests, "Daily call limit exceeded")
            response.headers.append(("Retry-After", "\(secondsUntilMidnight())"))
            return response
        }
        var basDd = request.query["basDd"]
        if basDd == nil, !request.body.isEmpty,
            let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
        {
            basDd = object["basDd"] as? String
        }
        let screens = OpenAPIScreens(
            market: market, today: today, saturdayRows: configuration.openAPISaturdayRows)
        let body = screens.render(api: api, basDd: basDd) ?? []
        return SimResponse(status: .ok, contentType: SimResponse.json, body: body)
    }

    private func secondsUntilMidnight() -> Int64 {
        let s = configuration.clock.kstSeconds()
        return 86_400 - ((s % 86_400) + 86_400) % 86_400
    }

    // MARK: Control endpoints

    private func control(_ request: SimRequest) -> SimResponse {
        func json(_ text: String, _ status: HTTPResponseStatus = .ok) -> SimResponse {
            var response = SimResponse.text(status, text, type: SimResponse.json)
            response.compressible = false
            return response
        }
        switch (request.method, request.path) {
        case (.GET, "/_sim/health"):
            return json("{\"ok\":true,\"seed\":\(configuration.seed),\"today\":\"\(configuration.clock.today.iso)\"}")
        case (.GET, "/_sim/stats"):
            var response = SimResponse(status: .ok, contentType: SimResponse.json, body: stats.snapshot().json())
            response.compressible = false
            return response
        case (.POST, "/_sim/stats/reset"), (.DELETE, "/_sim/stats"):
            stats.reset()
            return json("{\"ok\":true}")
        case (.GET, "/_sim/faults"):
            let rules = faults.rules.map { "\"\($0.description)\"" }.joined(separator: ",")
            return json("{\"faults\":[\(rules)]}")
        case (.DELETE, "/_sim/faults"), (.POST, "/_sim/faults/clear"):
            faults.clear()
            return json("{\"ok\":true}")
        case (.POST, "/_sim/faults"):
            do {
                let rules = try ControlFaults.parse(request.body)
                for rule in rules { faults.add(rule) }
                return json("{\"ok\":true,\"added\":\(rules.count)}")
            } catch {
                return json("{\"ok\":false,\"error\":\(quotedJSON("\(error)"))}", .badRequest)
            }
        case (.POST, "/_sim/sessions/expire"):
            sessions.expireAll()
            return json("{\"ok\":true}")
        case (.POST, "/_sim/quota/reset"):
            quota.reset()
            return json("{\"ok\":true}")
        default:
            return json("{\"ok\":false,\"error\":\"unknown control endpoint\"}", .notFound)
        }
    }

    private func quotedJSON(_ text: String) -> String {
        var w = JSONWriter(capacity: text.utf8.count + 2)
        w.quoted(text)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// The control endpoint's fault JSON: one object or an array of objects
/// `{"route":"portal/MDCSTAT01501","fault":"error:503","next":2}` (or `"probability":0.25`; neither = always),
/// or `{"spec":"portal=block:403@next=1"}` in the command-line syntax.
enum ControlFaults {
    struct Payload: Decodable {
        var spec: String?
        var route: String?
        var fault: String?
        var next: Int?
        var probability: Double?
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ body: [UInt8]) throws -> [FaultRule] {
        let data = Data(body)
        let decoder = JSONDecoder()
        let payloads: [Payload]
        if let many = try? decoder.decode([Payload].self, from: data) {
            payloads = many
        } else if let one = try? decoder.decode(Payload.self, from: data) {
            payloads = [one]
        } else {
            throw Invalid(description: "expected a JSON object or array of objects with route, fault, next|probability")
        }
        return try payloads.map { payload in
            if let spec = payload.spec { return try FaultRule(spec: spec) }
            guard let fault = payload.fault else { throw Invalid(description: "each fault needs \"fault\" or \"spec\"") }
            let trigger: FaultTrigger
            if let next = payload.next {
                guard next > 0 else { throw Invalid(description: "next must be > 0") }
                trigger = .next(next)
            } else if let p = payload.probability {
                guard (0...1).contains(p) else { throw Invalid(description: "probability must be within 0…1") }
                trigger = .probability(p)
            } else {
                trigger = .always
            }
            return FaultRule(route: payload.route ?? "*", fault: try SimulatedFault(spec: fault), trigger: trigger)
        }
    }
}
