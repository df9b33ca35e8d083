import Foundation
import GalaxyCore

/// Strict conversions of KRX's string values. Every KRX value is a JSON string: `"1,234"`, `"-1,100"`, `"0.84"`,
/// `"41,887.33"`, `"-"` or `""` for "no value", `"2021/01/22"` or `"20210122"` for dates. "No value" becomes nil —
/// never 0, because a loss-maker's missing PER and a PER of 0 are different facts. Anything else that is not a
/// number is an error, so a changed format fails loudly instead of storing garbage.
enum KRXValue {
    /// True for KRX's two spellings of "no value".
    static func isMissing(_ text: String) -> Bool {
        let trimmed = text.krxTrimmed
        return trimmed.isEmpty || trimmed == "-"
    }

    /// An integer with optional thousands separators and sign; nil for "-"/""; throws `ValueError` otherwise.
    static func int64(_ text: String) throws(ValueError) -> Int64? {
        var text = text.krxTrimmed
        return try text.withUTF8 { bytes in Result { () throws(ValueError) in try int64(trimmed: bytes) } }.get()
    }

    /// A decimal (`"0.84"`, `"-2.56"`, `"41,887.33"`, `".25"`); nil for "-"/""; throws `ValueError` otherwise.
    static func decimal(_ text: String) throws(ValueError) -> Decimal? {
        var text = text.krxTrimmed
        return try text.withUTF8 { bytes in Result { () throws(ValueError) in try decimal(trimmed: bytes) } }.get()
    }

    /// `int64(_:)` on a value's bytes as they stand in the body. ASCII white space around the value is ignored; a
    /// value with any other byte outside ASCII takes the `String` path, whose trimming knows all of Unicode's spaces.
    static func int64(bytes: UnsafeBufferPointer<UInt8>) throws(ValueError) -> Int64? {
        if let first = bytes.first, let last = bytes.last, isPlain(first), isPlain(last) {
            // Nothing to trim (nearly every value): parse in place; only a failure needs a closer look.
            do {
                return try int64(trimmed: bytes)
            } catch {
                guard bytes.contains(where: { $0 >= 0x80 }) else { throw error }
            }
        }
        guard let trimmed = asciiTrimmed(bytes) else {
            return try int64(String(decoding: bytes, as: UTF8.self))
        }
        return try int64(trimmed: trimmed)
    }

    /// Printable ASCII other than space: never trimmed, never part of a multi-byte character.
    @inline(__always)
    static func isPlain(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// `decimal(_:)` on a value's bytes as they stand in the body (see `int64(bytes:)`).
    static func decimal(bytes: UnsafeBufferPointer<UInt8>) throws(ValueError) -> Decimal? {
        if let first = bytes.first, let last = bytes.last, isPlain(first), isPlain(last) {
            do {
                return try decimal(trimmed: bytes)
            } catch {
                guard bytes.contains(where: { $0 >= 0x80 }) else { throw error }
            }
        }
        guard let trimmed = asciiTrimmed(bytes) else {
            return try decimal(String(decoding: bytes, as: UTF8.self))
        }
        return try decimal(trimmed: trimmed)
    }

    /// Whether already-trimmed bytes are KRX's "no value" (`""` or `"-"`).
    @inline(__always)
    static func isMissing(trimmed bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.isEmpty || (bytes.count == 1 && bytes[0] == UInt8(ascii: "-"))
    }

    /// Bytes without surrounding ASCII white space; nil when any byte is outside ASCII.
    static func asciiTrimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var start = 0
        var end = bytes.count
        for byte in bytes where byte >= 0x80 { return nil }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// The integer grammar on trimmed bytes: `[+-]d[d,]*` with no trailing comma.
    static func int64(trimmed bytes: UnsafeBufferPointer<UInt8>) throws(ValueError) -> Int64? {
        if isMissing(trimmed: bytes) { return nil }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        // Accumulated negatively so that Int64.min parses too.
        var value: Int64 = 0
        var sawDigit = false
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            if byte == UInt8(ascii: ",") {
                guard sawDigit else { throw ValueError.notANumber }
                continue
            }
            guard byte >= 0x30, byte <= 0x39 else { throw ValueError.notANumber }
            sawDigit = true
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.subtractingReportingOverflow(Int64(byte &- 0x30))
            guard !overflow1, !overflow2 else { throw ValueError.outOfRange }
            value = sum
        }
        guard sawDigit, bytes[bytes.count - 1] != UInt8(ascii: ",") else { throw ValueError.notANumber }
        if negative { return value }
        guard value != .min else { throw ValueError.outOfRange }
        return -value
    }

    /// The decimal grammar on trimmed bytes: `[+-]` digits with commas before the point, an optional point with at
    /// least one digit after it (`.25` is 0.25, `5.` is not a number). Built from the digits as an integer and a
    /// power of ten, without `Decimal(string:)` (which cost ~1 µs per value, ~15,000 values per ETF day).
    static func decimal(trimmed bytes: UnsafeBufferPointer<UInt8>) throws(ValueError) -> Decimal? {
        if isMissing(trimmed: bytes) { return nil }
        var negative = false
        var sawDigit = false
        var sawPoint = false
        var mantissa: UInt64 = 0
        var digitsAfterPoint = 0
        var overflow = false
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard index == 0 else { throw ValueError.notANumber }
                negative = byte == UInt8(ascii: "-")
            case UInt8(ascii: ","):
                guard sawDigit, !sawPoint else { throw ValueError.notANumber }
            case UInt8(ascii: "."):
                guard !sawPoint else { throw ValueError.notANumber }
                sawPoint = true
            case 0x30...0x39:
                sawDigit = true
                if sawPoint { digitsAfterPoint += 1 }
                let (shifted, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (sum, o2) = shifted.addingReportingOverflow(UInt64(byte &- 0x30))
                if o1 || o2 { overflow = true }
                mantissa = sum
            default:
                throw ValueError.notANumber
            }
        }
        guard sawDigit, bytes[bytes.count - 1] != UInt8(ascii: ".") else { throw ValueError.notANumber }
        if overflow {
            // More than 19 significant digits: rare enough for Foundation's parser.
            var cleaned: [UInt8] = negative ? [UInt8(ascii: "-")] : []
            var digitSeen = false
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "."):
                    if !digitSeen { cleaned.append(UInt8(ascii: "0")) }
                    cleaned.append(byte)
                case 0x30...0x39:
                    digitSeen = true
                    cleaned.append(byte)
                default:
                    continue
                }
            }
            guard let value = Decimal(string: String(decoding: cleaned, as: UTF8.self), locale: posixLocale) else {
                throw ValueError.notANumber
            }
            return value
        }
        return makeDecimal(negative: negative, mantissa: mantissa, scale: digitsAfterPoint)
    }

    /// `±mantissa × 10^-scale`, with trailing zeros of the fraction dropped as `Decimal(string:)` drops them.
    @inline(__always)
    static func makeDecimal(negative: Bool, mantissa: UInt64, scale: Int) -> Decimal {
        var mantissa = mantissa
        var scale = scale
        if mantissa == 0 { return Decimal.zero }
        while scale > 0, mantissa % 10 == 0 {
            mantissa /= 10
            scale -= 1
        }
        return Decimal(sign: negative ? .minus : .plus, exponent: -scale, significand: Decimal(mantissa))
    }

    /// A date `YYYY/MM/DD`, `YYYYMMDD` or `YYYY-MM-DD`; nil for "-"/""; throws otherwise.
    static func date(_ text: String) throws(ValueError) -> TradeDate? {
        if isMissing(text) { return nil }
        guard let date = TradeDate(text.krxTrimmed) else { throw ValueError.notADate }
        return date
    }

    /// A ticker (`005930`, `00104K`): ASCII letters and digits, 1–12 characters. Never a number.
    static func ticker(_ text: String) throws(ValueError) -> String {
        let trimmed = text.krxTrimmed
        guard !trimmed.isEmpty, trimmed.utf8.count <= 12,
            trimmed.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) })
        else { throw ValueError.notATicker }
        return trimmed
    }

    private static let posixLocale = Locale(identifier: "en_US_POSIX")
}

enum ValueError: Error {
    case notANumber, outOfRange, notADate, notATicker

    var expectation: String {
        switch self {
        case .notANumber: "not a number"
        case .outOfRange: "out of the 64-bit range"
        case .notADate: "not a date"
        case .notATicker: "not a ticker (1-12 ASCII letters and digits)"
        }
    }
}

/// Reads one row of a KRX response, naming screen, row and field in every error.
///
/// Two backings: a parsed `[String: JSONValue]` (the Open API, small answers) or the spans the `PortalScanner` found
/// in the body (the portal's whole-market answers), where numbers are read straight from the bytes.
struct RowReader {
    let screen: String
    let index: Int
    private let source: Source

    private enum Source {
        case values([String: JSONValue])
        case spans(table: FieldTable, slots: UnsafeBufferPointer<ValueSpan>, body: UnsafeBufferPointer<UInt8>)
    }

    init(screen: String, index: Int, row: [String: JSONValue]) {
        self.screen = screen
        self.index = index
        self.source = .values(row)
    }

    /// A row the scanner found; valid only while `body` and `slots` are (inside the scan's callback).
    init(screen: String, index: Int, table: FieldTable, slots: UnsafeBufferPointer<ValueSpan>,
         body: UnsafeBufferPointer<UInt8>) {
        self.screen = screen
        self.index = index
        self.source = .spans(table: table, slots: slots, body: body)
    }

    /// Where the row is, for messages: `MDCSTAT01501 row 12`.
    var location: String { "\(screen) row \(index + 1)" }

    /// The raw string of a field that must be present.
    func string(_ field: String) throws(KRXError) -> String {
        switch source {
        case .values(let row):
            guard let raw = row[field] else {
                throw .unexpectedResponse(reason: "\(location): field \(field) is missing")
            }
            guard case .string(let text) = raw else {
                throw .unexpectedResponse(reason: "\(location): field \(field) is \(raw.kindDescription), not a string")
            }
            return text
        case .spans(_, _, let body):
            let span = try stringSpan(field)
            // Validated by the scanner (UTF-8, escapes): decoding cannot fail here.
            return PortalScanner.text(of: span, in: body) ?? ""
        }
    }

    /// The span of a string field, for the byte-level conversions.
    private func stringSpan(_ field: String) throws(KRXError) -> ValueSpan {
        guard case .spans(let table, let slots, _) = source else { preconditionFailure("not a scanned row") }
        guard let slot = table.slot(of: field) else {
            assertionFailure("\(field) is not in the field table of \(screen)")
            throw .unexpectedResponse(reason: "\(location): field \(field) is not read by this parser")
        }
        let span = slots[slot]
        switch span.kind {
        case .absent:
            throw .unexpectedResponse(reason: "\(location): field \(field) is missing")
        case .string, .escapedString:
            return span
        default:
            throw .unexpectedResponse(reason: "\(location): field \(field) is \(span.kindDescription), not a string")
        }
    }

    /// The unescaped bytes of a string field, or nil when it has escapes (then the `String` path decodes it).
    private func plainBytes(_ field: String) throws(KRXError) -> UnsafeBufferPointer<UInt8>? {
        guard case .spans(_, _, let body) = source else { return nil }
        let span = try stringSpan(field)
        guard span.kind == .string else { return nil }
        return UnsafeBufferPointer(rebasing: body[span.start..<span.end])
    }

    /// A text field that must carry a value.
    func required(_ field: String) throws(KRXError) -> String {
        let text = try string(field)
        guard !KRXValue.isMissing(text) else {
            throw .unexpectedResponse(reason: "\(location): field \(field) is empty")
        }
        return text.krxTrimmed
    }

    /// A text field where "-" and "" mean no value.
    func text(_ field: String) throws(KRXError) -> String? {
        if let bytes = try plainBytes(field), let trimmed = KRXValue.asciiTrimmed(bytes),
            KRXValue.isMissing(trimmed: trimmed)
        {
            return nil
        }
        let text = try string(field)
        return KRXValue.isMissing(text) ? nil : text.krxTrimmed
    }

    func ticker(_ field: String) throws(KRXError) -> String {
        let text = try string(field)
        do {
            return try KRXValue.ticker(text)
        } catch {
            throw failure(field, text, error)
        }
    }

    func int64(_ field: String) throws(KRXError) -> Int64? {
        if let bytes = try plainBytes(field) {
            do {
                return try KRXValue.int64(bytes: bytes)
            } catch {
                throw failure(field, String(decoding: bytes, as: UTF8.self), error)
            }
        }
        let text = try string(field)
        do {
            return try KRXValue.int64(text)
        } catch {
            throw failure(field, text, error)
        }
    }

    func decimal(_ field: String) throws(KRXError) -> Decimal? {
        if let bytes = try plainBytes(field) {
            do {
                return try KRXValue.decimal(bytes: bytes)
            } catch {
                throw failure(field, String(decoding: bytes, as: UTF8.self), error)
            }
        }
        let text = try string(field)
        do {
            return try KRXValue.decimal(text)
        } catch {
            throw failure(field, text, error)
        }
    }

    func date(_ field: String) throws(KRXError) -> TradeDate? {
        let text = try string(field)
        do {
            return try KRXValue.date(text)
        } catch {
            throw failure(field, text, error)
        }
    }

    /// True when every named field is "-" or "": the shape of a closed day.
    func allMissing(_ fields: [String]) throws(KRXError) -> Bool {
        for field in fields {
            if let bytes = try plainBytes(field), let trimmed = KRXValue.asciiTrimmed(bytes) {
                if !KRXValue.isMissing(trimmed: trimmed) { return false }
                continue
            }
            if !KRXValue.isMissing(try string(field)) { return false }
        }
        return true
    }

    private func failure(_ field: String, _ text: String, _ error: ValueError) -> KRXError {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return .unexpectedResponse(reason: "\(location): field \(field) is \"\(shown)\", \(error.expectation)")
    }
}

extension StringProtocol {
    /// Without leading and trailing white space, CR LF included. (Swift treats "\r\n" as ONE Character, so a
    /// Character-wise comparison with "\r" or "\n" misses it: header lines and Windows-edited files end that way.)
    ///
    /// Nearly every KRX value has nothing to trim, and Foundation's trimming costs a bridge per call (a whole-market
    /// day has ~45,000 fields), so a value that starts and ends with a scalar that is certainly not white space
    /// (printable ASCII, Hangul) is returned as it is.
    var krxTrimmed: String {
        if let first = unicodeScalars.first, let last = unicodeScalars.last, first.isCertainlyNotSpace,
            last.isCertainlyNotSpace
        {
            return String(self)
        }
        return String(self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Unicode.Scalar {
    /// Printable ASCII or a Hangul syllable or jamo: none of these is white space in any Unicode version.
    fileprivate var isCertainlyNotSpace: Bool {
        switch value {
        case 0x21...0x7E, 0xAC00...0xD7A3, 0x1100...0x11FF, 0x3131...0x318E: true
        default: false
        }
    }
}
