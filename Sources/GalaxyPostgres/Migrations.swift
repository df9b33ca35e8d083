/// One versioned schema change. Migrations live in the binary (``Schema/migrations``), not in resource files, so an
/// installed `galaxyd` or `galaxy-collector` can bring any database up to date on its own.
public struct Migration: Sendable, Hashable {
    /// Strictly increasing; recorded in `schema_migrations.version`.
    public let version: Int
    public let name: String
    /// One or more statements, run in one transaction.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database to the schema this binary expects.
///
/// - Serialised across processes and hosts with a session-level `pg_advisory_lock` on a fixed key, so galaxyd
///   starting on two hosts (or galaxyd and `galaxyd migrate`) never apply the same migration twice.
/// - Each migration runs in its own transaction together with its `schema_migrations` row: a failing migration
///   leaves neither its changes nor its record, and the ones before it stay applied.
/// - Re-running is a no-op. A database that has versions this binary does not know (a newer galaxy migrated it) is
///   refused with a clear error instead of being used with a schema the code does not understand.
public struct Migrator {
    /// The advisory lock key (`'galaxy-m'` as eight ASCII bytes). Other galaxy locks use other keys.
    public static let lockKey: Int64 = 0x6761_6c61_7879_2d6d

    public let migrations: [Migration]

    public init(migrations: [Migration] = Schema.migrations) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies every pending migration; returns the ones applied now (empty when the schema was current).
    @discardableResult
    public func migrate(_ connection: Connection) throws -> [Migration] {
        try validate()
        guard !connection.isInTransaction else {
            throw PostgresError.usage("migrate must not run inside a transaction (each migration is its own)")
        }
        try connection.advisoryLock(Self.lockKey)
        defer {
            if connection.isInTransaction { try? connection.executeScript("ROLLBACK") }
            _ = try? connection.advisoryUnlock(Self.lockKey)
        }
        try connection.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try appliedVersions(connection)
        let known = Set(migrations.map(\.version))
        if let unknown = applied.first(where: { !known.contains($0) }) {
            throw PostgresError.usage(
                "the database has schema version \(unknown), which this galaxy binary does not know (it knows up to "
                    + "\(migrations.last?.version ?? 0)); a newer galaxy migrated it, so run that version instead")
        }
        var done: [Migration] = []
        for migration in migrations where !applied.contains(migration.version) {
            do {
                try connection.transaction { connection in
                    try connection.executeScript(migration.sql)
                    try connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        [migration.version, migration.name])
                }
            } catch let error as PostgresError {
                var failed = error
                failed.message = "migration \(migration.version) (\(migration.name)) failed: \(error.message)"
                throw failed
            }
            done.append(migration)
        }
        return done
    }

    /// Versions recorded in `schema_migrations`, ascending; empty when the table does not exist yet.
    public func appliedVersions(_ connection: Connection) throws(PostgresError) -> [Int] {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
            .scalar(as: Bool.self)
        guard exists else { return [] }
        return try connection.query("SELECT version FROM schema_migrations ORDER BY version").rows.map {
            (row) throws(PostgresError) -> Int in try row.decode(0, as: Int.self)
        }
    }

    private func validate() throws(PostgresError) {
        var previous = 0
        for migration in migrations {
            guard migration.version > previous else {
                throw .usage("migration versions must be unique and positive; \(migration.version) repeats or is ≤ 0")
            }
            previous = migration.version
        }
    }
}

extension Migrator {
    /// Migration 6: `collection_days.status` may be `pending` — an answer without prices that may be premature (the
    /// Open API publishes a day the next morning), kept unsettled so that healing fetches it again.
    static let pendingStatus = """
        ALTER TABLE collection_days DROP CONSTRAINT collection_days_status_check;
        ALTER TABLE collection_days ADD CONSTRAINT collection_days_status_check
            CHECK (status IN ('collected', 'no_session', 'failed', 'pending'));
        """
}
