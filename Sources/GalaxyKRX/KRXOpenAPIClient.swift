import Foundation
import GalaxyCore
import Logging

/// The official KRX Open API (data-dbg.krx.co.kr): prices, the stock master and ETF prices, with `AUTH_KEY`.
///
/// - T-1: a day is published the morning after. Asking for today (Asia/Seoul) or later throws
///   `KRXError.notYetPublished` instead of taking the empty list for a closed day.
/// - Quota: every call (retries included) counts against `OpenAPIQuota` (10,000 per key and day); when it is spent,
///   `fetch` throws `.quotaExhausted` without calling KRX.
/// - Publication: a day's rows appear the morning after (users saw 0 rows at 00:04 and rows later that morning), so
///   an answer without prices is provisional for `recheckDays` after that (`publication(of:)`); the collector keeps
///   such a weekday `pending` instead of settling it `no_session`.
/// - A day is several calls: prices and the master are per market (KOSPI, KOSDAQ, KONEX). A closed day is decided by
///   content, not by an empty list: on weekday holidays KRX answers one row per listed issue with only the identity
///   fields (`BAS_DD`, `ISU_CD`, `ISU_NM`, `LIST_SHRS`, `IDX_IND_NM`) filled and every price `""`. A market whose rows
///   carry no price counts as empty; all empty is a closed day; KOSPI or KOSDAQ empty while another market has
///   prices is a wrong answer. KONEX may be empty on a trading day: it only opened in July 2013 and the API reaches
///   back to 2010.
/// - The master is point-in-time (`basDd`), unlike the portal's snapshot.
public final class KRXOpenAPIClient: KRXSource, @unchecked Sendable {
    public let kind = SourceKind.openapi
    public let datasets: Set<Dataset> = [.stock, .price, .etfPrice]
    public let configuration: KRXClientConfiguration
    public let transport: KRXTransport
    public let quota: OpenAPIQuota
    private let logger: Logger

    public convenience init(
        configuration: KRXClientConfiguration, limiter: RateLimiter, breakerStore: any CircuitBreakerStore, logger: Logger
    ) throws {
        let transport = KRXTransport(
            http: try CurlHTTPClient(configuration: configuration.http), limiter: limiter,
            breaker: CircuitBreaker(source: .openapi, store: breakerStore, openDuration: configuration.breakerDuration),
            retry: configuration.retry, logger: logger)
        self.init(
            configuration: configuration, transport: transport,
            quota: OpenAPIQuota(limit: configuration.quotaLimit, path: configuration.quotaFile), logger: logger)
    }

    public init(configuration: KRXClientConfiguration, transport: KRXTransport, quota: OpenAPIQuota, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.quota = quota
        var logger = logger
        logger[metadataKey: "source"] = "openapi"
        self.logger = logger
    }

    /// How many days after its publication morning an answer without prices for a weekday is still re-checked.
    /// Well inside the daily run's healing window (14 days), so the last re-check happens there.
    public static let recheckDays = 5

    public func breakerState() throws -> BreakerState? { try transport.breaker.state() }

    /// Not published before the next day (`date` ≥ today in Asia/Seoul); provisional until `recheckDays` after the
    /// publication morning; final after that.
    public func publication(of date: TradeDate) -> DayPublication {
        let age = configuration.today().daysSinceEpoch - date.daysSinceEpoch
        if age < 1 { return .notYet }
        return age <= 1 + Self.recheckDays ? .provisional(until: date.adding(days: 1 + Self.recheckDays)) : .final
    }

    public var requestsSent: Int { transport.requestsSent }
    public var requestErrors: [RequestErrorKind: Int] { transport.requestErrors }

    public func fetch(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch {
        try logger.loggingFailedDay(dataset, date) { try fetchDay(dataset, on: date) }
    }

    private func fetchDay(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch {
        guard let endpoints = OpenAPIEndpoint.endpoints(for: dataset) else {
            throw KRXError.unsupported(dataset: dataset, source: .openapi)
        }
        guard let key = configuration.credentials.authKey else {
            throw KRXError.missingCredentials(variable: "KRX_AUTH_KEY")
        }
        let today = configuration.today()
        guard date < today else { throw KRXError.notYetPublished(date: date, firstDate: date.next) }

        let metadata: Logger.Metadata = ["dataset": "\(dataset.rawValue)", "date": "\(date.iso)"]
        let started = wallClock()
        var parts: [(endpoint: OpenAPIEndpoint, rows: DayRows)] = []
        for endpoint in endpoints {
            let rows: DayRows = try call(endpoint, date: date, key: key, metadata: metadata) { body throws(KRXError) in
                switch dataset {
                case .price: .prices(try KRXOpenAPIParser.prices(body, endpoint: endpoint, date: date))
                case .stock: .stocks(try KRXOpenAPIParser.stocks(body, endpoint: endpoint))
                default: .etfPrices(try KRXOpenAPIParser.etfPrices(body, date: date))
                }
            }
            parts.append((endpoint, rows))
        }
        let result = try Self.combine(parts, dataset: dataset, date: date)
        var done = metadata
        if case .rows(let rows) = result { done["rows"] = "\(rows.count)" }
        done["seconds"] = "\(String(format: "%.2f", wallClock() - started))"
        logger.info(result.status == .noSession ? "KRX day: no session" : "KRX day fetched", metadata: done)
        return result
    }

    private func call<T>(
        _ endpoint: OpenAPIEndpoint, date: TradeDate, key: Secret, metadata: Logger.Metadata,
        parse: @escaping ([UInt8]) throws(KRXError) -> T
    ) throws -> T {
        let request = HTTPRequest(
            method: .get, url: "\(configuration.openAPIURL)/svc/apis/\(endpoint.rawValue)?basDd=\(date.compact)",
            headers: [("User-Agent", configuration.userAgent), ("Accept", "application/json"),
                      ("AUTH_KEY", key.revealed)])
        var metadata = metadata
        metadata["api"] = "\(endpoint.rawValue)"
        do {
            return try transport.send(
                request, what: endpoint.rawValue, metadata: metadata, beforeAttempt: { try quota.consume() }
            ) { response in try parse(response.body) }
        } catch KRXError.loggedOut {
            throw KRXError.unexpectedResponse(reason: "\(endpoint.rawValue) answered LOGOUT")
        } catch KRXError.http(status: 429, _) {
            // KRX's own count of the daily calls ran out before ours (another client on the same key).
            throw KRXError.quotaExhausted(limit: quota.limit)
        }
    }

    /// Joins the markets' answers into one day (see the type's documentation for the closed-day rule).
    static func combine(_ parts: [(endpoint: OpenAPIEndpoint, rows: DayRows)], dataset: Dataset, date: TradeDate)
        throws -> DayFetch
    {
        // A market's rows without any price are its closed-day answer: they are not stored.
        let parts = parts.map { part in
            (endpoint: part.endpoint, rows: hasSession(part.rows) ? part.rows : part.rows.emptied)
        }
        if parts.allSatisfy({ $0.rows.count == 0 }) { return .noSession }
        for part in parts where part.rows.count == 0 && part.endpoint.marketID != "KNX" {
            let others = parts.filter { $0.rows.count > 0 }.map(\.endpoint.rawValue).joined(separator: ", ")
            throw KRXError.unexpectedResponse(
                reason: "\(part.endpoint.rawValue): no rows with prices for \(date.iso) while \(others) had them")
        }
        switch dataset {
        case .price:
            var all: [PriceRow] = []
            for part in parts { if case .prices(let rows) = part.rows { all += rows } }
            try KRXJSON.checkUnique(all.map(\.ticker), screen: "Open API prices")
            return .rows(.prices(all))
        case .stock:
            var all: [StockRow] = []
            for part in parts { if case .stocks(let rows) = part.rows { all += rows } }
            try KRXJSON.checkUnique(all.map(\.ticker), screen: "Open API stock master")
            return .rows(.stocks(all))
        default:
            var all: [ETFPriceRow] = []
            for part in parts { if case .etfPrices(let rows) = part.rows { all += rows } }
            return .rows(.etfPrices(all))
        }
    }

    /// Whether one market's answer shows a session: some row carries a price (open, high, low or close). The master
    /// has no prices: any listing counts.
    static func hasSession(_ rows: DayRows) -> Bool {
        switch rows {
        case .prices(let rows): rows.contains { $0.close != nil || $0.open != nil || $0.high != nil || $0.low != nil }
        case .etfPrices(let rows):
            rows.contains { $0.close != nil || $0.open != nil || $0.high != nil || $0.low != nil }
        default: rows.count > 0
        }
    }
}

extension DayRows {
    /// The same kind of rows, none of them.
    var emptied: DayRows {
        switch self {
        case .stocks: .stocks([])
        case .sectors: .sectors([])
        case .prices: .prices([])
        case .valuations: .valuations([])
        case .etfs: .etfs([])
        case .etfPrices: .etfPrices([])
        }
    }
}
