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
        if isMissing(text) { return nil }
        var digits = text.krxTrimmed.utf8[...]
        var negative = false
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        var value: Int64 = 0
        var sawDigit = false
        for byte in digits {
            if byte == UInt8(ascii: ",") {
                guard sawDigit else { throw ValueError.notANumber }
                continue
            }
            guard byte >= 0x30, byte <= 0x39 else { throw ValueError.notANumber }
            sawDigit = true
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(byte - 0x30))
            guard !overflow1, !overflow2 else { throw ValueError.outOfRange }
            value = sum
        }
        guard sawDigit, digits.last != UInt8(ascii: ",") else { throw ValueError.notANumber }
        return negative ? -value : value
    }

    /// A decimal (`"0.84"`, `"-2.56"`, `"41,887.33"`, `".25"`); nil for "-"/""; throws `ValueError` otherwise.
    static func decimal(_ text: String) throws(ValueError) -> Decimal? {
        if isMissing(text) { return nil }
        var cleaned: [UInt8] = []
        var sawDigit = false
        var sawPoint = false
        var index = 0
        for byte in text.krxTrimmed.utf8 {
            defer { index += 1 }
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard index == 0 else { throw ValueError.notANumber }
                if byte == UInt8(ascii: "-") { cleaned.append(byte) }
            case UInt8(ascii: ","):
                guard sawDigit, !sawPoint else { throw ValueError.notANumber }
            case UInt8(ascii: "."):
                guard !sawPoint else { throw ValueError.notANumber }
                sawPoint = true
                if !sawDigit { cleaned.append(UInt8(ascii: "0")) }
                cleaned.append(byte)
            case 0x30...0x39:
                sawDigit = true
                cleaned.append(byte)
            default:
                throw ValueError.notANumber
            }
        }
        guard sawDigit, cleaned.last != UInt8(ascii: ".") else { throw ValueError.notANumber }
        guard let value = Decimal(string: String(decoding: cleaned, as: UTF8.self), locale: posixLocale) else {
            throw ValueError.notANumber
        }
        return value
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
struct RowReader {
    let screen: String
    let index: Int
    let row: [String: JSONValue]

    /// Where the row is, for messages: `MDCSTAT01501 row 12`.
    var location: String { "\(screen) row \(index + 1)" }

    /// The raw string of a field that must be present.
    func string(_ field: String) throws(KRXError) -> String {
        guard let raw = row[field] else {
            throw .unexpectedResponse(reason: "\(location): field \(field) is missing")
        }
        guard case .string(let text) = raw else {
            throw .unexpectedResponse(reason: "\(location): field \(field) is \(raw.kindDescription), not a string")
        }
        return text
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
        let text = try string(field)
        do {
            return try KRXValue.int64(text)
        } catch {
            throw failure(field, text, error)
        }
    }

    func decimal(_ field: String) throws(KRXError) -> Decimal? {
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
        for field in fields where !KRXValue.isMissing(try string(field)) { return false }
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
