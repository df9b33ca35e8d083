import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Testing

@Suite("Typed values round-trip through PostgreSQL")
struct ValueRoundTripTests {
    /// Sends `value` as a parameter cast to `type` and reads it back.
    private func roundTrip<T: PostgresEncodable & PostgresDecodable>(
        _ connection: Connection, _ value: T?, _ type: String
    ) throws -> T? {
        try connection.query("SELECT $1::\(type) AS value", [value]).scalar(as: T?.self)
    }

    @Test func textIncludingKoreanAndControlCharacters() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        for text in ["", "삼성전자", "KODEX 200선물인버스2X", "tab\there", "line\nbreak", "back\\slash", "quote'\"", "😀"] {
            #expect(try roundTrip(connection, text, "text") == text)
        }
        #expect(try roundTrip(connection, String?.none, "text") == nil)
        // Korean stored in a real table survives too (and counts characters, not bytes).
        try connection.executeScript("CREATE TABLE names (name text)")
        try connection.query("INSERT INTO names VALUES ($1)", ["에스케이하이닉스"])
        #expect(try connection.query("SELECT length(name) FROM names").scalar(as: Int.self) == 8)
    }

    @Test func integersAtTheirExtremes() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        for value in [Int64.min, -1, 0, 1, Int64.max] {
            #expect(try roundTrip(connection, value, "bigint") == value)
        }
        #expect(try roundTrip(connection, Int32.min, "integer") == Int32.min)
        #expect(try roundTrip(connection, Int32.max, "integer") == Int32.max)
        #expect(try roundTrip(connection, Int64?.none, "bigint") == nil)
        // The server rejects a bigint overflow: the error carries SQLSTATE 22003.
        let error = try #require(throws: PostgresError.self) {
            try connection.query("SELECT $1::bigint + 1", [Int64.max])
        }
        #expect(error.sqlState == "22003")
        #expect(error.kind == .server)
    }

    @Test func numericAsDecimal() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        let values: [Decimal] = [
            0, Decimal(string: "-12.3456")!, Decimal(string: "0.000001")!, Decimal(string: "12345678901234567890.12")!,
            Decimal(string: "99999999999999999999999999999999999999")!,
        ]
        for value in values {
            #expect(try roundTrip(connection, value, "numeric") == value)
        }
        // Trailing zeros from a scaled column decode to the same value.
        let scaled = try connection.query("SELECT 1.2300::numeric(10,4)").scalar(as: Decimal.self)
        #expect(scaled == Decimal(string: "1.23"))
        #expect(try roundTrip(connection, Decimal?.none, "numeric") == nil)
        // More digits than Decimal holds is a decoding error, not a silently rounded value.
        let error = try #require(throws: PostgresError.self) {
            try connection.query("SELECT repeat('9', 45)::numeric AS huge").scalar(as: Decimal.self)
        }
        #expect(error.kind == .decoding)
        #expect(error.description.contains("huge"))
    }

    @Test func datesTimestampsAndJSON() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        for date in [TradeDate(year: 1995, month: 5, day: 2)!, TradeDate(year: 2024, month: 2, day: 29)!] {
            #expect(try roundTrip(connection, date, "date") == date)
        }
        let instant = Date(timeIntervalSince1970: 1_735_689_600.123456)
        let back = try #require(try roundTrip(connection, instant, "timestamptz"))
        #expect(abs(back.timeIntervalSince1970 - instant.timeIntervalSince1970) < 0.000_001)
        // A timestamptz rendered in another zone still decodes to the same instant.
        try connection.executeScript("SET TimeZone = 'Asia/Seoul'")
        let seoul = try connection.query("SELECT '2025-01-01 09:00:00+09'::timestamptz").scalar(as: Date.self)
        #expect(seoul == Date(timeIntervalSince1970: 1_735_689_600))
        try connection.executeScript("SET TimeZone = 'Asia/Kolkata'")
        let kolkata = try connection.query("SELECT '2025-01-01 05:30:00+05:30'::timestamptz").scalar(as: Date.self)
        #expect(kolkata == Date(timeIntervalSince1970: 1_735_689_600))

        struct Params: Codable, Equatable {
            var startYear: Int
            var datasets: [String]
            var note: String
        }
        let params = Params(startYear: 2010, datasets: ["price", "etf_price"], note: "백필")
        let json = try PostgresJSON(encoding: params)
        let stored = try #require(try roundTrip(connection, json, "jsonb"))
        #expect(try stored.decode(Params.self) == params)
        #expect(try roundTrip(connection, PostgresJSON?.none, "jsonb") == nil)

        #expect(try roundTrip(connection, true, "boolean") == true)
        #expect(try roundTrip(connection, 0.1, "double precision") == 0.1)
        let bytes = PostgresBytes([0, 1, 0x7f, 0x80, 0xff])
        #expect(try roundTrip(connection, bytes, "bytea") == bytes)
    }

    @Test func decodingErrorsNameTheColumn() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        let row = try #require(try connection.query("SELECT NULL::bigint AS close, 'abc'::text AS ticker").first)
        let null = try #require(throws: PostgresError.self) { try row.decode("close", as: Int64.self) }
        #expect(null.kind == .decoding)
        #expect(null.description.contains("\"close\""))
        #expect(null.description.contains("NULL"))
        #expect(try row["close", as: Int64?.self] == nil)
        let invalid = try #require(throws: PostgresError.self) { try row.decode("ticker", as: Int64.self) }
        #expect(invalid.description.contains("\"ticker\""))
        #expect(invalid.description.contains("abc"))
        let missing = try #require(throws: PostgresError.self) { try row.decode("volume", as: Int64.self) }
        #expect(missing.description.contains("volume"))
    }

    @Test func serverErrorsCarrySQLStateAndFields() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let connection = try database.connect()
        try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY)")
        try connection.query("INSERT INTO t VALUES ($1)", [1])
        let error = try #require(throws: PostgresError.self) {
            try connection.query("INSERT INTO t VALUES ($1)", [1])
        }
        #expect(error.sqlState == "23505")
        #expect(error.severity == "ERROR")
        #expect(error.message.contains("duplicate key"))
        #expect(error.detail?.contains("(id)=(1)") == true)
        #expect(error.description.contains("23505"))
        // The connection stays usable after a failed statement.
        #expect(try connection.query("SELECT count(*) FROM t").scalar(as: Int.self) == 1)
    }
}
