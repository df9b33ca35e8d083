/// Builds the rows of a `COPY … FROM STDIN` in PostgreSQL's text format and streams them in large chunks.
///
/// Call ``field(_:)`` once per column (nil is NULL) and ``endRow()`` after each row. Text is escaped here —
/// backslash, tab, newline and carriage return — so values containing them (or Korean text, which is plain UTF-8)
/// arrive intact; NULL is `\N`. Only ``Connection/copyIn(_:_:)`` creates one.
public final class CopyWriter {
    private unowned let connection: Connection
    private var buffer: [UInt8] = []
    private var fieldsInRow = 0
    /// Rows ended so far.
    public private(set) var rowCount = 0
    private static let flushThreshold = 1 << 20

    init(connection: Connection) {
        self.connection = connection
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// Appends one column value (nil is NULL).
    public func field(_ value: (any PostgresEncodable)?) {
        separate()
        guard let value else {
            appendNull()
            return
        }
        appendEscaped(value.postgresText)
    }

    /// Appends a text column (fast path: no existential).
    public func field(_ value: String?) {
        separate()
        guard let value else {
            appendNull()
            return
        }
        appendEscaped(value)
    }

    /// Appends an integer column (fast path: digits written directly).
    public func field(_ value: Int64?) {
        separate()
        guard let value else {
            appendNull()
            return
        }
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let first = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        buffer[first...].reverse()
    }

    /// Appends a NULL column (`copy.field(nil)` would not say which overload is meant).
    public func null() {
        separate()
        appendNull()
    }

    /// Ends the current row.
    public func endRow() throws(PostgresError) {
        buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        rowCount += 1
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends a whole row of values and ends it.
    public func row(_ values: [(any PostgresEncodable)?]) throws(PostgresError) {
        for value in values { field(value) }
        try endRow()
    }

    func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let connection = self.connection
        let result: Result<Void, PostgresError> = buffer.withUnsafeBytes { bytes in
            do throws(PostgresError) {
                try connection.putCopyData(bytes)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        buffer.removeAll(keepingCapacity: true)
    }

    private func separate() {
        if fieldsInRow > 0 { buffer.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
    }

    private func appendNull() {
        buffer.append(UInt8(ascii: "\\"))
        buffer.append(UInt8(ascii: "N"))
    }

    private func appendEscaped(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\")); buffer.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\t"): buffer.append(UInt8(ascii: "\\")); buffer.append(UInt8(ascii: "t"))
                case UInt8(ascii: "\n"): buffer.append(UInt8(ascii: "\\")); buffer.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): buffer.append(UInt8(ascii: "\\")); buffer.append(UInt8(ascii: "r"))
                default: buffer.append(byte)
                }
            }
        }
    }

    /// `text` escaped for COPY's text format (exposed for tests and the benchmark's `psql \copy` file).
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
