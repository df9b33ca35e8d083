/// `galaxy-collector`'s exit statuses: the contract between a collector child and the supervisor that decides
/// whether to retry it. Values follow sysexits(3) where one fits, so they also read well in `systemctl status`.
public enum CollectorExitCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Every requested day is `collected` or `no_session`.
    case success = 0
    /// Some days failed (recorded `failed` in the ledger with their reason); the others are stored. Worth a retry.
    case partialFailure = 1
    /// The command line was wrong (unknown dataset, bad date).
    case usage = 64
    /// The source refused us: a block page opened the circuit breaker, or it is still open. Retrying makes it worse.
    case sourceBlocked = 69
    /// A bug: an unexpected internal error.
    case internalError = 70
    /// A temporary condition (the database went away mid-run). Worth a retry.
    case temporaryFailure = 75
    /// The source rejected our credentials (wrong password, password change due, bad auth key).
    case authenticationFailed = 77
    /// The configuration is unusable (a variable has a bad value, credentials are missing).
    case configuration = 78

    /// Whether running the same task again could succeed without an operator doing something first.
    public var isRetryable: Bool {
        switch self {
        case .partialFailure, .internalError, .temporaryFailure: true
        case .success, .usage, .sourceBlocked, .authenticationFailed, .configuration: false
        }
    }

    public var description: String {
        switch self {
        case .success: "success"
        case .partialFailure: "some days failed"
        case .usage: "usage error"
        case .sourceBlocked: "source blocked (circuit breaker open)"
        case .internalError: "internal error"
        case .temporaryFailure: "temporary failure"
        case .authenticationFailed: "authentication failed"
        case .configuration: "bad configuration"
        }
    }
}

/// Why a request to KRX did not yield a usable answer, as the metrics count it (`galaxy_krx_request_errors_total`).
///
/// Counted per attempt, so a timeout that a retry cured still counts: the counts say how healthy the source is, the
/// ledger says what became of the days.
public enum RequestErrorKind: String, Sendable, CaseIterable, Comparable {
    /// libcurl gave up waiting (curl error 28).
    case timeout
    /// Another transport failure: connect, TLS, a truncated or oversized body.
    case transport
    /// HTTP 5xx.
    case serverError = "http_5xx"
    /// HTTP 429.
    case rateLimited = "http_429"
    /// Another HTTP status that is neither data nor one of KRX's known answers.
    case httpStatus = "http_other"
    /// A body that is not what the screen sends: HTML for JSON, empty, garbled, or of the wrong shape.
    case malformed
    /// A block or outage page (the circuit breaker opens).
    case blocked
    /// `LOGOUT`: the member session was gone.
    case loggedOut = "logged_out"
    /// Credentials or key refused.
    case authentication

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The notify-protocol extension a collector child uses to report progress to galaxyd, in the same datagram style
/// as `STATUS=`: `X_GALAXY_PROGRESS=daysDone/daysFailed/daysTotal/rows/requests[/kind:count,kind:count]`, the last
/// part the failed request attempts by ``RequestErrorKind`` (absent when there were none).
public struct CollectorProgress: Sendable, Equatable, CustomStringConvertible {
    public static let key = "X_GALAXY_PROGRESS"
    /// Larger counts are a garbled datagram, not progress: refused, so galaxyd's sums can never overflow.
    static let plausibleCount = 1 << 48

    public var daysDone: Int
    public var daysFailed: Int
    public var daysTotal: Int
    public var rows: Int
    public var requests: Int
    /// Failed request attempts by kind, so far.
    public var requestErrors: [RequestErrorKind: Int]

    public init(
        daysDone: Int = 0, daysFailed: Int = 0, daysTotal: Int = 0, rows: Int = 0, requests: Int = 0,
        requestErrors: [RequestErrorKind: Int] = [:]
    ) {
        self.daysDone = daysDone
        self.daysFailed = daysFailed
        self.daysTotal = daysTotal
        self.rows = rows
        self.requests = requests
        self.requestErrors = requestErrors
    }

    /// Parses the value part (`3/0/10/8400/4` or `3/0/10/8400/4/timeout:1`); nil when malformed.
    public init?(value: some StringProtocol) {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5 || parts.count == 6 else { return nil }
        let numbers = parts.prefix(5).compactMap { Int($0) }
        guard numbers.count == 5, numbers.allSatisfy({ (0...Self.plausibleCount).contains($0) }) else { return nil }
        var errors: [RequestErrorKind: Int] = [:]
        if parts.count == 6 {
            for pair in parts[5].split(separator: ",") {
                let fields = pair.split(separator: ":")
                guard fields.count == 2, let kind = RequestErrorKind(rawValue: String(fields[0])), errors[kind] == nil,
                    let count = Int(fields[1]), (0...Self.plausibleCount).contains(count)
                else { return nil }
                errors[kind] = count
            }
        }
        self.init(daysDone: numbers[0], daysFailed: numbers[1], daysTotal: numbers[2], rows: numbers[3],
                  requests: numbers[4], requestErrors: errors)
    }

    /// The value part, for `X_GALAXY_PROGRESS=…`.
    public var value: String {
        let counts = "\(daysDone)/\(daysFailed)/\(daysTotal)/\(rows)/\(requests)"
        let errors = requestErrors.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        guard !errors.isEmpty else { return counts }
        return counts + "/" + errors.map { "\($0.key.rawValue):\($0.value)" }.joined(separator: ",")
    }

    public var description: String {
        "\(daysDone + daysFailed)/\(daysTotal) days (\(daysFailed) failed), \(rows) rows, \(requests) requests"
    }
}
