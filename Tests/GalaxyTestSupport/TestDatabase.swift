import Foundation
import GalaxyPostgres

/// A fresh, uniquely named database on the test cluster (`GALAXY_TEST_DATABASE_URL`), so every test owns its data
/// and the suite can run in parallel. `scripts/test.sh` starts the cluster and sets the variable.
///
/// ```swift
/// let database = try TestDatabase.create()
/// defer { database.drop() }
/// let connection = try database.connect()
/// ```
public struct TestDatabase: Sendable {
    /// The database's name (`galaxy_test_<pid>_<n>_<random>`).
    public let name: String
    /// A libpq conninfo for this database (same host, port, user and password as the cluster URL).
    public let url: String
    /// The cluster URL the database was created from.
    public let clusterURL: String

    /// Creates the database. Throws ``TestDatabaseError`` when `GALAXY_TEST_DATABASE_URL` is unset, so a test run
    /// without PostgreSQL fails loudly instead of skipping.
    public static func create(migrated: Bool = false, clusterURL: String? = nil) throws -> TestDatabase {
        let clusterURL = try clusterURL ?? clusterURLFromEnvironment()
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let name = "galaxy_test_\(getpid())_\(counter.next())_\(suffix)"
        let admin = try Connection(url: clusterURL)
        defer { admin.close() }
        try admin.executeScript("CREATE DATABASE \(Connection.quoteIdentifier(name))")
        let url = admin.target.conninfo(replacing: ["dbname": name])
        let database = TestDatabase(name: name, url: url, clusterURL: clusterURL)
        if migrated {
            let connection = try database.connect()
            defer { connection.close() }
            try Migrator().migrate(connection)
        }
        return database
    }

    /// The cluster URL from `GALAXY_TEST_DATABASE_URL`.
    public static func clusterURLFromEnvironment() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["GALAXY_TEST_DATABASE_URL"], !url.isEmpty else {
            throw TestDatabaseError(
                "GALAXY_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, or start a cluster with "
                    + "`scripts/pg-cluster.sh start /tmp/pg-dev` and export the URL it prints")
        }
        return url
    }

    /// A new connection to this database.
    public func connect() throws -> Connection { try Connection(url: url) }

    /// Drops the database, disconnecting anyone still connected. Errors are ignored: a leftover test database is
    /// harmless and the cluster is thrown away after the run.
    public func drop() {
        guard let admin = try? Connection(url: clusterURL) else { return }
        defer { admin.close() }
        try? admin.executeScript("DROP DATABASE IF EXISTS \(Connection.quoteIdentifier(name)) WITH (FORCE)")
    }

    private static let counter = TestDatabaseCounter()
}

/// Why the test database could not be made.
public struct TestDatabaseError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A thread-safe counter for unique names within one test process.
final class TestDatabaseCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
