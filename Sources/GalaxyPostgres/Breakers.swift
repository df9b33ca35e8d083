import FoundationEssentials

/// A persisted circuit breaker of one KRX source (`source_breakers`): while open, no collector process calls the
/// source, whichever host or process opened it.
public struct SourceBreaker: Sendable, Equatable {
    public var source: String
    public var openedAt: Date
    public var openUntil: Date
    public var reason: String

    public init(source: String, openedAt: Date, openUntil: Date, reason: String) {
        self.source = source
        self.openedAt = openedAt
        self.openUntil = openUntil
        self.reason = reason
    }

    /// True while `now` is before `openUntil`.
    public func isOpen(at now: Date = Date()) -> Bool { now < openUntil }
}

/// Reads and writes `source_breakers`.
public struct BreakerStore {
    public let connection: Connection

    public init(_ connection: Connection) { self.connection = connection }

    /// The breaker row of `source`, open or expired; nil when none was ever opened (or it was closed).
    public func breaker(for source: String) throws(PostgresError) -> SourceBreaker? {
        let result = try connection.query(
            "SELECT source, opened_at, open_until, reason FROM source_breakers WHERE source = $1", [source])
        guard let row = result.first else { return nil }
        return SourceBreaker(
            source: try row.decode("source"), openedAt: try row.decode("opened_at"),
            openUntil: try row.decode("open_until"), reason: try row.decode("reason"))
    }

    /// The breaker of `source` if it is open at `now`.
    public func openBreaker(for source: String, at now: Date = Date()) throws(PostgresError) -> SourceBreaker? {
        guard let breaker = try breaker(for: source), breaker.isOpen(at: now) else { return nil }
        return breaker
    }

    /// Opens (or re-opens, extending) the breaker of `source` until `until`. An already open breaker is never
    /// shortened: two processes hitting the block page keep the later deadline.
    @discardableResult
    public func open(_ source: String, until: Date, reason: String, at now: Date = Date()) throws(PostgresError)
        -> SourceBreaker
    {
        let result = try connection.query(
            """
            INSERT INTO source_breakers (source, opened_at, open_until, reason) VALUES ($1, $2, $3, $4)
            ON CONFLICT (source) DO UPDATE
            SET opened_at = CASE WHEN source_breakers.open_until > EXCLUDED.opened_at
                                 THEN source_breakers.opened_at ELSE EXCLUDED.opened_at END,
                open_until = GREATEST(source_breakers.open_until, EXCLUDED.open_until),
                reason = EXCLUDED.reason
            RETURNING source, opened_at, open_until, reason
            """,
            [source, now, until, reason])
        guard let row = result.first else {
            throw PostgresError(kind: .decoding, message: "opening the breaker returned no row")
        }
        return SourceBreaker(
            source: try row.decode("source"), openedAt: try row.decode("opened_at"),
            openUntil: try row.decode("open_until"), reason: try row.decode("reason"))
    }

    /// Closes the breaker of `source` (an operator's reset, or a successful probe). Returns whether one existed.
    @discardableResult
    public func close(_ source: String) throws(PostgresError) -> Bool {
        try connection.query("DELETE FROM source_breakers WHERE source = $1", [source]).rowsAffected > 0
    }

    /// Every breaker row (open or expired), for `status`.
    public func all() throws(PostgresError) -> [SourceBreaker] {
        let result = try connection.query(
            "SELECT source, opened_at, open_until, reason FROM source_breakers ORDER BY source")
        return try result.rows.map { (row) throws(PostgresError) -> SourceBreaker in
            SourceBreaker(
                source: try row.decode("source"), openedAt: try row.decode("opened_at"),
                openUntil: try row.decode("open_until"), reason: try row.decode("reason"))
        }
    }
}
