internal import CLibPQ

/// The rows (or command tag) of one statement. Owns libpq's result and frees it when released; values are read
/// lazily, so a large result is decoded only as far as the caller goes.
public final class QueryResult {
    private let result: OpaquePointer
    /// Number of rows returned.
    public let count: Int
    /// Column names in order.
    public let columns: [String]
    private lazy var columnIndex: [String: Int] = {
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        return index
    }()

    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
        // COPY results have fields without names: PQfname returns NULL there.
        columns = (0..<PQnfields(result)).map { index in
            let name: UnsafeMutablePointer<CChar>? = PQfname(result, index)
            return name.map { String(cString: $0) } ?? ""
        }
    }

    deinit { PQclear(result) }

    /// Rows inserted, updated, deleted, copied or selected, from the command tag (`INSERT 0 5` → 5).
    public var rowsAffected: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    /// The command tag (`INSERT 0 5`, `COMMIT`, `ROLLBACK`).
    public var commandTag: String { String(cString: PQcmdStatus(result)) }

    /// The rows, as a random-access collection.
    public var rows: Rows { Rows(result: self) }

    /// The first row, if any.
    public var first: Row? { count > 0 ? Row(result: self, index: 0) : nil }

    /// The single value of a one-row, one-column result (`SELECT count(*) …`). Throws when there is no row.
    public func scalar<T: PostgresDecodable>(as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let first else {
            throw PostgresError(kind: .decoding, message: "expected one row with a \(T.self), got no rows")
        }
        return try first.decode(0, as: T.self)
    }

    func isNull(row: Int, column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) != 0 }

    func text(row: Int, column: Int) -> String? {
        if isNull(row: row, column: column) { return nil }
        return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    func index(of column: String) -> Int? { columnIndex[column] }

    /// The rows of a result. Each ``Row`` keeps the result alive.
    public struct Rows: RandomAccessCollection {
        let result: QueryResult
        public var startIndex: Int { 0 }
        public var endIndex: Int { result.count }
        public subscript(position: Int) -> Row { Row(result: result, index: position) }
    }
}

/// One row of a ``QueryResult``. Read values by column name or position with the Swift type you expect:
/// `try row.decode("close", as: Int64?.self)`, `try row["name", as: String.self]`. A failure names the column,
/// the expected type, and the value.
public struct Row {
    let result: QueryResult
    let index: Int

    /// The raw text of a column (nil for NULL).
    public func text(_ column: Int) -> String? { result.text(row: index, column: column) }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard column >= 0, column < result.columns.count else {
            throw PostgresError(
                kind: .decoding, message: "column \(column) does not exist (the result has \(result.columns.count))")
        }
        let text = result.text(row: index, column: column)
        do {
            return try T.decodePostgres(text)
        } catch {
            let name = result.columns[column]
            switch error {
            case .unexpectedNull:
                throw PostgresError(
                    kind: .decoding,
                    message: "column \"\(name)\" is NULL but \(T.self) was expected; read it as \(T.self)?")
            case .invalid(let value):
                let shown = value.count > 60 ? String(value.prefix(60)) + "…" : value
                throw PostgresError(
                    kind: .decoding, message: "column \"\(name)\" holds '\(shown)', which is not a valid \(T.self)")
            }
        }
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let position = result.index(of: column) else {
            throw PostgresError(
                kind: .decoding,
                message: "no column \"\(column)\" in the result (columns: \(result.columns.joined(separator: ", ")))")
        }
        return try decode(position, as: T.self)
    }

    public subscript<T: PostgresDecodable>(_ column: Int, as type: T.Type) -> T {
        get throws(PostgresError) { try decode(column, as: T.self) }
    }

    public subscript<T: PostgresDecodable>(_ column: String, as type: T.Type) -> T {
        get throws(PostgresError) { try decode(column, as: T.self) }
    }
}
