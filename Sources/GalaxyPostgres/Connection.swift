internal import CLibPQ
import FoundationEssentials
import GalaxyCore

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection, used synchronously.
///
/// galaxy's collectors are single-purpose processes that fetch, then write one day in one transaction; a blocking
/// API is the simplest correct thing for them. `Connection` is deliberately **not** `Sendable`: a libpq connection
/// must never be used by two threads at once, and the compiler enforces that by keeping a `Connection` in the
/// isolation domain that created it. Async callers (galaxyd) use ``DatabaseWorker``, which owns one connection on
/// one dedicated thread, so blocking libpq calls never run on Swift's cooperative pool.
///
/// Values always travel as parameters (`$1`, `$2`, … via `PQexecParams`), never spliced into SQL text. The session
/// is pinned to UTF-8, `DateStyle=ISO`, and `TimeZone=UTC` so that text-format results decode unambiguously.
public final class Connection {
    private var handle: OpaquePointer?
    /// Where this connection points, without the password.
    public let target: ConnectionTarget

    /// Opens a connection. `url` is a PostgreSQL URL or conninfo string; nil or empty uses libpq's defaults
    /// (`PGHOST`, `PGDATABASE`, … and the default socket). Fails with a ``PostgresError`` of kind `.connection`
    /// that names the target (without the password) and says to check `GALAXY_DATABASE_URL`.
    public init(url: String?) throws(PostgresError) {
        let conninfo = url ?? ""
        target = try ConnectionTarget(conninfo)
        // Later keywords override earlier ones: the timeout and the keepalives are defaults the URL may override;
        // the encoding is not.
        let defaults = [("connect_timeout", "10")] + ConnectionLiveness.clientDefaults
        let keywords = defaults.map(\.0) + ["dbname", "fallback_application_name", "client_encoding"]
        let values = defaults.map(\.1) + [conninfo, "galaxy", "UTF8"]
        let connection = Self.withCStrings(keywords) { keywordPointers in
            Self.withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(
                kind: .connection, message: "libpq could not allocate a connection", target: "\(target)")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = target.scrub(String(cString: PQerrorMessage(connection)).trimmingWhitespace)
            PQfinish(connection)
            throw PostgresError(kind: .connection, message: message, target: "\(target)")
        }
        handle = connection
        // Server NOTICEs ("relation already exists, skipping") would otherwise go to stderr through libpq.
        PQsetNoticeReceiver(connection, { _, _ in }, nil)
        do {
            try executeScript(
                "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
                    + ConnectionLiveness.serverSettings(serverVersion: Int(PQserverVersion(connection))))
        } catch {
            close()
            throw error
        }
    }

    /// Opens the database named by `GALAXY_DATABASE_URL` in `environment` (libpq defaults when unset).
    public convenience init(environment: [String: String]) throws(PostgresError) {
        let url = environment["GALAXY_DATABASE_URL"].map(\.trimmingWhitespace).flatMap { $0.isEmpty ? nil : $0 }
        try self.init(url: url)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Closes the connection; later calls fail with `.connectionLost`. Closing twice is harmless.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// False once closed, or when libpq has noticed that the server went away.
    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Open, and not closed by the server while it sat idle (a restart, `pg_terminate_backend`): reads whatever
    /// arrived since the last statement without blocking (libpq's socket is non-blocking). A worker asks this before
    /// each job so the job does not fail on a connection that died in between. A silent peer (a partition) still
    /// looks alive here; keepalives and deadlines deal with that.
    public var isUsable: Bool {
        // A server ending a session sends a FATAL message, then closes: one read may get only the message.
        guard let handle, PQconsumeInput(handle) == 1, PQconsumeInput(handle) == 1 else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The value libpq uses for a connection parameter (`keepalives_idle`, `host`, …), after defaults and the URL.
    func parameter(_ keyword: String) -> String? {
        guard let handle, let options = PQconninfo(handle) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    /// The server's version as an integer (`150018` for 15.18).
    public var serverVersion: Int {
        guard let handle else { return 0 }
        return Int(PQserverVersion(handle))
    }

    /// The server process serving this connection (for `pg_stat_activity`, `pg_terminate_backend`).
    public var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle)
    }

    /// True while a transaction is open (including one that failed and awaits ROLLBACK).
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    // MARK: - Queries

    /// Runs one statement with `$n` parameters bound from `parameters` (nil is SQL NULL) and returns its result.
    ///
    /// Parameters travel in text format with types inferred by the server from the statement, so cast where the
    /// context does not say (`$1::date`). Example: `try connection.query("SELECT close FROM prices WHERE ticker = $1
    /// AND date = $2", ["005930", date])`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws(PostgresError)
        -> QueryResult
    {
        let handle = try liveHandle()
        guard parameters.count <= 65_535 else {
            throw .usage("a statement takes at most 65535 parameters, got \(parameters.count); use COPY for bulk data")
        }
        let texts = parameters.map { $0?.postgresText }
        let result = Self.withOptionalCStrings(texts) { pointers in
            PQexecParams(handle, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
        }
        return try checked(result, sql: sql, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs one or more statements without parameters (simple-query protocol), as migrations need. Never pass
    /// values here: use ``query(_:_:)``.
    public func executeScript(_ sql: String) throws(PostgresError) {
        let handle = try liveHandle()
        let expected = [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY]
        _ = try checked(PQexec(handle, sql), sql: sql, expecting: expected)
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws (the error is rethrown).
    ///
    /// Inside another transaction this becomes a SAVEPOINT, so helpers can use `transaction` freely. If a statement
    /// inside failed but `body` swallowed the error, PostgreSQL turns COMMIT into ROLLBACK; that is reported as an
    /// error here rather than passing silently.
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        let nested = isInTransaction
        let savepoint = "galaxy_savepoint_\(savepointCounter)"
        if nested {
            savepointCounter += 1
            try executeScript("SAVEPOINT \(savepoint)")
        } else {
            try executeScript("BEGIN")
        }
        let value: T
        do {
            value = try body(self)
        } catch {
            if isOpen {
                if nested {
                    try? executeScript("ROLLBACK TO SAVEPOINT \(savepoint); RELEASE SAVEPOINT \(savepoint)")
                } else {
                    try? executeScript("ROLLBACK")
                }
            }
            throw error
        }
        if nested {
            try executeScript("RELEASE SAVEPOINT \(savepoint)")
        } else {
            let handle = try liveHandle()
            let result = try checked(PQexec(handle, "COMMIT"), sql: "COMMIT", expecting: [PGRES_COMMAND_OK])
            if result.commandTag == "ROLLBACK" {
                throw PostgresError(
                    kind: .server,
                    message: "the transaction was rolled back at COMMIT because a statement in it had failed",
                    sqlState: "25P02")
            }
        }
        return value
    }

    private var savepointCounter = 0

    // MARK: - COPY

    /// Runs `COPY … FROM STDIN` (text format) and streams the rows `write` produces; returns the rows loaded.
    ///
    /// `statement` is the COPY statement itself (identifiers only; quote them with ``quoteIdentifier(_:)``). If
    /// `write` throws, the COPY is aborted on the server and the error is rethrown; inside a transaction the
    /// transaction is then failed, so ``transaction(_:)`` rolls everything back.
    @discardableResult
    public func copyIn(_ statement: String, _ write: (CopyWriter) throws -> Void) throws -> Int {
        let handle = try liveHandle()
        _ = try checked(PQexec(handle, statement), sql: statement, expecting: [PGRES_COPY_IN])
        let writer = CopyWriter(connection: self)
        do {
            try write(writer)
            try writer.flush()
        } catch {
            _ = PQputCopyEnd(handle, "galaxy aborted the COPY")
            drainResults(handle)
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            let message = String(cString: PQerrorMessage(handle)).trimmingWhitespace
            drainResults(handle)
            throw PostgresError(kind: .connectionLost, message: target.scrub(message))
        }
        var loaded = 0
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            do {
                let checkedResult = try checked(result, sql: statement, expecting: [PGRES_COMMAND_OK])
                loaded = checkedResult.rowsAffected
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return loaded
    }

    /// Sends bytes of a COPY in progress (used by ``CopyWriter``).
    func putCopyData(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
        let handle = try liveHandle()
        guard !bytes.isEmpty else { return }
        let status = bytes.withMemoryRebound(to: CChar.self) { chars in
            PQputCopyData(handle, chars.baseAddress, Int32(chars.count))
        }
        guard status == 1 else {
            let message = String(cString: PQerrorMessage(handle)).trimmingWhitespace
            throw PostgresError(kind: .connectionLost, message: target.scrub(message))
        }
    }

    // MARK: - Helpers

    /// `name` as a quoted SQL identifier (`"prices"`, `"weird""name"`), for the rare statement that must name a
    /// table or column dynamically (COPY, temp tables). Values never go through here.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// Runs `body` with the raw handle, or returns nil when closed (for ``QueryCanceller``).
    func withHandle<R>(_ body: (OpaquePointer) -> R?) -> R? {
        guard let handle else { return nil }
        return body(handle)
    }

    private func liveHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(kind: .connectionLost, message: "the connection was closed")
        }
        return handle
    }

    private func drainResults(_ handle: OpaquePointer) {
        while let result = PQgetResult(handle) { PQclear(result) }
    }

    /// Wraps `result` (taking ownership) or turns it into an error with the server's fields.
    private func checked(_ result: OpaquePointer?, sql: String, expecting: [ExecStatusType]) throws(PostgresError)
        -> QueryResult
    {
        guard let result else {
            let message = handle.map { String(cString: PQerrorMessage($0)).trimmingWhitespace } ?? "no connection"
            throw PostgresError(
                kind: .connectionLost, message: target.scrub(message), statement: PostgresError.shorten(sql))
        }
        let status = PQresultStatus(result)
        if expecting.contains(status) { return QueryResult(result) }
        defer { PQclear(result) }
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue ?? 0)) else { return nil }
            return target.scrub(String(cString: value))
        }
        let sqlState = field("C")
        var message = field("M") ?? target.scrub(String(cString: PQresultErrorMessage(result)).trimmingWhitespace)
        if message.isEmpty {
            message = "unexpected result status \(String(cString: PQresStatus(status)))"
        }
        let lost = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
        throw PostgresError(
            kind: lost && sqlState == nil ? .connectionLost : .server,
            message: message, sqlState: sqlState, severity: field("V") ?? field("S"), detail: field("D"),
            hint: field("H"), statement: PostgresError.shorten(sql))
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { duplicates.forEach { free($0) } }
        duplicates.append(nil)
        return body(duplicates.map { $0.map { UnsafePointer($0) } })
    }

    private static func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
        defer { duplicates.forEach { free($0) } }
        return body(duplicates.map { $0.map { UnsafePointer($0) } })
    }
}
