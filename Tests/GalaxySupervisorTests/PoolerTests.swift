import Foundation
import GalaxyPostgres
import GalaxyRPC
import GalaxySupervisor
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real PgBouncer (Debian's package, installed by scripts/install-deps.sh) in front of the test cluster: galaxyd
/// refuses transaction pooling at start with one clear line (the leader's session lock and the collectors'
/// per-session staging tables would not survive it) and works through session pooling.
@Suite(.serialized) struct PoolerTests {
    /// A pgbouncer process of the test's own, on a free loopback port, forwarding every database to the cluster's
    /// Unix socket with trust authentication (pgbouncer will not run as root: it runs as `postgres` then).
    struct Bouncer {
        let directory: TemporaryDirectory
        let process: ChildProcess
        let port: Int
        let output = OutputRecorder()

        init(poolMode: String) async throws {
            let cluster = try ConnectionTarget(try TestDatabase.clusterURLFromEnvironment())
            directory = try TemporaryDirectory(prefix: "pgb")
            port = try Self.freePort()
            let user = cluster.parameters["user"] ?? "postgres"
            try "\"\(user)\" \"\"\n".write(toFile: directory.file("userlist.txt"), atomically: true, encoding: .utf8)
            try """
                [databases]
                * = host=\(cluster.parameters["host"] ?? "/tmp") port=\(cluster.parameters["port"] ?? "5432")
                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = \(port)
                unix_socket_dir =
                auth_type = trust
                auth_file = \(directory.file("userlist.txt"))
                pool_mode = \(poolMode)
                default_pool_size = 4

                """.write(toFile: directory.file("pgbouncer.ini"), atomically: true, encoding: .utf8)
            var command = ["/usr/sbin/pgbouncer", directory.file("pgbouncer.ini")]
            if geteuid() == 0 {
                chmod(directory.path, 0o755)
                command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command
            }
            process = try ChildProcess.spawn(
                ChildSpec(executable: command[0], arguments: Array(command.dropFirst()),
                          environment: ["PATH": "/usr/bin:/bin"]),
                onOutput: output.handler)
            let url = self.url(database: "postgres")
            let output = output
            do {
                try await waitUntil("pgbouncer accepting", timeout: .seconds(20)) {
                    (try? Connection(url: url))?.close() != nil
                }
            } catch {
                throw TestDatabaseError("\(error); pgbouncer said:\n\(output.tail)")
            }
        }

        func url(database: String) -> String { "postgresql://postgres@127.0.0.1:\(port)/\(database)" }

        func stop() async {
            _ = await process.terminate(grace: .seconds(5))
            directory.remove()
        }

        static func freePort() throws -> Int {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
                }
            }
            guard bound else { throw TestDatabaseError("no free port: \(String(cString: strerror(errno)))") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }

    /// A bouncer in `poolMode`, or nil (saying why) where pgbouncer is not installed.
    static func bouncer(_ poolMode: String) async throws -> Bouncer? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer") else {
            print("PoolerTests skipped: /usr/sbin/pgbouncer is missing (scripts/install-deps.sh installs it)")
            return nil
        }
        return try await Bouncer(poolMode: poolMode)
    }

    @Test func transactionPoolingIsRefusedAtStartWithOneClearLine() async throws {
        guard let bouncer = try await Self.bouncer("transaction") else { return }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let output = OutputRecorder()
        let process = try ChildProcess.spawn(
            ChildSpec(executable: BuiltProducts.path("galaxyd"), arguments: ["serve"], environment: [
                "PATH": "/usr/bin:/bin", "GALAXY_SOCKET": "/tmp/galaxy-never-\(getpid()).sock",
                "GALAXY_DATABASE_URL": bouncer.url(database: database.name),
                "GALAXY_COLLECTOR": "/bin/true",
            ]),
            onOutput: output.handler)
        let exit = await process.wait(timeout: .seconds(60))
        if exit == nil { _ = await process.terminate(grace: .seconds(1)) }
        await bouncer.stop()
        let lines = output.lines(.stderr)
        #expect(exit?.termination == .exited(78), "galaxyd through transaction pooling: \(String(describing: exit))")
        // The journal's warnings and notices come first; the reason to stop is the last line, alone.
        let last = lines.last ?? ""
        #expect(last.hasPrefix("galaxyd: GALAXY_DATABASE_URL goes through a transaction-pooling proxy"), "\(lines)")
        #expect(last.contains("session mode"))
        #expect(!lines.dropLast().contains { $0.contains("pooling") })
    }

    @Test func sessionPoolingWorks() async throws {
        guard let bouncer = try await Self.bouncer("session") else { return }
        let database = try TestDatabase.create()
        let daemon = try await DaemonHarness(
            database: database, environment: ["GALAXY_DATABASE_URL": bouncer.url(database: database.name)])
        let status = try await daemon.status()
        let run = try await daemon.waitForRun(try await daemon.runDaily(date: "2026-11-27"))
        daemon.finish(keepDatabase: true)
        await bouncer.stop()
        database.drop()
        #expect(status.daemon.leader)
        #expect(run.state == "succeeded")
    }
}
