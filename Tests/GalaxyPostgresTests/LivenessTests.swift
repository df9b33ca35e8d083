import Foundation
@testable import GalaxyPostgres
import GalaxyTestSupport
import Testing

/// Keepalives on both ends of a galaxy connection (issue 13): libpq defaults the URL may override, and server-side
/// settings per session that bound how long PostgreSQL keeps a silent client's session and locks.
@Suite struct LivenessTests {
    /// A role with a password, so the test can connect over TCP (the test cluster checks passwords there).
    private func withTCPRole(_ body: (String) throws -> Void) throws {
        let cluster = try TestDatabase.clusterURLFromEnvironment()
        let admin = try Connection(url: cluster)
        defer { admin.close() }
        let role = "galaxy_liveness_\(getpid())"
        try admin.executeScript("CREATE ROLE \(role) LOGIN PASSWORD 'liveness-pw'")
        defer { try? admin.executeScript("DROP ROLE \(role)") }
        let port = try #require(try ConnectionTarget(cluster).parameters["port"])
        try body("postgresql://\(role):liveness-pw@127.0.0.1:\(port)/postgres")
    }

    @Test func clientKeepalivesAreDefaultsTheURLOverrides() throws {
        try withTCPRole { url in
            let plain = try Connection(url: url)
            defer { plain.close() }
            #expect(plain.parameter("keepalives") == "1")
            #expect(plain.parameter("keepalives_idle") == "5")
            #expect(plain.parameter("keepalives_interval") == "2")
            #expect(plain.parameter("keepalives_count") == "3")
            #expect(plain.parameter("tcp_user_timeout") == "10000")
            let tuned = try Connection(url: url + "?keepalives_idle=30&tcp_user_timeout=60000")
            defer { tuned.close() }
            #expect(tuned.parameter("keepalives_idle") == "30")
            #expect(tuned.parameter("tcp_user_timeout") == "60000")
            #expect(tuned.parameter("keepalives_count") == "3")
        }
    }

    @Test func theServerDropsASilentSessionWithinTwentySeconds() throws {
        try withTCPRole { url in
            let connection = try Connection(url: url)
            defer { connection.close() }
            func show(_ name: String) throws -> String {
                try connection.query("SELECT setting FROM pg_settings WHERE name = $1", [name]).scalar(as: String.self)
            }
            #expect(try show("tcp_keepalives_idle") == "4")
            #expect(try show("tcp_keepalives_interval") == "2")
            #expect(try show("tcp_keepalives_count") == "8")
            #expect(try show("tcp_user_timeout") == "20000")
            // T_release as documented: with tcp_user_timeout the kernel gives up 20 s after it last heard the peer;
            // without it, idle + count × interval is the same 20 s.
            #expect(ConnectionLiveness.releaseAfter == .seconds(4 + 8 * 2))
        }
    }
}
