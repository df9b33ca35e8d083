import FoundationEssentials
import GalaxyCore

/// Builds the rows of a `COPY … FROM STDIN` in PostgreSQL's text format and streams them in chunks.
///
/// Call ``field(_:)`` once per column (nil is NULL) and ``endRow()`` after each row. Text is escaped here —
/// backslash, tab, newline and carriage return — so values containing them (or Korean text, which is plain UTF-8)
/// arrive intact; NULL is `\N`. Only ``Connection/copyIn(_:_:)`` creates one.
///
/// This is the write path's hot loop (one call per field of every stored row), so the typed overloads write bytes
/// straight into one buffer without making a `String` per value, and the buffer goes to the server every
/// ``flushThreshold`` bytes: on a machine with few cores the server parses one chunk while this side builds the next,
/// instead of waiting for a whole day's rows.
public final class CopyWriter {
    private unowned let connection: Connection
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var fieldsInRow = 0
    /// Rows ended so far.
    public private(set) var rowCount = 0
    /// Bytes sent per `PQputCopyData`: large enough that the per-call cost vanishes, small enough that the server
    /// starts on the first rows while later ones are still being written.
    static let flushThreshold = 64 << 10

    init(connection: Connection) {
        self.connection = connection
        capacity = Self.flushThreshold + 8192
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    // MARK: - Fields

    /// Appends one column value (nil is NULL).
    public func field(_ value: (any PostgresEncodable)?) {
        switch value {
        case nil: null()
        case let text as String: field(text)
        case let integer as Int64: field(integer)
        case let decimal as Decimal: field(decimal)
        case let date as TradeDate: field(date)
        case let value?:
            separate()
            appendEscaped(value.postgresText)
        }
    }

    /// Appends a text column (fast path: no existential).
    public func field(_ value: String?) {
        separate()
        guard let value else { return appendNull() }
        appendEscaped(value)
    }

    /// Appends an integer column (digits written directly).
    public func field(_ value: Int64?) {
        separate()
        guard let value else { return appendNull() }
        appendInteger(value)
    }

    /// Appends a NUMERIC column in plain notation (`-12.345`), the same text as `Decimal.postgresText`.
    public func field(_ value: Decimal?) {
        separate()
        guard let value else { return appendNull() }
        if !DecimalDigits.write(value, into: self) { appendEscaped(value.postgresText) }
    }

    /// Appends a date column (`2024-01-02`).
    public func field(_ value: TradeDate?) {
        separate()
        guard let value else { return appendNull() }
        reserve(16)
        if value.year < 0 || value.year > 9999 { return appendEscaped(value.postgresText) }
        appendPadded(value.year, width: 4)
        put(UInt8(ascii: "-"))
        appendPadded(value.month, width: 2)
        put(UInt8(ascii: "-"))
        appendPadded(value.day, width: 2)
    }

    /// Appends a NULL column (`copy.field(nil)` would not say which overload is meant).
    public func null() {
        separate()
        appendNull()
    }

    /// Ends the current row.
    public func endRow() throws(PostgresError) {
        reserve(1)
        put(UInt8(ascii: "\n"))
        fieldsInRow = 0
        rowCount += 1
        if count >= Self.flushThreshold { try flush() }
    }

    /// Appends a whole row of values and ends it.
    public func row(_ values: [(any PostgresEncodable)?]) throws(PostgresError) {
        for value in values { field(value) }
        try endRow()
    }

    func flush() throws(PostgresError) {
        guard count > 0 else { return }
        try connection.putCopyData(UnsafeRawBufferPointer(start: storage, count: count))
        count = 0
    }

    // MARK: - Bytes

    @inline(__always)
    fileprivate func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity = newCapacity
    }

    /// Appends one byte; the caller has reserved room for it.
    @inline(__always)
    fileprivate func put(_ byte: UInt8) {
        storage[count] = byte
        count += 1
    }

    /// Reserves `length` bytes and returns where they start; the caller fills all of them.
    @inline(__always)
    fileprivate func claim(_ length: Int) -> UnsafeMutablePointer<UInt8> {
        reserve(length)
        let start = storage + count
        count += length
        return start
    }

    private func separate() {
        if fieldsInRow > 0 {
            reserve(1)
            put(UInt8(ascii: "\t"))
        }
        fieldsInRow += 1
    }

    private func appendNull() {
        reserve(2)
        put(UInt8(ascii: "\\"))
        put(UInt8(ascii: "N"))
    }

    private func appendInteger(_ value: Int64) {
        reserve(20)
        if value < 0 { put(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        let start = claim(digits)
        var index = digits
        repeat {
            index -= 1
            start[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while index > 0
    }

    /// `value` (0…9999) in decimal, zero-padded to `width` digits; room already reserved.
    private func appendPadded(_ value: Int, width: Int) {
        var value = value
        let start = claim(width)
        var index = width
        while index > 0 {
            index -= 1
            start[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
            value /= 10
        }
    }

    private func appendEscaped(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in appendEscaped(bytes) }
        if copied == nil {
            var text = text
            text.withUTF8 { bytes in appendEscaped(bytes) }
        }
    }

    private func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count * 2)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "\\"))
            case UInt8(ascii: "\t"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "t"))
            case UInt8(ascii: "\n"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): put(UInt8(ascii: "\\")); put(UInt8(ascii: "r"))
            default: put(byte)
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

// MARK: - Decimal digits without a String per value

/// Writes a `Decimal` in plain notation straight from its 128-bit mantissa and exponent.
///
/// `Decimal`'s text conversion (`description`, `NSDecimalNumber`) costs about a microsecond and a String per value,
/// which made NUMERIC columns the most expensive part of building a COPY. `Decimal` does not expose its mantissa
/// publicly, so this reads its fixed, C-compatible layout (`NSDecimal`: an 8-bit exponent, a byte of 4-bit length +
/// sign + compact flags, 2 reserved bytes, eight 16-bit mantissa words, least significant first). That layout is
/// checked once against `Decimal.description` on known values (``layoutMatches``); if it ever differs, every value
/// takes the slow but certain path instead.
enum DecimalDigits {
    /// Whether the layout read below agrees with Foundation on a set of known values.
    static let layoutMatches: Bool = {
        let samples = [
            "0", "-0.45", "1.5", "35012.34", "-15", "100000", "0.000000000000000000000000000001",
            "123456789012345678901234567890.12345678", "-99999999999999999999999999999999999999",
            "18446744073709551616",
        ]
        return samples.allSatisfy { sample in
            guard let value = Decimal(string: sample), let text = render(value) else { return false }
            return text == value.description
        }
    }()

    /// Appends `value`'s digits to `writer`; returns false (writing nothing) when the value needs the slow path.
    static func write(_ value: Decimal, into writer: CopyWriter) -> Bool {
        guard layoutMatches, let parts = parts(of: value) else { return false }
        emit(parts, into: writer)
        return true
    }

    /// The text this type writes for `value` (for the layout check).
    static func render(_ value: Decimal) -> String? {
        guard let parts = parts(of: value) else { return nil }
        var digits: [UInt8] = []
        emit(parts) { digits.append($0) }
        return String(decoding: digits, as: UTF8.self)
    }

    private struct Parts {
        var negative: Bool
        var exponent: Int
        var mantissa: UInt128
    }

    /// Sign, exponent and mantissa read from the layout; nil for NaN or a layout this code does not understand.
    private static func parts(of value: Decimal) -> Parts? {
        guard MemoryLayout<Decimal>.size == 20 else { return nil }
        return withUnsafeBytes(of: value) { bytes -> Parts? in
            let exponent = Int(Int8(bitPattern: bytes[0]))
            let flags = bytes[1]
            let length = Int(flags >> 4)
            let negative = flags & 0x08 != 0
            guard length <= 8 else { return nil }
            if length == 0 {
                // Zero, or NaN (length 0 with the sign bit).
                return negative ? nil : Parts(negative: false, exponent: 0, mantissa: 0)
            }
            var mantissa: UInt128 = 0
            for word in stride(from: length - 1, through: 0, by: -1) {
                let low = UInt128(bytes[4 + 2 * word])
                let high = UInt128(bytes[5 + 2 * word])
                mantissa = mantissa << 16 | high << 8 | low
            }
            return Parts(negative: negative, exponent: exponent, mantissa: mantissa)
        }
    }

    private static func emit(_ parts: Parts, into writer: CopyWriter) {
        // A sign, "0.", 128 zeros of exponent and 39 digits at most.
        writer.reserve(200)
        emit(parts) { writer.put($0) }
    }

    private static func emit(_ parts: Parts, _ sink: (UInt8) -> Void) {
        var digits = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let length = withUnsafeMutableBytes(of: &digits) { buffer -> Int in
            digitsOf(parts.mantissa, into: buffer)
        }
        withUnsafeBytes(of: &digits) { buffer in
            layOut(parts, digits: UnsafeRawBufferPointer(rebasing: buffer[(40 - length)...]), sink)
        }
    }

    /// Writes the decimal digits of `mantissa` right-aligned into the 40-byte `buffer`; returns how many.
    private static func digitsOf(_ mantissa: UInt128, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var index = 40
        if mantissa <= UInt128(UInt64.max) {
            var small = UInt64(mantissa)
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: small % 10)
                small /= 10
            } while small > 0
        } else {
            var large = mantissa
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: large % 10)
                large /= 10
            } while large > 0
        }
        return 40 - index
    }

    /// Sign, integer digits, point and fraction digits, as `Decimal.description` writes them.
    private static func layOut(_ parts: Parts, digits: UnsafeRawBufferPointer, _ sink: (UInt8) -> Void) {
        if parts.mantissa == 0 {
            sink(UInt8(ascii: "0"))
            return
        }
        if parts.negative { sink(UInt8(ascii: "-")) }
        if parts.exponent >= 0 {
            for digit in digits { sink(digit) }
            for _ in 0..<parts.exponent { sink(UInt8(ascii: "0")) }
            return
        }
        let fraction = -parts.exponent
        if fraction >= digits.count {
            sink(UInt8(ascii: "0"))
            sink(UInt8(ascii: "."))
            for _ in 0..<(fraction - digits.count) { sink(UInt8(ascii: "0")) }
            for digit in digits { sink(digit) }
        } else {
            let integerDigits = digits.count - fraction
            for digit in digits[..<integerDigits] { sink(digit) }
            sink(UInt8(ascii: "."))
            for digit in digits[integerDigits...] { sink(digit) }
        }
    }
}
