import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

@Suite("Migrations")
struct MigrationTests {
    private let expectedTables = [
        "collection_days", "etf_prices", "etfs", "holdings", "job_runs", "job_tasks", "portfolio_snapshots",
        "portfolios", "prices", "schema_migrations", "sectors", "source_breakers", "stocks", "valuations",
    ]

    private func tables(_ connection: Connection) throws -> [String] {
        try connection.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).rows.map { try $0.decode(0, as: String.self) }
    }

    @Test func fromEmptyThenReRun() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        #expect(try tables(connection).isEmpty)

        let applied = try Migrator().migrate(connection)
        #expect(applied.map(\.version) == Schema.migrations.map(\.version))
        #expect(try tables(connection) == expectedTables)
        let recorded = try connection.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        #expect(try recorded.rows.map { try $0.decode("version", as: Int.self) } == Schema.migrations.map(\.version))
        #expect(try recorded.rows.map { try $0.decode("name", as: String.self) } == Schema.migrations.map(\.name))

        // Re-running applies nothing and changes nothing.
        #expect(try Migrator().migrate(connection).isEmpty)
        #expect(try connection.query("SELECT count(*) FROM schema_migrations").scalar(as: Int.self)
            == Schema.migrations.count)

        // The ledger's CHECK constraint rejects an unknown status.
        let error = try #require(throws: PostgresError.self) {
            try connection.query(
                "INSERT INTO collection_days (dataset, trade_date, status) VALUES ('price', '2024-01-02', 'done')")
        }
        #expect(error.sqlState == "23514")
    }

    @Test func twoConcurrentMigrators() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let url = database.url
        // Two processes' worth of connections racing; the advisory lock makes one wait for the other.
        async let first = Self.migrateOnOwnThread(url)
        async let second = Self.migrateOnOwnThread(url)
        let counts = try await [first, second]
        #expect(counts.sorted() == [0, Schema.migrations.count])
        let connection = try database.connect()
        #expect(try connection.query("SELECT count(*) FROM schema_migrations").scalar(as: Int.self)
            == Schema.migrations.count)
    }

    /// Migrates from a connection of its own on a dedicated worker thread; returns how many migrations it applied.
    private static func migrateOnOwnThread(_ url: String) async throws -> Int {
        let worker = DatabaseWorker(url: url)
        defer { worker.shutdown() }
        return try await worker.withConnection { connection in try Migrator().migrate(connection).count }
    }

    @Test func failingMigrationLeavesEarlierOnesAndNoRecord() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        let migrations = [
            Migration(version: 1, name: "one", sql: "CREATE TABLE one (id int)"),
            Migration(version: 2, name: "two", sql: "CREATE TABLE two (id int); SELECT 1/0"),
        ]
        let error = try #require(throws: PostgresError.self) {
            try Migrator(migrations: migrations).migrate(connection)
        }
        #expect(error.message.contains("migration 2 (two)"))
        #expect(error.sqlState == "22012")
        #expect(try Migrator(migrations: migrations).appliedVersions(connection) == [1])
        #expect(try connection.query("SELECT to_regclass('two') IS NULL").scalar(as: Bool.self))
        // The lock was released: a later migrator gets through.
        #expect(try Migrator(migrations: [migrations[0]]).migrate(connection).isEmpty)
    }

    @Test func databaseNewerThanBinaryIsRefused() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try Migrator().migrate(connection)
        try connection.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [9999, "future"])
        let error = try #require(throws: PostgresError.self) { try Migrator().migrate(connection) }
        #expect(error.kind == .usage)
        #expect(error.description.contains("9999"))
    }
}
