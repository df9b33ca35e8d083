/// Writes compact JSON straight into bytes, fields in exactly the order given.
///
/// KRX's field order is part of the wire format (positional renames in pykrx depend on it) and the simulator must
/// answer byte-identically for the same request, so bodies are written by hand rather than through a dictionary.
struct JSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 4_096) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// `{"<key>":[` — the envelope of every screen.
    mutating func beginEnvelope(_ key: StaticString) {
        raw("{\"")
        raw(key)
        raw("\":[")
        needsComma = false
    }

    /// `],"CURRENT_DATETIME":"…"}` for the portal; `]}` for the Open API (no timestamp there).
    mutating func endEnvelope(currentDateTime: String?) {
        raw("]")
        if let currentDateTime {
            raw(",\"CURRENT_DATETIME\":")
            quoted(currentDateTime)
        }
        raw("}")
    }

    mutating func beginRow() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "{"))
        fieldCount = 0
    }

    mutating func endRow() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    private var fieldCount = 0

    private mutating func key(_ key: StaticString) {
        if fieldCount > 0 { bytes.append(UInt8(ascii: ",")) }
        fieldCount += 1
        bytes.append(UInt8(ascii: "\""))
        raw(key)
        raw("\":")
    }

    /// A string field.
    mutating func text(_ name: StaticString, _ value: String) {
        key(name)
        quoted(value)
    }

    /// `"1,234"` / `"-1,100"`.
    mutating func grouped(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        appendInteger(value, grouping: true)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"1234"` / `"-1100"`.
    mutating func plain(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        appendInteger(value, grouping: false)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Two decimals from hundredths: `"41,887.33"` (grouped) or `"41887.33"`.
    mutating func decimal(_ name: StaticString, hundredths value: Int64, grouping: Bool) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        appendDecimal(value, scale: 100, digits: 2, grouping: grouping)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"-"` — KRX's "no value".
    mutating func dash(_ name: StaticString) {
        key(name)
        raw("\"-\"")
    }

    mutating func quoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Fast path: names and numbers rarely need escaping.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func appendInteger(_ value: Int64, grouping: Bool) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // Digits are appended least significant first, then the appended range is reversed in place:
        // no temporary allocation per number (a whole-market day writes ~40,000 of them).
        let start = bytes.count
        var count = 0
        repeat {
            if grouping && count > 0 && count % 3 == 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
            count += 1
        } while magnitude > 0
        bytes[start...].reverse()
    }

    mutating func appendDecimal(_ value: Int64, scale: Int64, digits: Int, grouping: Bool) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = Int64(value.magnitude)
        appendInteger(magnitude / scale, grouping: grouping)
        bytes.append(UInt8(ascii: "."))
        var fraction = magnitude % scale
        let start = bytes.count
        for _ in 0..<digits {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction % 10))
            fraction /= 10
        }
        bytes[start...].reverse()
    }
}
