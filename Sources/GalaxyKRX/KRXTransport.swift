import Foundation
import GalaxyCore
import Logging

/// How often and how patiently a request is retried.
///
/// Retried: timeouts and other transport failures, HTTP 5xx, 429 (after `Retry-After`), an HTML page where JSON was
/// expected (maintenance), and malformed or truncated JSON. Never retried: block pages (the breaker opens), `LOGOUT`
/// (the portal client logs in once), authentication errors and a well-formed answer of the wrong shape.
public struct RetryPolicy: Sendable {
    /// Attempts in total, the first included.
    public var maxAttempts: Int
    /// The backoff before the second attempt; it doubles per attempt up to `maxDelay`.
    public var baseDelay: Double
    public var maxDelay: Double
    /// A `Retry-After` longer than this is not waited for: the request fails and a later run tries again.
    public var maxRetryAfter: Double

    public init(maxAttempts: Int = 4, baseDelay: Double = 2, maxDelay: Double = 60, maxRetryAfter: Double = 300) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay)
        self.maxRetryAfter = max(0, maxRetryAfter)
    }

    /// The wait after failed attempt `attempt` (1-based): exponential, with "equal jitter" (half fixed, half random)
    /// so that several processes that failed together do not come back together.
    public func backoff(afterAttempt attempt: Int) -> Double {
        let exponential = baseDelay * pow(2, Double(max(0, attempt - 1)))
        let capped = min(maxDelay, exponential)
        return capped / 2 + Double.random(in: 0...(capped / 2))
    }
}

/// What a response means, before any parsing (krx-wire §4.3).
enum ResponseClass: Equatable {
    /// A 2xx answer of the expected kind; the caller parses it.
    case usable
    /// `LOGOUT`: the portal wants a (new) member session.
    case loggedOut
    /// A block or outage page: open the breaker, never retry.
    case blocked(reason: String)
    /// Worth another attempt, after `after` seconds if the server said so.
    case retry(reason: String, after: Double?)
    /// Final.
    case failure(KRXError)

    /// Markers of KRX's block and outage pages (kospi-kosdaq-stock-server's `BLOCK_MARKERS`).
    static let blockMarkers = ["에러페이지", "Service unavailable", "temporary access instability", "일시적인 접속 불안정"]

    /// Classifies `response` to a request for `what` (a screen or endpoint) that expects JSON, or an HTML page.
    static func of(_ response: HTTPResponse, what: String, url: String, expectsJSON: Bool) -> ResponseClass {
        let status = response.status
        let head = String(decoding: response.body.prefix(65_536), as: UTF8.self)
        let trimmed = head.krxTrimmed
        let looksLikeJSON = trimmed.hasPrefix("{") || trimmed.hasPrefix("[")
        // KRX serves its block and outage pages with 403 or 200 (krx-wire §4.3). A marker under another status (a
        // proxy's 503 page) is handled by its status: retried, not a day-long stop.
        if !looksLikeJSON, status == 403 || (200..<300).contains(status),
            let marker = blockMarkers.first(where: { head.contains($0) })
        {
            return .blocked(reason: "block page (\"\(marker)\") with HTTP \(status) for \(what)")
        }
        if trimmed == "LOGOUT" { return .loggedOut }
        switch status {
        case 200..<300:
            if expectsJSON, !looksLikeJSON {
                if trimmed.isEmpty { return .retry(reason: "\(what): empty body with HTTP \(status)", after: nil) }
                return .retry(reason: "\(what): HTML instead of JSON: \(KRXJSON.excerpt(response.body))", after: nil)
            }
            return .usable
        case 429:
            let after = response.header("Retry-After").flatMap(parseRetryAfter)
            return .retry(reason: "\(what): HTTP 429 (rate limited)", after: after)
        case 500..<600:
            return .retry(reason: "\(what): HTTP \(status)", after: response.header("Retry-After").flatMap(parseRetryAfter))
        case 401:
            return .failure(authenticationError(response, what: what))
        default:
            return .failure(.http(status: status, url: CurlHTTPClient.redacted(url)))
        }
    }

    /// The Open API's 401 body: `{"respMsg":"Unauthorized Key","respCode":"401"}`.
    static func authenticationError(_ response: HTTPResponse, what: String) -> KRXError {
        let object = KRXJSON.parse(response.body)
        let code = object?["respCode"]?.stringValue ?? "401"
        var message = object?["respMsg"]?.stringValue ?? "HTTP 401 for \(what)"
        if message == "Unauthorized Key" {
            message += ": KRX_AUTH_KEY is wrong or expired (keys are valid for one year; renew it on openapi.krx.co.kr)"
        } else if message == "Unauthorized API Call" {
            message += ": the key is not approved for \(what); apply for this API on openapi.krx.co.kr"
        }
        return .authenticationFailed(code: code, message: message)
    }

    /// `Retry-After` as delta-seconds or an HTTP date.
    static func parseRetryAfter(_ text: String) -> Double? {
        let trimmed = text.krxTrimmed
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }
}

/// The path every request to one source takes: breaker check, rate limiter, libcurl, classification, retries.
///
/// One transport belongs to one client (one source, one reused curl handle); the limiter and the breaker store may be
/// shared with other transports and, through their files or the database, with other processes.
public final class KRXTransport: Sendable {
    public let http: CurlHTTPClient
    public let limiter: RateLimiter
    public let breaker: CircuitBreaker
    public let retry: RetryPolicy
    let logger: Logger
    private let sent = LockedValue(0)

    private let failures = LockedValue<[RequestErrorKind: Int]>([:])

    /// Requests sent so far (every attempt, logins included): the `requests` of `CollectorProgress`.
    public var requestsSent: Int { sent.withLock { $0 } }

    /// Attempts that did not yield a usable answer so far, by kind: the `requestErrors` of `CollectorProgress`.
    public var requestErrors: [RequestErrorKind: Int] { failures.withLock { $0 } }

    /// Counts a failed attempt that only the caller can recognise (a login refused in a well-formed answer).
    func countFailure(_ kind: RequestErrorKind) { failures.withLock { $0[kind, default: 0] += 1 } }

    /// What kind of failed attempt `error` stands for.
    static func kind(of error: KRXError) -> RequestErrorKind {
        switch error {
        case .transport(let message): CurlHTTPClient.isTimeout(message) ? .timeout : .transport
        case .http(let status, _):
            switch status {
            case 429: .rateLimited
            case 500..<600: .serverError
            default: .httpStatus
            }
        case .unexpectedResponse: .malformed
        case .blocked: .blocked
        case .loggedOut: .loggedOut
        case .authenticationFailed, .passwordChangeRequired: .authentication
        case .missingCredentials, .quotaExhausted, .unsupported, .notYetPublished: .transport
        }
    }

    public init(http: CurlHTTPClient, limiter: RateLimiter, breaker: CircuitBreaker, retry: RetryPolicy, logger: Logger) {
        self.http = http
        self.limiter = limiter
        self.breaker = breaker
        self.retry = retry
        self.logger = logger
    }

    /// Sends `request` until it yields a usable answer that `parse` accepts, within the retry policy.
    ///
    /// - Throws: `KRXError.loggedOut` for a `LOGOUT` answer (the caller decides about logging in),
    ///   `.blocked` when the breaker is or becomes open, `.authenticationFailed`/`.http` for final statuses, and
    ///   the last transient error when the attempts are spent.
    func send<T>(
        _ request: HTTPRequest, what: String, expectsJSON: Bool = true, metadata: Logger.Metadata = [:],
        beforeAttempt: () throws -> Void = {}, parse: (HTTPResponse) throws -> T
    ) throws -> T {
        var lastError = KRXError.transport("no attempt was made")
        for attempt in 1...retry.maxAttempts {
            try breaker.check()
            try beforeAttempt()
            try limiter.acquire()
            let started = wallClock()
            sent.withLock { $0 += 1 }
            let response: HTTPResponse
            do {
                response = try http.perform(request)
            } catch let error as KRXError {
                countFailure(Self.kind(of: error))
                lastError = error
                try pause(after: attempt, what: what, reason: error.description, retryAfter: nil, metadata: metadata)
                continue
            }
            let elapsed = wallClock() - started
            logger.debug(
                "KRX response",
                metadata: metadata.merging(
                    ["what": "\(what)", "status": "\(response.status)", "bytes": "\(response.body.count)",
                     "seconds": "\(String(format: "%.3f", elapsed))", "attempt": "\(attempt)"]) { $1 })
            switch ResponseClass.of(response, what: what, url: request.url, expectsJSON: expectsJSON) {
            case .usable:
                do {
                    return try parse(response)
                } catch let error as KRXError {
                    countFailure(.malformed)
                    // A body that is not even JSON (truncated, garbled) is worth another attempt; a well-formed body
                    // of the wrong shape is not: asking again gives the same answer.
                    guard expectsJSON, !KRXJSON.isJSON(response.body) else {
                        throw error
                    }
                    lastError = error
                    try pause(after: attempt, what: what, reason: error.description, retryAfter: nil, metadata: metadata)
                }
            case .loggedOut:
                countFailure(.loggedOut)
                throw KRXError.loggedOut
            case .blocked(let reason):
                countFailure(.blocked)
                let error = breaker.trip(reason: reason)
                logger.critical(
                    "KRX block page: circuit breaker opened, no request to this source until it expires",
                    metadata: metadata.merging(["what": "\(what)", "reason": "\(reason)"]) { $1 })
                throw error
            case .retry(let reason, let after):
                lastError = response.status >= 300
                    ? .http(status: response.status, url: CurlHTTPClient.redacted(request.url))
                    : .unexpectedResponse(reason: reason)
                countFailure(Self.kind(of: lastError))
                if let after, after > retry.maxRetryAfter {
                    // Not worth holding a collector for (the Open API's daily limit says "come back at midnight").
                    logger.warning(
                        "KRX asks to come back later than galaxy waits",
                        metadata: metadata.merging(["what": "\(what)", "retryAfter": "\(Int(after))"]) { $1 })
                    throw lastError
                }
                try pause(after: attempt, what: what, reason: reason, retryAfter: after, metadata: metadata)
            case .failure(let error):
                countFailure(Self.kind(of: error))
                throw error
            }
        }
        throw lastError
    }

    /// Waits before the next attempt, or throws `lastError` when there is none left (the caller's loop ends).
    private func pause(
        after attempt: Int, what: String, reason: String, retryAfter: Double?, metadata: Logger.Metadata
    ) throws {
        guard attempt < retry.maxAttempts else {
            logger.warning(
                "KRX request failed, attempts spent",
                metadata: metadata.merging(["what": "\(what)", "reason": "\(reason)", "attempts": "\(attempt)"]) { $1 })
            return
        }
        let delay = max(retryAfter ?? 0, retry.backoff(afterAttempt: attempt)); 
        logger.warning(
            "KRX request failed, retrying",
            metadata: metadata.merging(
                ["what": "\(what)", "reason": "\(reason)", "attempt": "\(attempt)",
                 "delay": "\(String(format: "%.2f", delay))"]) { $1 })
        sleepFor(delay)
    }
}

/// The Open API's daily call budget (10,000 per key and day, counted from midnight Asia/Seoul).
///
/// Counted in memory, or — when several processes share one key — in a small file under `flock`
/// (`GALAXY_OPENAPI_QUOTA_FILE`). The count is galaxy's own: KRX does not report it, so the limit stops galaxy before
/// KRX would suspend the key.
public final class OpenAPIQuota: Sendable {
    public let limit: Int
    public let path: String?
    private let memory = LockedValue<(day: Int, count: Int)>((0, 0))

    public static let defaultLimit = 10_000

    public init(limit: Int = defaultLimit, path: String? = nil) {
        self.limit = limit
        self.path = path
    }

    /// Counts one call, or throws `.quotaExhausted` if today's budget is spent.
    public func consume(now: Double? = nil) throws {
        let day = KRXClock.seoulDay(epochSeconds: now ?? wallClock()).daysSinceEpoch
        let limit = limit
        func next(_ stored: (day: Int, count: Int)) throws -> (day: Int, count: Int) {
            let count = stored.day == day ? stored.count : 0
            guard count < limit else { throw KRXError.quotaExhausted(limit: limit) }
            return (day, count + 1)
        }
        if let path {
            try LockedStateFile(path: path).update { text in
                let parts = text.split(separator: " ").compactMap { Int($0) }
                let stored = parts.count == 2 ? (day: parts[0], count: parts[1]) : (day: 0, count: 0)
                let updated = try next(stored)
                return ((), "\(updated.day) \(updated.count)")
            }
        } else {
            try memory.withLock { $0 = try next($0) }
        }
    }

    /// Calls counted today.
    public func used(now: Double? = nil) -> Int {
        let day = KRXClock.seoulDay(epochSeconds: now ?? wallClock()).daysSinceEpoch
        if let path {
            let text = GalaxyConfiguration.readSmallFile(path)?.krxTrimmed ?? ""
            let parts = text.split(separator: " ").compactMap { Int($0) }
            return parts.count == 2 && parts[0] == day ? parts[1] : 0
        }
        return memory.withLock { $0.day == day ? $0.count : 0 }
    }
}

/// The exchange's calendar day. Korea has kept UTC+9 without daylight saving since 1988, so a fixed offset is exact.
public enum KRXClock {
    public static func seoulDay(epochSeconds: Double) -> TradeDate {
        TradeDate(daysSinceEpoch: Int(((epochSeconds + 9 * 3600) / 86_400).rounded(.down)))
    }

    /// Today in Asia/Seoul.
    public static func today() -> TradeDate { seoulDay(epochSeconds: wallClock()) }
}
