import Foundation
import GalaxyCore
import Logging

/// One (dataset, day) as the source answered it.
public enum DayFetch: Sendable {
    /// Rows to store (never empty).
    case rows(DayRows)
    /// No row of the answer carries a price (the portal's "-" rows, the Open API's empty list or `""` rows): the
    /// market did not trade, or — for a provisional answer (`DayPublication`) — the day is not published yet.
    case noSession

    /// The ledger status this outcome records.
    public var status: DayStatus {
        switch self {
        case .rows: .collected
        case .noSession: .noSession
        }
    }
}

/// Whether a source's answer for a day can be taken as final.
public enum DayPublication: Sendable, Equatable {
    /// Not published yet: not worth a request (the Open API before the morning after the day).
    case notYet
    /// Published, but an answer without prices may still be premature until the end of `until`.
    case provisional(until: TradeDate)
    /// Whatever the source answers is its final word.
    case final
}

/// A KRX source that answers per (dataset, day). Both clients are synchronous: `fetch` blocks the calling thread
/// (rate limiter sleeps, HTTP, retries) and belongs in a collector process's own thread, never on Swift's
/// cooperative pool.
public protocol KRXSource: AnyObject, Sendable {
    var kind: SourceKind { get }
    /// The datasets this source publishes.
    var datasets: Set<Dataset> { get }
    /// Fetches and strictly parses one dataset for one day.
    ///
    /// - Throws: `KRXError`; every error means a failed day, with the error's description as the ledger's reason.
    func fetch(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch
    /// The circuit breaker's state for `status`: nil when closed.
    func breakerState() throws -> BreakerState?
    /// HTTP requests sent so far by this client (every attempt and login step).
    var requestsSent: Int { get }
    /// Attempts that did not yield a usable answer, by kind (the metrics' error counts).
    var requestErrors: [RequestErrorKind: Int] { get }
    /// Whether an answer for `date` is final (the portal's always is; the Open API publishes a day the next morning).
    func publication(of date: TradeDate) -> DayPublication
}

extension KRXSource {
    public func publication(of date: TradeDate) -> DayPublication { .final }
}

extension Logger {
    /// Runs one day's fetch; a failure is logged with the dataset, the date and the reason, then rethrown.
    func loggingFailedDay<T>(_ dataset: Dataset, _ date: TradeDate, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            warning(
                "KRX day failed",
                metadata: ["dataset": "\(dataset.rawValue)", "date": "\(date.iso)", "reason": "\(error)"])
            throw error
        }
    }
}

/// Settings shared by both clients; `init(configuration:environment:)` derives them from galaxy's configuration.
public struct KRXClientConfiguration: Sendable {
    public var portalURL: String
    public var openAPIURL: String
    public var credentials: KRXCredentials
    public var http: HTTPClientConfiguration
    public var retry: RetryPolicy
    /// A member session is renewed (fresh login) when it is older than this. pykrx assumes one hour and renews five
    /// minutes early; KRX does not publish the server-side timeout.
    public var sessionLifetime: TimeInterval
    /// How long a block page closes the source.
    public var breakerDuration: TimeInterval
    /// `User-Agent` sent to both sources (a current desktop browser, as the portal serves browsers).
    public var userAgent: String
    public var quotaLimit: Int
    /// Shared Open API call counter (`GALAXY_OPENAPI_QUOTA_FILE`); nil counts in memory.
    public var quotaFile: String?
    /// The member session shared by every collector of one galaxyd (`GALAXY_SESSION_FILE`); nil keeps the session
    /// in this process. KRX allows one session per account: collectors that logged in separately would end each
    /// other's sessions (a LOGOUT storm), so galaxyd's children take turns through this file.
    public var sessionFile: String?
    /// Today in Asia/Seoul; injectable so tests and the simulator can agree on "today" (the Open API's T-1 rule).
    public var today: @Sendable () -> TradeDate

    public static let browserUserAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    public init(
        portalURL: String, openAPIURL: String, credentials: KRXCredentials = KRXCredentials(),
        http: HTTPClientConfiguration = HTTPClientConfiguration(), retry: RetryPolicy = RetryPolicy(),
        sessionLifetime: TimeInterval = 55 * 60, breakerDuration: TimeInterval = CircuitBreaker.defaultOpenDuration,
        userAgent: String = Self.browserUserAgent, quotaLimit: Int = OpenAPIQuota.defaultLimit,
        quotaFile: String? = nil, sessionFile: String? = nil,
        today: @escaping @Sendable () -> TradeDate = { KRXClock.today() }
    ) {
        self.portalURL = Self.trimmed(portalURL)
        self.openAPIURL = Self.trimmed(openAPIURL)
        self.credentials = credentials
        self.http = http
        self.retry = retry
        self.sessionLifetime = sessionLifetime
        self.breakerDuration = breakerDuration
        self.userAgent = userAgent
        self.quotaLimit = quotaLimit
        self.quotaFile = quotaFile
        self.sessionFile = sessionFile
        self.today = today
    }

    /// From galaxy's configuration (URLs, credentials) and the environment galaxyd gives its children
    /// (`GALAXY_OPENAPI_QUOTA_FILE`, `GALAXY_SESSION_FILE`).
    public init(configuration: GalaxyConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(
            portalURL: configuration.portalURL, openAPIURL: configuration.openAPIURL,
            credentials: configuration.credentials,
            quotaFile: environment["GALAXY_OPENAPI_QUOTA_FILE"].flatMap { $0.isEmpty ? nil : $0 },
            sessionFile: environment["GALAXY_SESSION_FILE"].flatMap { $0.isEmpty ? nil : $0 })
    }

    private static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

/// Builds the source galaxy's configuration chooses for a dataset.
public enum KRXSources {
    /// The client for `dataset` per `GALAXY_SOURCE` and its per-dataset overrides, with the process-wide limiter
    /// (`GALAXY_RATE`, `GALAXY_RATE_FILE`) and the given breaker store.
    public static func make(
        for dataset: Dataset, configuration: GalaxyConfiguration, breakerStore: any CircuitBreakerStore,
        logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> any KRXSource {
        let clientConfiguration = KRXClientConfiguration(configuration: configuration, environment: environment)
        let limiter = RateLimiter.fromEnvironment(rate: configuration.rate, environment: environment)
        switch configuration.source(for: dataset) {
        case .portal:
            return try KRXPortalClient(
                configuration: clientConfiguration, limiter: limiter, breakerStore: breakerStore, logger: logger)
        case .openapi:
            return try KRXOpenAPIClient(
                configuration: clientConfiguration, limiter: limiter, breakerStore: breakerStore, logger: logger)
        }
    }
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are, space as `+`, everything else
/// percent-encoded as UTF-8 bytes (the password is sent exactly as typed, whatever it contains).
enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "*"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                result.append("+")
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                result.append("%")
                result.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                result.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return result
    }
}
