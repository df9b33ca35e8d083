import GalaxyCore

/// The fields one screen's parser reads, in the order KRX usually sends them.
///
/// A whole-market answer is ~2,900 rows × ~17 fields. Building a `[String: JSONValue]` per row (a `String` per key and
/// per value, a hashed dictionary) cost more than everything else the collector does with a day; the scanner instead
/// matches each key's bytes against this table and keeps only where each wanted value lies in the body.
struct FieldTable: Sendable {
    let names: [String]
    fileprivate let keys: [[UInt8]]
    private let lengths: [Int]

    init(_ names: [String]) {
        self.names = names
        self.keys = names.map { Array($0.utf8) }
        self.lengths = names.map(\.utf8.count)
    }

    /// The slot of `name`, nil when the table does not hold it (a parser asking for a field it did not declare).
    func slot(of name: String) -> Int? {
        // Lengths first: a String comparison of two different names is a call into the runtime, a length is not.
        let length = name.utf8.count
        for index in lengths.indices where lengths[index] == length && names[index] == name { return index }
        return nil
    }
}

/// Where one member's value lies in the body.
struct ValueSpan {
    enum Kind: UInt8 {
        /// The row had no member of that name.
        case absent
        /// A string without escapes: `start..<end` are its UTF-8 bytes (validated), without the quotes.
        case string
        /// A string with backslash escapes: `start..<end` are the raw bytes between the quotes.
        case escapedString
        case null, bool, number, array, object
    }

    var start: Int
    var end: Int
    var kind: Kind

    static let absent = ValueSpan(start: 0, end: 0, kind: .absent)

    /// Like `JSONValue.kindDescription`, for "field X is a number, not a string".
    var kindDescription: String {
        switch kind {
        case .absent: "absent"
        case .string, .escapedString: "a string"
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A strict, allocation-free JSON scanner for KRX's envelope `{"<key>":[{…},…],"CURRENT_DATETIME":"…"}`.
///
/// It accepts exactly what `JSONValue(parsing:)` accepts (RFC 8259, UTF-8, a leading byte order mark) — so a
/// truncated or garbled answer is still "malformed JSON", retried by the transport — but it keeps nothing except the
/// spans of the wanted fields of the current row.
struct PortalScanner {
    struct Malformed: Error {
        let message: String
        let offset: Int
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    /// What the top level held besides the rows, for the error messages of `KRXJSON.rows`.
    enum Outcome {
        case rows(count: Int)
        case notAnObject
        case noKey(keys: [String])
        case notAList
    }

    /// Scans the whole body; `row` is called for each element of the `key` list with the element's index and the
    /// spans of `table`'s fields (or nil when the element is not an object). The body's syntax is checked to its end
    /// before anything but a syntax error is reported: a row error thrown by `row` is rethrown only when the rest of
    /// the body is well-formed, so a truncated answer is always reported as truncated (and retried).
    mutating func scan(
        key: String, table: FieldTable,
        row: (_ index: Int, _ slots: UnsafeBufferPointer<ValueSpan>?) throws(KRXError) -> Void
    ) throws(Malformed) -> Result<Outcome, KRXError> {
        skipSpace()
        guard index < bytes.count else { throw fail("empty body") }
        guard bytes[index] == UInt8(ascii: "{") else {
            try skipValue(depth: 0)
            try expectEnd()
            return .success(.notAnObject)
        }
        index += 1
        let wanted = Array(key.utf8)
        var slots = [ValueSpan](repeating: .absent, count: table.keys.count)
        var keys: [String] = []
        var found: Outcome? = nil
        var rowError: KRXError? = nil
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let name = try scanString()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                if found == nil, equals(name, wanted) {
                    if peek() == UInt8(ascii: "[") {
                        var count = 0
                        try scanRows(table: table, slots: &slots, count: &count) { index, slots in
                            guard rowError == nil else { return }
                            do throws(KRXError) {
                                try row(index, slots)
                            } catch {
                                rowError = error
                            }
                        }
                        found = .rows(count: count)
                    } else {
                        try skipValue(depth: 1)
                        found = .notAList
                    }
                } else {
                    keys.append(decoded(name))
                    try skipValue(depth: 1)
                }
                skipSpace()
                guard let next = peek() else { throw fail("unterminated object") }
                index += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            }
        }
        try expectEnd()
        if let rowError { return .failure(rowError) }
        return .success(found ?? .noKey(keys: keys))
    }

    /// The list of rows: objects have their wanted members recorded in `slots`; anything else is reported as nil.
    private mutating func scanRows(
        table: FieldTable, slots: inout [ValueSpan], count: inout Int,
        _ row: (Int, UnsafeBufferPointer<ValueSpan>?) -> Void
    ) throws(Malformed) {
        index += 1  // [
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipSpace()
            if peek() == UInt8(ascii: "{") {
                try scanRow(table: table, slots: &slots)
                slots.withUnsafeBufferPointer { buffer in row(count, buffer) }
            } else {
                try skipValue(depth: 2)
                row(count, nil)
            }
            count += 1
            skipSpace()
            guard let next = peek() else { throw fail("unterminated array") }
            index += 1
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
        }
    }

    /// One row object; its members that `table` names are recorded in `slots` (the last one wins, like a dictionary).
    private mutating func scanRow(table: FieldTable, slots: inout [ValueSpan]) throws(Malformed) {
        for i in slots.indices { slots[i] = .absent }
        index += 1  // {
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        var expected = 0
        let keyCount = table.keys.count
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let name = try scanString()
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipSpace()
            // KRX sends the fields in a fixed order, so the next wanted field is nearly always the next key.
            var slot: Int? = nil
            if expected < keyCount, equals(name, table.keys[expected]) {
                slot = expected
            } else {
                for candidate in 0..<keyCount where equals(name, table.keys[candidate]) {
                    slot = candidate
                    break
                }
            }
            let value: ValueSpan
            if peek() == UInt8(ascii: "\"") {
                value = try scanString()
            } else {
                let start = index
                let kind = try skipValue(depth: 3)
                value = ValueSpan(start: start, end: index, kind: kind)
            }
            if let slot {
                slots[slot] = value
                expected = slot + 1
            }
            skipSpace()
            guard let next = peek() else { throw fail("unterminated object") }
            index += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
        }
    }

    // MARK: - Strings

    /// A string at `index` (the opening quote); checks escapes, control characters and UTF-8.
    private mutating func scanString() throws(Malformed) -> ValueSpan {
        index += 1
        let start = index
        var escaped = false
        var ascii = true
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < bytes.count else { throw fail("unterminated string") }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    for _ in 0..<4 {
                        guard index < bytes.count, Self.hexValue(bytes[index]) != nil else { throw fail("invalid escape") }
                        index += 1
                    }
                default:
                    throw fail("invalid escape")
                }
                continue
            }
            if byte < 0x20 { throw fail("control character in string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        let end = index
        index += 1  // closing quote
        if !ascii, !Self.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
            throw Malformed(message: "invalid UTF-8", offset: start)
        }
        if escaped {
            // Surrogate pairing is checked where the text is decoded; an unused escaped value is checked here.
            guard Self.unescape(UnsafeBufferPointer(rebasing: bytes[start..<end])) != nil else {
                throw Malformed(message: "invalid escape", offset: start)
            }
        }
        return ValueSpan(start: start, end: end, kind: escaped ? .escapedString : .string)
    }

    private func equals(_ span: ValueSpan, _ key: [UInt8]) -> Bool {
        guard span.kind == .string, span.end - span.start == key.count else {
            if span.kind == .escapedString, let text = Self.unescape(UnsafeBufferPointer(rebasing: bytes[span.start..<span.end])) {
                return text == key
            }
            return false
        }
        var i = span.start
        for byte in key {
            if bytes[i] != byte { return false }
            i += 1
        }
        return true
    }

    private func decoded(_ span: ValueSpan) -> String {
        Self.text(of: span, in: bytes) ?? ""
    }

    /// The text of a string span (escapes decoded); nil for another kind.
    static func text(of span: ValueSpan, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let raw = UnsafeBufferPointer(rebasing: bytes[span.start..<span.end])
        switch span.kind {
        case .string: return String(decoding: raw, as: UTF8.self)
        case .escapedString: return unescape(raw).map { String(decoding: $0, as: UTF8.self) }
        default: return nil
        }
    }

    /// The UTF-8 of an escaped string's content; nil for an invalid escape or an unpaired surrogate.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.count else { return nil }
            var value: UInt32 = 0
            for k in at..<at + 4 {
                guard let digit = hexValue(raw[k]) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while i < raw.count {
            let byte = raw[i]
            i += 1
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard i < raw.count else { return nil }
            let escape = raw[i]
            i += 1
            if let unescaped = JSONValue.unescapedByte(escape) {
                out.append(unescaped)
                continue
            }
            switch escape {
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i) else { return nil }
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u"),
                        let low = hex4(i + 2), (0xDC00...0xDFFF).contains(low)
                    else { return nil }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: UTF8.encode(unicode).unsafelyUnwrapped)
            default:
                return nil
            }
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
    static func isValidUTF8(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = s.count
        while i < n {
            let b0 = s[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            func continuation(_ k: Int) -> Bool { k < n && s[k] & 0xC0 == 0x80 }
            switch b0 {
            case 0xC2...0xDF:
                guard continuation(i + 1) else { return false }
                i += 2
            case 0xE0...0xEF:
                guard continuation(i + 1), continuation(i + 2) else { return false }
                let b1 = s[i + 1]
                if b0 == 0xE0 && b1 < 0xA0 { return false }  // overlong
                if b0 == 0xED && b1 > 0x9F { return false }  // surrogates
                i += 3
            case 0xF0...0xF4:
                guard continuation(i + 1), continuation(i + 2), continuation(i + 3) else { return false }
                let b1 = s[i + 1]
                if b0 == 0xF0 && b1 < 0x90 { return false }
                if b0 == 0xF4 && b1 > 0x8F { return false }
                i += 4
            default:
                return false
            }
        }
        return true
    }

    // MARK: - Other values

    private static let maximumDepth = 512

    /// Skips one value at `index` and says what it was.
    @discardableResult
    private mutating func skipValue(depth: Int) throws(Malformed) -> ValueSpan.Kind {
        guard depth < Self.maximumDepth else { throw fail("nesting too deep") }
        guard let byte = peek() else { throw fail("unexpected end") }
        switch byte {
        case UInt8(ascii: "\""):
            return try scanString().kind
        case UInt8(ascii: "{"):
            index += 1
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return .object
            }
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                _ = try scanString()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                guard let next = peek() else { throw fail("unterminated object") }
                index += 1
                if next == UInt8(ascii: "}") { return .object }
                guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            }
        case UInt8(ascii: "["):
            index += 1
            skipSpace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return .array
            }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                guard let next = peek() else { throw fail("unterminated array") }
                index += 1
                if next == UInt8(ascii: "]") { return .array }
                guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
            }
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), 0x30...0x39:
            try skipNumber()
            return .number
        default:
            throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Malformed) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end") }
        let pointer = word.utf8Start
        for k in 0..<count where bytes[index + k] != pointer[k] { throw fail("invalid literal") }
        index += count
    }

    /// RFC 8259 number grammar.
    private mutating func skipNumber() throws(Malformed) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("invalid number") }
        index += 1
        if first != UInt8(ascii: "0") {
            while let b = peek(), isDigit(b) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let b = peek(), isDigit(b) else { throw fail("invalid number") }
            while let b = peek(), isDigit(b) { index += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            index += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { index += 1 }
            guard let b = peek(), isDigit(b) else { throw fail("invalid number") }
            while let b = peek(), isDigit(b) { index += 1 }
        }
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expectEnd() throws(Malformed) {
        skipSpace()
        guard index == bytes.count else { throw fail("trailing characters") }
    }

    private func fail(_ message: String) -> Malformed { Malformed(message: message, offset: index) }
}
