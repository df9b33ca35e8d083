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
        appendNumber(value, scale: 1, digits: 0, grouping: true, quoted: true)
    }

    /// `"1234"` / `"-1100"`.
    mutating func plain(_ name: StaticString, _ value: Int64) {
        key(name)
        appendNumber(value, scale: 1, digits: 0, grouping: false, quoted: true)
    }

    /// Two decimals from hundredths: `"41,887.33"` (grouped) or `"41887.33"`.
    mutating func decimal(_ name: StaticString, hundredths value: Int64, grouping: Bool) {
        key(name)
        appendNumber(value, scale: 100, digits: 2, grouping: grouping, quoted: true)
    }

    /// `"-"` — KRX's "no value".
    mutating func dash(_ name: StaticString) {
        key(name)
        raw("\"-\"")
    }

    mutating func quoted(_ value: String) {
        var value = value
        // Fast path: names and numbers rarely need escaping; native strings are contiguous UTF-8 already.
        let plain = value.withUTF8 { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
        if plain { return }
        bytes.append(UInt8(ascii: "\""))
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
        appendNumber(value, scale: 1, digits: 0, grouping: grouping, quoted: false)
    }

    mutating func appendDecimal(_ value: Int64, scale: Int64, digits: Int, grouping: Bool) {
        appendNumber(value, scale: scale, digits: digits, grouping: grouping, quoted: false)
    }

    /// `value / scale` with `digits` fraction digits (`scale` = 10^digits), optionally comma-grouped and quoted.
    ///
    /// Written right to left into a small stack buffer and appended at once: a whole-market day writes ~40,000
    /// numbers, and appending digit by digit (a capacity and uniqueness check each) was the renderer's top cost.
    private mutating func appendNumber(_ value: Int64, scale: Int64, digits: Int, grouping: Bool, quoted: Bool) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            var i = buffer.count
            func put(_ byte: UInt8) {
                i -= 1
                buffer[i] = byte
            }
            if quoted { put(UInt8(ascii: "\"")) }
            let magnitude = value.magnitude
            var whole = magnitude / UInt64(scale)
            if digits > 0 {
                var fraction = magnitude % UInt64(scale)
                for _ in 0..<digits {
                    put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction % 10))
                    fraction /= 10
                }
                put(UInt8(ascii: "."))
            }
            var count = 0
            repeat {
                if grouping && count > 0 && count % 3 == 0 { put(UInt8(ascii: ",")) }
                put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: whole % 10))
                whole /= 10
                count += 1
            } while whole > 0
            if value < 0 { put(UInt8(ascii: "-")) }
            if quoted { put(UInt8(ascii: "\"")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i...]))
        }
    }
}
