import Foundation
import GalaxyCore

/// Everything that can go wrong between galaxy and a KRX source, as a type the collectors can switch over.
///
/// Each message names the problem and, where the operator can do something, the fix; it is what ends up in the
/// ledger's `last_error`. No case ever carries the member password, the Open API key or a session cookie: the values
/// that reach an error are URLs without credentials, HTTP statuses, KRX's own error codes and excerpts of bodies
/// that were not what we asked for.
public enum KRXError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A credential the chosen source needs is not configured.
    case missingCredentials(variable: String)
    /// KRX still answers `LOGOUT` after one fresh login: the session is refused for a reason a retry cannot fix.
    case loggedOut
    /// KRX answered the login with `CD010`: the member password is due for its 3-monthly change.
    case passwordChangeRequired
    /// KRX refused the login or the Open API key (`code` is KRX's `_error_code` or `respCode`).
    case authenticationFailed(code: String, message: String)
    /// The circuit breaker is open: KRX showed a block page and galaxy stays away until `until`.
    case blocked(until: Date, reason: String)
    /// The response was not the shape the screen sends: the day fails with this reason instead of "0 rows".
    case unexpectedResponse(reason: String)
    /// libcurl could not complete the exchange (connect, timeout, TLS, truncated transfer).
    case transport(String)
    /// An HTTP status that is neither data nor one of KRX's known answers, after the retries were spent.
    case http(status: Int, url: String)
    /// The Open API's daily call budget (10,000 per key) is spent; it renews at midnight Asia/Seoul.
    case quotaExhausted(limit: Int)
    /// The source does not publish this dataset (the Open API has no valuations, sectors or ETF master).
    case unsupported(dataset: Dataset, source: SourceKind)
    /// The Open API publishes a day only the morning after (T-1): asking for today or later gives an empty list that
    /// would look like a closed day.
    case notYetPublished(date: TradeDate, firstDate: TradeDate)

    public var description: String {
        switch self {
        case .missingCredentials(let variable):
            return "KRX credential missing: set \(variable) (or the file \(Self.credentialFile(for: variable)) in "
                + "$CREDENTIALS_DIRECTORY via systemd LoadCredential=)"
        case .loggedOut:
            return "KRX answered LOGOUT again right after a fresh login; the member session is refused "
                + "(another process logging in with the same account ends this one's session)"
        case .passwordChangeRequired:
            return "KRX login refused with CD010: the KRX member password must be changed. Log in at "
                + "https://data.krx.co.kr, change the password, then update KRX_PW (or the krx-pw credential) "
                + "and restart; galaxy will not retry until then"
        case .authenticationFailed(let code, let message):
            return "KRX authentication failed (\(code)): \(message)"
        case .blocked(let until, let reason):
            return "KRX circuit breaker open until \(Self.formatEpoch(until)) (\(reason)); no request is sent "
                + "before then"
        case .unexpectedResponse(let reason):
            return "unexpected KRX response: \(reason)"
        case .transport(let message):
            return "KRX transport error: \(message)"
        case .http(let status, let url):
            return "KRX answered HTTP \(status) for \(url)"
        case .quotaExhausted(let limit):
            return "KRX Open API daily quota of \(limit) calls is spent; it renews at midnight Asia/Seoul"
        case .unsupported(let dataset, let source):
            return "the \(source.rawValue) source does not publish \(dataset.rawValue); set "
                + "GALAXY_SOURCE_\(dataset.rawValue.uppercased())=portal"
        case .notYetPublished(let date, let firstDate):
            return "the KRX Open API publishes \(date.iso) only from \(firstDate.iso) on (T-1)"
        }
    }

    /// Whether a later attempt (another run, another day) might succeed without an operator doing anything.
    public var isTransient: Bool {
        switch self {
        case .transport, .http, .unexpectedResponse, .quotaExhausted, .notYetPublished, .loggedOut: true
        case .missingCredentials, .passwordChangeRequired, .authenticationFailed, .blocked, .unsupported: false
        }
    }

    /// The `galaxy-collector` exit status for a run that stopped on this error.
    public var exitCode: CollectorExitCode {
        switch self {
        case .blocked: .sourceBlocked
        case .passwordChangeRequired, .authenticationFailed: .authenticationFailed
        case .missingCredentials, .unsupported: .configuration
        case .loggedOut, .transport, .http, .quotaExhausted, .notYetPublished: .temporaryFailure
        case .unexpectedResponse: .partialFailure
        }
    }

    static func credentialFile(for variable: String) -> String {
        switch variable {
        case "KRX_ID": "krx-id"
        case "KRX_PW": "krx-pw"
        case "KRX_AUTH_KEY": "krx-auth-key"
        default: variable.lowercased()
        }
    }

    /// RFC 3339 in UTC, without Foundation's formatters (which are not cheap and not needed for one line).
    static func formatEpoch(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = Int(seconds.rounded(.down))
        let days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let rest = whole - days * 86_400
        let date = TradeDate(daysSinceEpoch: days)
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(date.iso)T\(pad(rest / 3600)):\(pad(rest / 60 % 60)):\(pad(rest % 60))Z"
    }
}
