import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

private struct Planned: Error {}

@Suite("Transactions and COPY")
struct TransactionCopyTests {
    @Test func rollbackOnError() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY)")
        #expect(throws: Planned.self) {
            try connection.transaction { connection in
                try connection.query("INSERT INTO t VALUES ($1)", [1])
                throw Planned()
            }
        }
        #expect(!connection.isInTransaction)
        #expect(try connection.query("SELECT count(*) FROM t").scalar(as: Int.self) == 0)

        // A server error inside rolls back the statements before it.
        #expect(throws: PostgresError.self) {
            try connection.transaction { connection in
                try connection.query("INSERT INTO t VALUES ($1)", [2])
                try connection.query("INSERT INTO t VALUES ($1)", [2])
            }
        }
        #expect(try connection.query("SELECT count(*) FROM t").scalar(as: Int.self) == 0)

        // Committed work stays.
        let value = try connection.transaction { connection in
            try connection.query("INSERT INTO t VALUES ($1)", [3])
            return 42
        }
        #expect(value == 42)
        #expect(try connection.query("SELECT count(*) FROM t").scalar(as: Int.self) == 1)
    }

    @Test func swallowedErrorIsNotASilentCommit() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY)")
        let error = try #require(throws: PostgresError.self) {
            try connection.transaction { connection in
                try connection.query("INSERT INTO t VALUES ($1)", [1])
                _ = try? connection.query("SELECT 1/0")
            }
        }
        #expect(error.message.contains("rolled back"))
        #expect(try connection.query("SELECT count(*) FROM t").scalar(as: Int.self) == 0)
    }

    @Test func nestedTransactionsUseSavepoints() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY)")
        try connection.transaction { connection in
            try connection.query("INSERT INTO t VALUES ($1)", [1])
            try? connection.transaction { connection in
                try connection.query("INSERT INTO t VALUES ($1)", [2])
                throw Planned()
            }
            try connection.query("INSERT INTO t VALUES ($1)", [3])
        }
        let ids = try connection.query("SELECT id FROM t ORDER BY id").rows.map { try $0.decode(0, as: Int.self) }
        #expect(ids == [1, 3])
    }

    @Test func copyOfOneHundredThousandRows() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript(
            "CREATE TABLE bulk (id bigint PRIMARY KEY, name text, amount bigint, ratio numeric, day date)")
        let day = TradeDate(year: 2024, month: 1, day: 2)!
        let count = 100_000
        let loaded = try connection.copyIn("COPY bulk (id, name, amount, ratio, day) FROM STDIN") { copy in
            for id in 0..<count {
                copy.field(Int64(id))
                // Every awkward character COPY's text format must escape, plus Korean, plus NULLs.
                if id % 10 == 0 { copy.null() } else { copy.field("종목\(id)\t\\\n\r end") }
                copy.field(id % 7 == 0 ? nil : Int64(id) * 1_000_000_000)
                copy.field(Decimal(id) / 100)
                copy.field(day)
                try copy.endRow()
            }
        }
        #expect(loaded == count)
        let summary = try #require(
            try connection.query(
                """
                SELECT count(*) AS rows, count(name) AS names, sum(amount) AS amount, sum(ratio) AS ratio,
                       count(DISTINCT day) AS days
                FROM bulk
                """
            ).first)
        #expect(try summary["rows", as: Int.self] == count)
        #expect(try summary["names", as: Int.self] == count - count / 10)
        let expectedAmount = (0..<count).filter { $0 % 7 != 0 }.reduce(Decimal(0)) { $0 + Decimal($1) * 1_000_000_000 }
        #expect(try summary["amount", as: Decimal.self] == expectedAmount)
        #expect(try summary["ratio", as: Decimal.self] == Decimal(count * (count - 1) / 2) / 100)
        #expect(try summary["days", as: Int.self] == 1)
        let name = try connection.query("SELECT name FROM bulk WHERE id = $1", [Int64(12_345)]).scalar(as: String.self)
        #expect(name == "종목12345\t\\\n\r end")
    }

    @Test func copyKeepsAwkwardTextApartFromNull() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (id int, value text)")
        let values: [String?] = ["\\N", "\\.", "", " ", "\t", "a\\b", "끝\r\n", nil, "\\", "N"]
        try connection.copyIn("COPY t (id, value) FROM STDIN") { copy in
            for (id, value) in values.enumerated() {
                copy.field(Int64(id))
                copy.field(value)
                try copy.endRow()
            }
        }
        let stored = try connection.query("SELECT value FROM t ORDER BY id").rows.map {
            try $0.decode(0, as: String?.self)
        }
        #expect(stored == values)
    }

    @Test func failedCopyLeavesNothingAndConnectionUsable() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY)")
        // An error thrown while producing rows aborts the COPY on the server.
        #expect(throws: Planned.self) {
            try connection.copyIn("COPY t (id) FROM STDIN") { copy in
                copy.field(Int64(1))
                try copy.endRow()
                throw Planned()
            }
        }
        // A row the server rejects fails the COPY with the server's SQLSTATE.
        let error = try #require(throws: PostgresError.self) {
            try connection.copyIn("COPY t (id) FROM STDIN") { copy in
                copy.field("not a number")
                try copy.endRow()
            }
        }
        #expect(error.sqlState == "22P02")
        #expect(try connection.query("SELECT count(*) FROM t").scalar(as: Int.self) == 0)
        #expect(!connection.isInTransaction)
    }
}
