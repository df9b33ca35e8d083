import Synchronization

/// One request the simulator answered (or decided to leave hanging: status 0).
public struct RequestRecord: Sendable, Equatable {
    /// Route name, e.g. `portal/MDCSTAT01501`, `openapi/stk_bydd_trd`, `login/MDCCOMS001D1`.
    public let route: String
    /// Seconds since the simulator started (monotonic), when the request was complete.
    public let at: Double
    /// HTTP status sent; 0 for a hang.
    public let status: Int
}

/// Requests per route with timestamps, so a test can assert how many requests a client made and how fast.
public struct SimulatorStats: Sendable {
    /// Every request in arrival order (the most recent 100,000).
    public let requests: [RequestRecord]

    /// Requests on `route` or, with a prefix such as `portal`, on every route under it.
    public func count(_ route: String = "*") -> Int { matching(route).count }

    /// Arrival times (seconds since start) of requests on `route` (or under a prefix).
    public func timestamps(_ route: String = "*") -> [Double] { matching(route).map(\.at) }

    /// Request count per exact route name.
    public var byRoute: [String: Int] {
        requests.reduce(into: [:]) { $0[$1.route, default: 0] += 1 }
    }

    func matching(_ route: String) -> [RequestRecord] {
        requests.filter { route == "*" || $0.route == route || $0.route.hasPrefix(route + "/") }
    }

    /// The control endpoint's JSON: `{"total":N,"routes":{"route":{"count":n,"timestamps":[…]}},"requests":[…]}`.
    func json() -> [UInt8] {
        // Route names come from client input (the bld), so they are escaped like any JSON string.
        func quoted(_ text: String) -> String {
            var w = JSONWriter(capacity: text.utf8.count + 2)
            w.quoted(text)
            return String(decoding: w.bytes, as: UTF8.self)
        }
        let counts = byRoute
        var times: [String: [String]] = [:]
        for record in requests { times[record.route, default: []].append(format(record.at)) }
        var out = "{\"total\":\(requests.count),\"routes\":{"
        for (i, route) in counts.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            let list = (times[route] ?? []).joined(separator: ",")
            out += "\(quoted(route)):{\"count\":\(counts[route] ?? 0),\"timestamps\":[\(list)]}"
        }
        out += "},\"requests\":["
        out += requests.map { "{\"route\":\(quoted($0.route)),\"at\":\(format($0.at)),\"status\":\($0.status)}" }
            .joined(separator: ",")
        out += "]}"
        return Array(out.utf8)
    }

    private func format(_ seconds: Double) -> String {
        let micros = Int64((seconds * 1_000_000).rounded())
        var w = JSONWriter(capacity: 24)
        w.appendDecimal(micros, scale: 1_000_000, digits: 6, grouping: false)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// Collects request records.
final class StatsRecorder: Sendable {
    private let records = Mutex<[RequestRecord]>([])
    let start = ContinuousClock.now
    static let limit = 100_000

    func elapsed() -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func record(route: String, at: Double, status: Int) {
        records.withLock {
            if $0.count >= Self.limit { $0.removeFirst($0.count - Self.limit + 1) }
            $0.append(RequestRecord(route: route, at: at, status: status))
        }
    }

    func snapshot() -> SimulatorStats { SimulatorStats(requests: records.withLock { $0 }) }
    func reset() { records.withLock { $0.removeAll() } }
}

/// A member account of the data portal.
public struct SimulatorAccount: Sendable, Equatable {
    public var id: String
    public var password: String
    /// KRX forces a password change every three months: login answers `CD010` and no session is created.
    public var passwordChangeRequired: Bool

    public init(id: String, password: String, passwordChangeRequired: Bool = false) {
        self.id = id
        self.password = password
        self.passwordChangeRequired = passwordChangeRequired
    }
}

/// Outcome of `MDCCOMS001D1.cmd`.
enum LoginOutcome: Equatable {
    case success
    case passwordChangeRequired
    case alreadyLoggedIn
    case invalidCredentials

    var code: String {
        switch self {
        case .success: "CD001"
        case .passwordChangeRequired: "CD010"
        case .alreadyLoggedIn: "CD011"
        case .invalidCredentials: "CD002"
        }
    }

    var message: String {
        switch self {
        case .success: "정상"
        case .passwordChangeRequired: "비밀번호 변경이 필요합니다. 비밀번호를 변경해 주세요."
        case .alreadyLoggedIn: "이미 로그인 중인 아이디입니다. 기존 접속을 종료하고 로그인하시겠습니까?"
        case .invalidCredentials: "아이디 또는 비밀번호가 일치하지 않습니다."
        }
    }
}

/// Member sessions: one live session per account (a new login ends the previous one), each valid for a fixed
/// lifetime after login, keyed by the `JSESSIONID` cookie.
final class SessionStore: Sendable {
    private struct Session {
        var account: String
        var expires: ContinuousClock.Instant
    }
    private struct State {
        var sessions: [String: Session] = [:]
        var byAccount: [String: String] = [:]
    }
    private let state = Mutex(State())
    private let accounts: [String: SimulatorAccount]
    private let lifetime: Duration

    init(accounts: [SimulatorAccount], lifetime: Duration) {
        self.accounts = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.lifetime = lifetime
    }

    /// KRX's member number (`MBR_NO`) for an account id: ten digits, stable per id; nil for an unknown account,
    /// whose answer carries only the code and message.
    func memberNumber(_ id: String) -> String? {
        guard accounts[id] != nil else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let digits = String(hash % 1_000_000_000)
        return "2" + String(repeating: "0", count: 9 - digits.count) + digits
    }

    static func newSessionID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        let random = String((0..<48).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        return random + ".bWRjX2RvbWFpbi9tZGNvd2FwMS1tZGNhcHAxMQ=="
    }

    func login(sessionID: String, id: String, password: String, skipDuplicate: Bool) -> LoginOutcome {
        guard let account = accounts[id], account.password == password else { return .invalidCredentials }
        if account.passwordChangeRequired { return .passwordChangeRequired }
        let now = ContinuousClock.now
        return state.withLock { state in
            if let existing = state.byAccount[id], existing != sessionID,
                let session = state.sessions[existing], session.expires > now, !skipDuplicate
            {
                return .alreadyLoggedIn
            }
            if let existing = state.byAccount[id] { state.sessions[existing] = nil }
            state.sessions[sessionID] = Session(account: id, expires: now + lifetime)
            state.byAccount[id] = sessionID
            return .success
        }
    }

    func isValid(_ sessionID: String?) -> Bool {
        guard let sessionID else { return false }
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let session = state.sessions[sessionID] else { return false }
            if session.expires <= now {
                state.sessions[sessionID] = nil
                if state.byAccount[session.account] == sessionID { state.byAccount[session.account] = nil }
                return false
            }
            return true
        }
    }

    func logout(_ sessionID: String?) {
        guard let sessionID else { return }
        state.withLock { state in
            if let session = state.sessions.removeValue(forKey: sessionID),
                state.byAccount[session.account] == sessionID
            {
                state.byAccount[session.account] = nil
            }
        }
    }

    func expireAll() { state.withLock { $0 = State() } }

    var liveSessionCount: Int {
        let now = ContinuousClock.now
        return state.withLock { $0.sessions.values.filter { $0.expires > now }.count }
    }
}

/// An Open API key and the APIs it was approved for (nil = all).
public struct OpenAPIKey: Sendable, Equatable {
    public var key: String
    /// API ids such as `stk_bydd_trd`; a call to another API answers 401 `Unauthorized API Call`.
    public var approvedAPIs: Set<String>?

    public init(_ key: String, approvedAPIs: Set<String>? = nil) {
        self.key = key
        self.approvedAPIs = approvedAPIs
    }
}

/// Calls per key per simulated day.
final class QuotaCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Counts one call; false when the key already used its quota on `day`.
    func take(key: String, day: SimDate, quota: Int) -> Bool {
        counts.withLock { counts in
            let slot = "\(day.compact)|\(key)"
            let used = counts[slot, default: 0]
            guard used < quota else { return false }
            counts[slot] = used + 1
            return true
        }
    }

    func reset() { counts.withLock { $0.removeAll() } }
}

/// One-time passwords handed out by `GenerateOTP.jspx` for the holiday screen.
final class OTPStore: Sendable {
    private let issued = Mutex<[String]>([])

    func issue() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let otp = String((0..<96).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        issued.withLock {
            if $0.count >= 1_000 { $0.removeFirst() }
            $0.append(otp)
        }
        return otp
    }

    func isValid(_ otp: String?) -> Bool {
        guard let otp, !otp.isEmpty else { return false }
        return issued.withLock { $0.contains(otp) }
    }
}
