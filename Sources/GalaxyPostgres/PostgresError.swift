import FoundationEssentials

/// Everything that can go wrong talking to PostgreSQL, as one type so callers can switch on `kind` and operators can
/// read `description`.
///
/// The server's own fields (SQLSTATE, severity, message, detail, hint) are kept separately because a collector
/// decides what to do from the SQLSTATE (`40001` retry, `23505` bug, `57P01` reconnect) while the ledger and the log
/// want the readable text. `description` never contains the connection password: messages that echo a conninfo are
/// scrubbed at construction, and the connection target is shown without it (see ``ConnectionTarget``).
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What failed, which is also what to check.
    public enum Kind: String, Sendable, Equatable {
        /// Could not open a connection (server down, wrong host/port, authentication failed, bad URL).
        case connection
        /// The server rejected a statement; `sqlState` says why.
        case server
        /// The connection broke while in use (server restarted, network failure).
        case connectionLost
        /// A value in a result could not be decoded into the requested Swift type (or was NULL where not allowed).
        case decoding
        /// The caller used the API wrongly (rows of one dataset stored as another, a collected price day with no
        /// rows, a migration history newer than this binary). These are bugs or deployment mistakes, not retries.
        case usage
    }

    public var kind: Kind
    /// Five-character SQLSTATE from the server (`23505`, `28P01`, …); nil when the server did not send one.
    public var sqlState: String?
    /// `ERROR`, `FATAL`, `PANIC` (the non-localised severity) when the server sent one.
    public var severity: String?
    /// The primary message: the server's, libpq's, or ours.
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The statement that failed, shortened; never contains parameter values (they travel separately).
    public var statement: String?
    /// Where the connection pointed, without the password (`host=/tmp/pg port=5432 dbname=galaxy user=galaxy`).
    public var target: String?

    public init(
        kind: Kind, message: String, sqlState: String? = nil, severity: String? = nil, detail: String? = nil,
        hint: String? = nil, statement: String? = nil, target: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.statement = statement
        self.target = target
    }

    public var description: String {
        var text: String
        switch kind {
        case .connection:
            text = "cannot connect to PostgreSQL"
            if let target { text += " (\(target))" }
            text += ": \(Self.oneLine(message))"
            text += " — check GALAXY_DATABASE_URL (host, port, database, user, password)"
            text += " and that the server is running"
        case .connectionLost:
            text = "lost the PostgreSQL connection: \(message)"
        case .server:
            text = "PostgreSQL \(severity ?? "ERROR")"
            if let sqlState { text += " \(sqlState)" }
            text += ": \(message)"
        case .decoding:
            text = "cannot decode PostgreSQL result: \(message)"
        case .usage:
            text = message
        }
        if let detail, !detail.isEmpty { text += " (detail: \(detail))" }
        if let hint, !hint.isEmpty { text += " (hint: \(hint))" }
        if let statement, kind == .server { text += " [statement: \(statement)]" }
        return text
    }

    /// True for errors that a retry of the same transaction can fix: serialization failures, deadlocks, a lost
    /// connection. Everything else is a bug, bad data, or configuration.
    public var isTransient: Bool {
        if kind == .connectionLost { return true }
        guard let sqlState else { return false }
        return sqlState == "40001" || sqlState == "40P01" || sqlState.hasPrefix("08") || sqlState == "57P01"
    }

    static func usage(_ message: String) -> PostgresError { PostgresError(kind: .usage, message: message) }

    /// Replaces every occurrence of `secret` in `text`. Short secrets are scrubbed too: a mangled message is better
    /// than a leaked password.
    static func scrub(_ text: String, removing secret: String?) -> String {
        guard let secret, !secret.isEmpty else { return text }
        guard text.contains(secret) else { return text }
        return text.replacing(secret, with: "<redacted>")
    }

    /// libpq's multi-line messages ("…failed: Connection refused\n\tIs the server running…") on one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == "\r" })
            .compactMap { line in
                line.firstIndex(where: { !$0.isWhitespace }).map { line[$0...line.lastIndex(where: { !$0.isWhitespace })!] }
            }
            .joined(separator: " ")
    }

    /// A statement as it may appear in an error: one line, at most 200 characters.
    static func shorten(_ sql: String) -> String {
        var oneLine = ""
        var lastWasSpace = false
        for character in sql {
            if character.isWhitespace {
                if !lastWasSpace && !oneLine.isEmpty { oneLine.append(" ") }
                lastWasSpace = true
            } else {
                oneLine.append(character)
                lastWasSpace = false
            }
            if oneLine.count > 200 {
                return String(oneLine.prefix(200)) + "…"
            }
        }
        return oneLine.hasSuffix(" ") ? String(oneLine.dropLast()) : oneLine
    }
}
