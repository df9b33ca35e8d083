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

/// The notify-protocol extension a collector child uses to report progress to galaxyd, in the same datagram style
/// as `STATUS=`: `X_GALAXY_PROGRESS=daysDone/daysFailed/daysTotal/rows/requests`.
public struct CollectorProgress: Sendable, Equatable, CustomStringConvertible {
    public static let key = "X_GALAXY_PROGRESS"

    public var daysDone: Int
    public var daysFailed: Int
    public var daysTotal: Int
    public var rows: Int
    public var requests: Int

    public init(daysDone: Int = 0, daysFailed: Int = 0, daysTotal: Int = 0, rows: Int = 0, requests: Int = 0) {
        self.daysDone = daysDone
        self.daysFailed = daysFailed
        self.daysTotal = daysTotal
        self.rows = rows
        self.requests = requests
    }

    /// Parses the value part (`3/0/10/8400/4`); nil when malformed.
    public init?(value: some StringProtocol) {
        let numbers = value.split(separator: "/").compactMap { Int($0) }
        guard numbers.count == 5, numbers.allSatisfy({ $0 >= 0 }) else { return nil }
        self.init(daysDone: numbers[0], daysFailed: numbers[1], daysTotal: numbers[2], rows: numbers[3],
                  requests: numbers[4])
    }

    /// The value part, for `X_GALAXY_PROGRESS=…`.
    public var value: String { "\(daysDone)/\(daysFailed)/\(daysTotal)/\(rows)/\(requests)" }

    public var description: String {
        "\(daysDone + daysFailed)/\(daysTotal) days (\(daysFailed) failed), \(rows) rows, \(requests) requests"
    }
}
