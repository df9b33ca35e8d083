/// PostgreSQL advisory locks: PostgreSQL as the coordination engine (DESIGN §10), no home-made consensus.
///
/// The key space galaxy uses:
/// - **one `bigint` key, session-level**: ``migrations`` and ``leader``, eight ASCII bytes each (`'galaxy-m'`,
///   `'galaxy-l'`). A session lock is held until unlocked or until the connection ends, so a process that dies (or
///   whose connection breaks) releases it and another host takes over.
/// - **two `int4` keys, transaction-level**: the per-day write lock of ``DayWriter``,
///   `pg_advisory_xact_lock(dayWriteClass | table, trade date as days since 1970-01-01)`, where `table` is 1…6
///   (stocks, sectors, prices, valuations, etfs, etf_prices). PostgreSQL keeps one-key and two-key locks apart
///   (`pg_locks.objsubid` 1 and 2), and the class in the first key keeps galaxy's two-key locks apart from any other
///   application's. Released at COMMIT or ROLLBACK, never by hand.
public enum AdvisoryLockKey {
    /// Serialises schema migrations (``Migrator``).
    public static let migrations: Int64 = Migrator.lockKey
    /// Held by the galaxyd that runs the scheduler (the leader); `'galaxy-l'` as eight ASCII bytes.
    public static let leader: Int64 = 0x6761_6c61_7879_2d6c
    /// The first key of the per-(table, day) write locks, `'gwd'` and a table number in the low byte.
    public static let dayWriteClass: Int32 = 0x6777_6400
}

extension Connection {
    /// Takes the session-level advisory lock `key` if it is free; returns whether this session now holds it.
    /// Never waits. Re-taking a lock this session holds succeeds (and must be released as often).
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_try_advisory_lock($1)", [key]).scalar(as: Bool.self)
    }

    /// Waits until the session-level advisory lock `key` is free and takes it.
    public func advisoryLock(_ key: Int64) throws(PostgresError) {
        try query("SELECT pg_advisory_lock($1)", [key])
    }

    /// Releases one hold of the advisory lock `key`; returns false if this session did not hold it.
    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_advisory_unlock($1)", [key]).scalar(as: Bool.self)
    }
}
