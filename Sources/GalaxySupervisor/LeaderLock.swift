import GalaxyPostgres
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Leadership among galaxyd instances sharing one database: whoever holds a PostgreSQL session advisory lock runs the
/// scheduler and the jobs; the others are standbys.
///
/// The lock lives as long as the session that took it, so it is held on a connection of its own (its own database
/// thread). When the leader dies or loses its connection, PostgreSQL releases the lock and a standby's next attempt
/// succeeds — PostgreSQL is the coordination engine; there is no home-made consensus.
///
/// Leadership is a lease: the daemon fences itself when no check has confirmed the lock within ``lease`` (see
/// ``Leadership``), and every check has a hard deadline enforced here, outside the libpq call — a check blocked on
/// a partitioned network never holds the decision, and a later check never queues behind it.
final class LeaderLock: Sendable {
    static let key = AdvisoryLockKey.leader
    /// T_fence: a leader whose lock no check confirmed for this long stops being leader. Half the server's
    /// T_release (``ConnectionLiveness/releaseAfter``), so fencing (and its collectors' TERM→KILL) ends before
    /// PostgreSQL can hand the lock to a standby.
    static let lease: Duration = .seconds(10)

    /// What one check found.
    enum Verdict: Sendable, Equatable {
        /// This session holds the lock (confirmed, or just taken); `name` is how others see it.
        case held(name: String)
        /// The database answered: another session holds it (`holder` is its application name and address).
        case heldElsewhere(holder: String?)
        /// No answer within the deadline, or the database could not be reached.
        case unreachable(String)

        var isHeld: Bool {
            if case .held = self { return true }
            return false
        }
    }

    /// How this daemon names itself on its lock connection (`application_name`), so `status` on the other host can
    /// say who leads.
    let identity: String
    private let database: DatabaseWorker
    /// The check in flight: a new check while one is blocked waits for that one rather than queueing another, and a
    /// lease it confirms dates from that query, not from the later caller.
    private let inflight = SharedTask<Verdict>()

    init(url: String?) {
        database = DatabaseWorker(url: url, name: "galaxy-leader")
        var name = [UInt8](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) : "unknown-host"
        identity = "galaxyd \(host) pid \(getpid())"
    }

    /// Takes the lock if it is free, or confirms that this session still holds it (the connection may have been lost
    /// and re-opened, which drops the lock); a check that has not answered within `deadline` counts as unreachable.
    /// Returns the verdict and when the query behind it was sent: the start of the lease it confirms.
    func check(within deadline: Duration) async -> (verdict: Verdict, sentAt: ContinuousClock.Instant) {
        let job = inflight.join { [self] in await query() }
        let verdict = await job.task.value(within: deadline)
            ?? .unreachable("the database did not answer within \(deadline.seconds.fixed(1)) s")
        return (verdict, job.startedAt)
    }

    private func query() async -> Verdict {
        let identity = identity
        do {
            return try await database.withConnection { connection in
                // Advisory locks belong to a database; pg_locks shows the whole cluster's.
                let lock = "locktype = 'advisory' AND granted AND objsubid = 1"
                    + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    + " AND classid::bigint = ($1::bigint >> 32) AND objid::bigint = ($1::bigint & 4294967295)"
                let name = "SELECT current_setting('application_name')"
                    + " || coalesce(' at ' || host(inet_client_addr()), '')"
                let held = try connection.query(
                    "SELECT count(*) FROM pg_locks WHERE \(lock) AND pid = pg_backend_pid()", [Self.key]
                ).scalar(as: Int64.self)
                if held > 0 { return .held(name: try connection.query(name).scalar(as: String.self)) }
                if try connection.tryAdvisoryLock(Self.key) {
                    _ = try connection.query("SELECT set_config('application_name', $1, false)", [identity])
                    return .held(name: try connection.query(name).scalar(as: String.self))
                }
                let holder = try connection.query(
                    """
                    SELECT a.application_name || coalesce(' at ' || host(a.client_addr), '')
                    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE \(lock)
                    """, [Self.key]
                ).first?.decode(0, as: String?.self)
                return .heldElsewhere(holder: holder)
            }
        } catch {
            return .unreachable("\(error)")
        }
    }

    /// The server process serving the lock connection, or nil when the database does not answer within 10 s.
    func backendPID() async -> Int32? {
        let database = database
        let query = Task {
            try? await database.withConnection { connection in
                Int32(try connection.query("SELECT pg_backend_pid()").scalar(as: Int64.self))
            }
        }
        return await query.value(within: .seconds(10)) ?? nil
    }

    /// Releases the lock (a clean stop hands over at once) and ends the lock connection's thread. A database that
    /// does not answer within 2 s (a partition) is not waited for: exiting closes the socket, and the server's
    /// keepalive releases the lock.
    func release() async {
        let database = database
        let unlock = Task {
            _ = try? await database.withConnection { connection in
                _ = try connection.query("SELECT pg_advisory_unlock_all()")
            }
            return true
        }
        if await unlock.value(within: .seconds(2)) == true { database.shutdown() }
    }
}

/// What this daemon knows about leadership, shared by the leadership loop (which writes it) and `status`: the lease,
/// who holds the lock, and why this daemon last fenced itself.
///
/// The lease clock starts when a confirming check was *sent*: the server heard from this daemon no earlier than
/// that, so it keeps the lock at least ``ConnectionLiveness/releaseAfter`` past it, while this daemon stops leading
/// at most ``LeaderLock/lease`` past it.
final class Leadership: Sendable {
    private struct State {
        var confirmedAt: ContinuousClock.Instant?
        var holder: String?
        var fenced: String?
    }

    private let state = Mutex(State())

    func confirmed(sentAt: ContinuousClock.Instant, identity: String) {
        state.withLock {
            $0.confirmedAt = sentAt
            $0.holder = identity
            $0.fenced = nil
        }
    }

    /// Records another holder; returns whether it changed (worth a journal line).
    func noteHolder(_ holder: String?) -> Bool {
        state.withLock { state in
            defer { state.holder = holder }
            return state.holder != holder
        }
    }

    func fenced(_ reason: String) {
        state.withLock {
            $0.confirmedAt = nil
            $0.fenced = reason
        }
    }

    /// Time left before the leader must fence itself (zero when it has run out or was never confirmed).
    func remaining(at now: ContinuousClock.Instant = .now) -> Duration {
        guard let confirmedAt = state.withLock({ $0.confirmedAt }) else { return .zero }
        return max(.zero, confirmedAt + LeaderLock.lease - now)
    }

    var holder: String? { state.withLock { $0.holder } }
    var fence: String? { state.withLock { $0.fenced } }
}
