import Foundation

/// The simulator's wall clock in Asia/Seoul: decides "today" (data never goes past it) and `CURRENT_DATETIME`.
///
/// Injectable so a test (or `krx-sim --today`) gets byte-identical bodies: with a fixed clock even the timestamp in
/// every portal answer is fixed.
public struct SimulatorClock: Sendable {
    /// Seconds since 1970-01-01 00:00 in Korean Standard Time (UTC+9, no DST).
    let kstSeconds: @Sendable () -> Int64

    /// The real clock.
    public static let system = SimulatorClock { Int64(Date().timeIntervalSince1970) + 9 * 3600 }

    /// A clock that always reads `date` at `hour:minute:second` KST (default 18:30:00, after the day's data is
    /// final).
    public static func fixed(_ date: SimDate, hour: Int = 18, minute: Int = 30, second: Int = 0) -> SimulatorClock {
        let value = Int64(date.dayNumber) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return SimulatorClock { value }
    }

    /// The current date in Seoul.
    public var today: SimDate {
        let s = kstSeconds()
        return SimDate(dayNumber: Int((s >= 0 ? s : s - 86_399) / 86_400))
    }

    /// `YYYY.MM.DD AM|PM hh:mm:ss`, KRX's `CURRENT_DATETIME`.
    var currentDateTime: String {
        let s = kstSeconds()
        let day = SimDate(dayNumber: Int((s >= 0 ? s : s - 86_399) / 86_400))
        let secondsOfDay = Int(s - Int64(day.dayNumber) * 86_400)
        let hour = secondsOfDay / 3600
        let minute = secondsOfDay / 60 % 60
        let second = secondsOfDay % 60
        let hour12 = hour % 12 == 0 ? 12 : hour % 12
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(day.format(separator: ".")) \(hour < 12 ? "AM" : "PM") \(two(hour12)):\(two(minute)):\(two(second))"
    }
}

/// Everything a simulator instance needs; every member has a default suitable for tests and the demo.
public struct SimulatorConfiguration: Sendable {
    /// Seed of the synthetic market: same seed and request → byte-identical body.
    public var seed: UInt64
    /// Address to bind (loopback by default: the simulator is a test tool).
    public var host: String
    /// Port to bind; 0 picks a free port (read it back from `KRXSimulator.baseURL`).
    public var port: Int
    /// When true, portal data calls without a live member session answer HTTP 400 `LOGOUT` (KRX since 2026-02).
    public var requireLogin: Bool
    /// Member accounts for the login flow.
    public var accounts: [SimulatorAccount]
    /// Accepted Open API keys.
    public var authKeys: [OpenAPIKey]
    /// Open API calls per key per (simulated) day; KRX allows 10,000.
    public var dailyQuota: Int
    /// How long a member session lives after login.
    public var sessionLifetime: Duration
    /// The simulator's clock (Asia/Seoul).
    public var clock: SimulatorClock
    /// Faults in force from the start.
    public var faults: [FaultRule]
    /// Listed shares (rows of the whole-market screen) at the end of the calibrated history; every year's listing
    /// counts scale with it (2,900 is KRX's size, docs/krx-sim.md).
    public var stockCount: Int
    /// Listed ETFs at the end of the calibrated history (1,100 is KRX's size); ETNs and ELWs scale with the
    /// market too.
    public var etfCount: Int
    /// Whether the Open API answers a Saturday like a weekday holiday (one `""` row per listed issue) instead of an
    /// empty list: reports from Open API users disagree, so both are simulated. Sundays are always empty.
    public var openAPISaturdayRows: Bool = false
    /// Event-loop threads.
    public var threads: Int
    /// Receives one line per request (method, path without query, route, status, bytes, milliseconds). Never
    /// passwords or keys.
    public var log: (@Sendable (String) -> Void)?

    public init(
        seed: UInt64 = 1,
        host: String = "127.0.0.1",
        port: Int = 0,
        requireLogin: Bool = false,
        accounts: [SimulatorAccount] = [SimulatorAccount(id: "demo", password: "demo-password")],
        authKeys: [OpenAPIKey] = [OpenAPIKey("demo-auth-key")],
        dailyQuota: Int = 10_000,
        sessionLifetime: Duration = .seconds(3600),
        clock: SimulatorClock = .system,
        faults: [FaultRule] = [],
        stockCount: Int = Calibration.defaultStocks,
        etfCount: Int = Calibration.defaultETFs,
        threads: Int = 2,
        log: (@Sendable (String) -> Void)? = nil
    ) {
        self.seed = seed
        self.host = host
        self.port = port
        self.requireLogin = requireLogin
        self.accounts = accounts
        self.authKeys = authKeys
        self.dailyQuota = dailyQuota
        self.sessionLifetime = sessionLifetime
        self.clock = clock
        self.faults = faults
        self.stockCount = stockCount
        self.etfCount = etfCount
        self.threads = threads
        self.log = log
    }

    /// Convenience: a fixed "today" (18:30 KST), which makes every body — `CURRENT_DATETIME` included —
    /// deterministic.
    public init(seed: UInt64 = 1, today: SimDate, requireLogin: Bool = false) {
        self.init(seed: seed, requireLogin: requireLogin, clock: .fixed(today))
    }
}
