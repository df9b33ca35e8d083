/// How fast each end of a galaxy connection notices that the other end is gone: seconds, not TCP's two hours.
///
/// A network partition drops packets silently (no RST, no error). Without these settings a statement waiting on
/// a dead server blocks for TCP's retransmission timeout (~15 minutes), and the server keeps a dead client's
/// session — with its advisory locks, the leader's included — until its own keepalive notices (2 hours by default).
///
/// - **Client side** (libpq conninfo, defaults the user's `GALAXY_DATABASE_URL` overrides): keepalive probes after
///   5 s idle, every 2 s, 3 lost = dead; `tcp_user_timeout` 10 s for data the server never acknowledges.
/// - **Server side** (`SET` per session, on every connection galaxy opens): the server probes an idle client after
///   4 s, every 2 s, and drops it once nothing came back for 20 s (`tcp_user_timeout`, PostgreSQL ≥ 12; without it,
///   8 lost probes: 4 + 8 × 2 = 20 s). So the server releases a dead leader's session lock, and a cut-off
///   collector's day lock and transaction, at most ``releaseAfter`` after it last heard from it: T_release.
///
/// The leader's lease (``releaseAfter`` against the supervisor's fence) is what orders fencing before takeover;
/// the README's failover section has the arithmetic. Unix-socket connections ignore all of it, as they may.
public enum ConnectionLiveness {
    /// libpq parameters added before the user's conninfo, so that any the user set win.
    public static let clientDefaults: [(String, String)] = [
        ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
        ("tcp_user_timeout", "10000"),
    ]

    /// The server drops a silent client this long after it last heard from it (T_release).
    public static let releaseAfter: Duration = .seconds(20)

    /// The `SET`s that bound T_release, for a server of `serverVersion` (`PQserverVersion`).
    static func serverSettings(serverVersion: Int) -> String {
        var settings = "SET tcp_keepalives_idle = 4; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 8"
        if serverVersion >= 120000 { settings += "; SET tcp_user_timeout = 20000" }
        return settings
    }
}
