import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

@Suite("Connection failures are clear and never show the password")
struct ConnectionErrorTests {
    /// A TCP port on 127.0.0.1 with nothing listening: bind, read the port, close.
    private func deadPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func deadServer() throws {
        let port = try deadPort()
        let password = "Sup3rSecret-dead"
        let url = "postgresql://galaxy:\(password)@127.0.0.1:\(port)/galaxy?connect_timeout=5"
        let error = try #require(throws: PostgresError.self) { try Connection(url: url) }
        #expect(error.kind == .connection)
        #expect(error.description.contains("GALAXY_DATABASE_URL"))
        #expect(error.description.contains("\(port)"))
        #expect(!error.description.contains(password))
        #expect(!"\(error)".contains(password))
    }

    @Test func wrongPassword() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let admin = try database.connect()
        let port = try #require(admin.target.parameters["port"])
        let role = "galaxy_role_\(UInt32.random(in: 0...UInt32.max))"
        let rightPassword = "Right-Pa55word-\(UInt16.random(in: 0...UInt16.max))"
        let wrongPassword = "Wrong-Pa55word-\(UInt16.random(in: 0...UInt16.max))"
        // CREATE ROLE cannot take parameters; the password is our own literal made of safe characters.
        try admin.executeScript("CREATE ROLE \(role) LOGIN PASSWORD '\(rightPassword)'")
        defer { try? admin.executeScript("DROP ROLE IF EXISTS \(role)") }

        let good = try Connection(
            url: "postgresql://\(role):\(rightPassword)@127.0.0.1:\(port)/\(database.name)")
        #expect(try good.query("SELECT current_user").scalar(as: String.self) == role)
        good.close()

        for url in [
            "postgresql://\(role):\(wrongPassword)@127.0.0.1:\(port)/\(database.name)",
            "host=127.0.0.1 port=\(port) dbname=\(database.name) user=\(role) password=\(wrongPassword)",
        ] {
            let error = try #require(throws: PostgresError.self) { try Connection(url: url) }
            #expect(error.kind == .connection)
            #expect(error.description.contains("password authentication failed"))
            #expect(error.description.contains("GALAXY_DATABASE_URL"))
            #expect(error.description.contains("127.0.0.1"))
            #expect(!error.description.contains(wrongPassword))
            #expect(!error.description.contains(rightPassword))
        }
    }

    @Test func malformedURLIsScrubbed() throws {
        let password = "Leaky-Pa55"
        let error = try #require(throws: PostgresError.self) {
            try Connection(url: "postgresql://user:\(password)@localhost:notaport/db")
        }
        #expect(error.kind == .connection)
        #expect(error.description.contains("GALAXY_DATABASE_URL"))
        #expect(!error.description.contains(password))
    }

    @Test func environmentVariableIsUsed() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try Connection(environment: ["GALAXY_DATABASE_URL": database.url])
        #expect(try connection.query("SELECT current_database()").scalar(as: String.self) == database.name)
        #expect(!connection.target.description.contains("password"))
    }

    @Test func closedConnectionFailsClearly() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        connection.close()
        let error = try #require(throws: PostgresError.self) { try connection.query("SELECT 1") }
        #expect(error.kind == .connectionLost)
    }

    @Test func terminatedBackendIsReportedAsLost() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let victim = try database.connect()
        let admin = try database.connect()
        try admin.query("SELECT pg_terminate_backend($1, 10000)", [victim.backendPID])
        let error = try #require(throws: PostgresError.self) { try victim.query("SELECT 1") }
        #expect(error.isTransient)
        #expect(!victim.isOpen)
    }
}
