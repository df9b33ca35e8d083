import GalaxyPostgres

/// Leadership among galaxyd instances sharing one database: whoever holds a PostgreSQL session advisory lock runs the
/// scheduler and the jobs; the others are standbys.
///
/// The lock lives as long as the session that took it, so it is held on a connection of its own (its own database
/// thread). When the leader dies or loses its connection, PostgreSQL releases the lock and a standby's next attempt
/// succeeds — PostgreSQL is the coordination engine; there is no home-made consensus.
final class LeaderLock: Sendable {
    static let key = AdvisoryLockKey.leader

    private let database: DatabaseWorker

    init(url: String?) {
        database = DatabaseWorker(url: url, name: "galaxy-leader")
    }

    /// Takes the lock if it is free; true while this process holds it. Also verifies a held lock is still held (the
    /// connection may have been lost and re-opened, which drops the lock).
    func acquireOrConfirm() async -> Bool { await attempt().held }

    /// As ``acquireOrConfirm()``, also saying whether the database answered at all.
    func attempt() async -> (held: Bool, reachable: Bool) {
        do {
            return (try await confirm(), true)
        } catch {
            return (false, false)
        }
    }

    private func confirm() async throws -> Bool {
        try await database.withConnection { connection in
            let held = try connection.query(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
                    + " AND objsubid = 1 AND classid::bigint = ($1::bigint >> 32)"
                    + " AND objid::bigint = ($1::bigint & 4294967295)", [Self.key]
            ).scalar(as: Int64.self)
            if held > 0 { return true }
            return try connection.tryAdvisoryLock(Self.key)
        }
    }

    func release() async {
        _ = try? await database.withConnection { connection in
            _ = try connection.query("SELECT pg_advisory_unlock_all()")
        }
        database.shutdown()
    }
}
