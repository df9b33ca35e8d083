import Foundation
import GalaxyCore
import Testing

@Suite("JSONValue: strict parsing and compact output")
struct JSONValueTests {
    @Test("valid JSON texts parse to the values they spell", arguments: [
        ("1", JSONValue.integer(1)),
        ("-0", .integer(0)),
        ("9223372036854775807", .integer(Int64.max)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("1.5e3", .double(1500)),
        ("19.0", .double(19)),
        (#" {"a" : [true, false, null, "x\"\\\/\n\u00e9\ud83d\ude00"]} "#,
         .object(["a": .array([.bool(true), .bool(false), .null, .string("x\"\\/\né😀")])])),
        ("[]", .array([])),
        ("{}", .object([:])),
    ])
    func valid(text: String, expected: JSONValue) throws {
        #expect(try JSONValue(parsing: text) == expected)
    }

    @Test("invalid JSON texts are rejected", arguments: [
        "", " ", "{", "[1,]", #"{"a":1,}"#, "01", "1.", ".5", "+1", "1e", "NaN", "Infinity", "tru", "nul",
        #""unterminated"#, "\"tab\there\"", #""\x""#, #""\ud800""#, "[1 2]", #"{"a" 1}"#, "1 2", "// comment\n1",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
    ])
    func invalid(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test("invalid UTF-8 is a parse error")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test("strings with and without escapes, and escapes after plain text, decode to the same text", arguments: [
        (#""삼성전자""#, "삼성전자"),
        (#""plain\u0041fter""#, "plainAfter"),
        (#""\"quoted\" tail 한글""#, "\"quoted\" tail 한글"),
        (#""1,234""#, "1,234"),
        (#""""#, ""),
    ])
    func strings(text: String, expected: String) throws {
        #expect(try JSONValue(parsing: text) == .string(expected))
    }

    @Test("a control character or invalid UTF-8 after plain text is rejected, naming its byte")
    func errorsAfterPlainText() throws {
        let control = #expect(throws: JSONParseError.self) { try JSONValue(parsing: "\"abc\ndef\"") }
        #expect(control?.description == "control character in string at byte 5")
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0x61, 0x5C, 0x6E, 0xC3, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0x61, 0xC3, 0x22]) }
    }

    @Test("every byte collection parses alike: arrays, slices, Data, and non-contiguous collections")
    func collections() throws {
        let text = #"xx{"OutBlock_1":[{"ISU_SRT_CD":"005930","TDD_CLSPRC":"71,000"}]}yy"#
        let expected: JSONValue = ["OutBlock_1": [["ISU_SRT_CD": "005930", "TDD_CLSPRC": "71,000"]]]
        let bytes = Array(text.utf8)
        let inner = bytes[2..<(bytes.count - 2)]
        #expect(try JSONValue(parsing: inner) == expected)
        #expect(try JSONValue(parsing: Data(inner)) == expected)
        #expect(try JSONValue(parsing: Array(inner)) == expected)
        #expect(try JSONValue(parsing: inner.lazy.map { $0 }) == expected)
        #expect(try JSONValue(parsing: String(decoding: inner, as: UTF8.self)) == expected)
    }

    @Test("output is compact, one line, with sorted keys, and parses back to the same value")
    func roundTrip() throws {
        let value: JSONValue = [
            "b": [1, 2.5, "line\nbreak\u{2028}", nil], "a": ["nested": true], "c": .string("\u{01}"),
        ]
        let text = value.jsonText
        #expect(text == #"{"a":{"nested":true},"b":[1,2.5,"line\nbreak\u2028",null],"c":"\u0001"}"#)
        #expect(!text.contains("\n"))
        #expect(try JSONValue(parsing: text) == value)
    }

    @Test("Codable keeps integers, doubles and booleans apart")
    func codable() throws {
        struct Wrapper: Codable, Equatable {
            var value: JSONValue
        }
        let text = #"{"value":[0,1,true,false,1.5,"s",null,{"k":[]}]}"#
        let decoded = try JSONDecoder().decode(Wrapper.self, from: Data(text.utf8))
        #expect(decoded.value == [0, 1, true, false, 1.5, "s", nil, ["k": []]])
        let encoded = try JSONEncoder().encode(decoded)
        #expect(try JSONDecoder().decode(Wrapper.self, from: encoded) == decoded)
        struct Typed: Codable {
            var count: Int
            var flag: Bool
        }
        #expect(try JSONValue(encoding: Typed(count: 1, flag: true)) == ["count": 1, "flag": true])
    }
}
