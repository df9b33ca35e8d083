import FoundationEssentials
import GalaxyCore

// Text-format encoding and decoding of the types galaxy stores. libpq's text format is what psql shows, so a value
// that looks wrong in a test failure looks the same in `psql`; the session is pinned to DateStyle ISO, TimeZone UTC
// and client_encoding UTF8 when it connects (see `Connection`), which makes every format below unambiguous.

/// A Swift value that can be sent as a query parameter or a COPY field, in PostgreSQL's text format.
public protocol PostgresEncodable {
    /// The value as PostgreSQL's text input function reads it (`42`, `2024-01-02`, `t`, `{"a":1}`).
    var postgresText: String { get }
}

/// A Swift value that can be read from a result column in text format. `Optional` conforms when its wrapped type
/// does, and reads NULL as nil; every other type rejects NULL, so a schema that allows NULL where the code does not
/// expect it fails loudly with the column's name.
public protocol PostgresDecodable {
    /// Decodes `text` (nil for SQL NULL). Throws a ``PostgresValueError`` saying what was wrong with the value.
    static func decodePostgres(_ text: String?) throws(PostgresValueError) -> Self
}

/// Why one value could not be decoded. ``Row`` wraps it into a ``PostgresError`` naming the column.
public enum PostgresValueError: Error, Sendable, Equatable {
    case unexpectedNull
    case invalid(String)
}

/// A type decodable from a non-NULL text value: implement `init?(postgresText:)` and NULL handling comes for free.
public protocol PostgresTextDecodable: PostgresDecodable {
    init?(postgresText text: String)
}

extension PostgresTextDecodable {
    public static func decodePostgres(_ text: String?) throws(PostgresValueError) -> Self {
        guard let text else { throw .unexpectedNull }
        guard let value = Self(postgresText: text) else { throw .invalid(text) }
        return value
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decodePostgres(_ text: String?) throws(PostgresValueError) -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decodePostgres(text)
    }
}

// MARK: - Text

extension String: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { self }
    public init?(postgresText text: String) { self = text }
}

extension Substring: PostgresEncodable {
    public var postgresText: String { String(self) }
}

// MARK: - Integers

extension Int64: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText text: String) { self.init(text, radix: 10) }
}

extension Int: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText text: String) { self.init(text, radix: 10) }
}

extension Int32: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText text: String) { self.init(text, radix: 10) }
}

extension Int16: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText text: String) { self.init(text, radix: 10) }
}

// MARK: - Bool and floating point

extension Bool: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { self ? "t" : "f" }
    public init?(postgresText text: String) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Double: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return String(self)
    }
    public init?(postgresText text: String) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default: self.init(text)
        }
    }
}

// MARK: - NUMERIC

extension Decimal: PostgresEncodable, PostgresTextDecodable {
    /// Plain notation (`-12.345`), never exponent form, in the POSIX locale whatever the process's locale.
    public var postgresText: String {
        if isNaN { return "NaN" }
        return description  // FoundationEssentials' Decimal prints plain notation with '.', whatever the locale
    }

    /// Reads NUMERIC's text output (`-12.3400`, `NaN`). Foundation's `Decimal` keeps 38 significant digits; a
    /// NUMERIC beyond that is rejected rather than silently rounded.
    public init?(postgresText text: String) {
        if text == "NaN" {
            self = .nan
            return
        }
        // Count significant digits: leading and trailing zeros live in Decimal's exponent, not in its 38-digit
        // mantissa; only zeros between significant digits count.
        var digits = 0
        var significant = 0
        var pendingZeros = 0
        var sawPoint = false
        for (offset, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0"):
                digits += 1
                if significant > 0 { pendingZeros += 1 }
            case UInt8(ascii: "1")...UInt8(ascii: "9"):
                digits += 1
                significant += pendingZeros + 1
                pendingZeros = 0
            case UInt8(ascii: "."):
                guard !sawPoint else { return nil }
                sawPoint = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard offset == 0 else { return nil }
            default: return nil
            }
        }
        guard digits > 0 else { return nil }
        guard significant <= 38 else { return nil }
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        self = value
    }
}

// MARK: - Dates and times

extension TradeDate: PostgresEncodable, PostgresTextDecodable {
    public var postgresText: String { iso }
    /// DATE in DateStyle ISO (`2024-01-02`).
    public init?(postgresText text: String) {
        guard text.utf8.count == 10 else { return nil }
        self.init(text)
    }
}

extension Date: PostgresEncodable, PostgresTextDecodable {
    /// TIMESTAMPTZ input in UTC with microseconds (`2024-01-02 03:04:05.678901+00`).
    public var postgresText: String {
        let totalMicros = (timeIntervalSince1970 * 1_000_000).rounded()
        let micros = Int64(totalMicros)
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let date = TradeDate(daysSinceEpoch: Int(days))
        let hour = secondOfDay / 3600
        let minute = secondOfDay % 3600 / 60
        let second = secondOfDay % 60
        return "\(date.iso) \(Self.pad(hour)):\(Self.pad(minute)):\(Self.pad(second)).\(Self.pad(fraction, 6))+00"
    }

    /// TIMESTAMPTZ output in DateStyle ISO with any offset (`2024-01-02 12:04:05.5+09`, `…+05:30`); `infinity`
    /// and `-infinity` map to `distantFuture` and `distantPast`.
    public init?(postgresText text: String) {
        if text == "infinity" {
            self = .distantFuture
            return
        }
        if text == "-infinity" {
            self = .distantPast
            return
        }
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T"),
            let date = TradeDate(String(decoding: bytes[0..<10], as: UTF8.self)),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = Self.number(bytes[11..<13]), let minute = Self.number(bytes[14..<16]),
            let second = Self.number(bytes[17..<19])
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign: Int
            switch bytes[index] {
            case UInt8(ascii: "+"): sign = 1
            case UInt8(ascii: "-"): sign = -1
            default: return nil
            }
            index += 1
            let parts = String(decoding: bytes[index...], as: UTF8.self).split(separator: ":")
            guard (1...3).contains(parts.count) else { return nil }
            var multiplier = 3600
            for part in parts {
                guard part.utf8.count == 2, let value = Int(part) else { return nil }
                offsetSeconds += value * multiplier
                multiplier /= 60
            }
            offsetSeconds *= sign
        }
        let seconds = date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self = Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard let digit = digit(byte) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func pad(_ value: Int64, _ width: Int = 2) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

// MARK: - JSON

/// A `json`/`jsonb` value as its text. PostgreSQL normalises jsonb (key order, spacing), so compare decoded values,
/// not text. Build one from any `Encodable` with ``init(encoding:)`` and read it back with ``decode(_:)``.
public struct PostgresJSON: PostgresEncodable, PostgresTextDecodable, Sendable, Hashable, CustomStringConvertible {
    public var text: String

    public init(_ text: String) { self.text = text }

    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public init?(postgresText text: String) { self.text = text }

    public var postgresText: String { text }

    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    public var description: String { text }
}

// MARK: - bytea

/// `bytea` contents. Encoded in hex format (`\x0a1b`), which is what the server sends back by default.
public struct PostgresBytes: PostgresEncodable, PostgresTextDecodable, Sendable, Hashable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var postgresText: String {
        let hex: [Character] = Array("0123456789abcdef")
        var text = "\\x"
        text.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return text
    }

    public init?(postgresText text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0
        else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }
}
