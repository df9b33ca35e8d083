import Foundation
import GalaxyCore
import Testing

@testable import GalaxyKRX

private func withBytes<T>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
    try Array(text.utf8).withUnsafeBufferPointer(body)
}

/// The reference path the scanner replaced: `JSONValue` tree, then the same row construction through a
/// dictionary-backed `RowReader`. The scanner must produce exactly these rows.
private func referencePrices(_ body: [UInt8]) throws -> [PriceRow] {
    let rows = try KRXJSON.rows(body, key: "OutBlock_1", screen: "MDCSTAT01501")
    return try rows.enumerated().map { index, row in
        let reader = RowReader(screen: "MDCSTAT01501", index: index, row: row)
        return PriceRow(
            ticker: try reader.ticker("ISU_SRT_CD"), isin: try reader.required("ISU_CD"),
            name: try reader.required("ISU_ABBRV"), market: try reader.required("MKT_ID"),
            open: try reader.int64("TDD_OPNPRC"), high: try reader.int64("TDD_HGPRC"), low: try reader.int64("TDD_LWPRC"),
            close: try reader.int64("TDD_CLSPRC"), change: try reader.int64("CMPPREVDD_PRC"),
            changeRate: try reader.decimal("FLUC_RT"), changeCode: try reader.text("FLUC_TP_CD"),
            volume: try reader.int64("ACC_TRDVOL"), value: try reader.int64("ACC_TRDVAL"),
            marketCap: try reader.int64("MKTCAP"), shares: try reader.int64("LIST_SHRS"))
    }
}

private func priceRow(
    ticker: String = "005930", name: String = "삼성전자", close: String = "71,200", rate: String = "-1.25",
    extra: String = ""
) -> String {
    #"{"ISU_SRT_CD":"\#(ticker)","ISU_CD":"KR7005930003","ISU_ABBRV":"\#(name)","MKT_NM":"KOSPI","SECT_TP_NM":"",""#
        + #"TDD_CLSPRC":"\#(close)","FLUC_TP_CD":"2","CMPPREVDD_PRC":"-900","FLUC_RT":"\#(rate)","TDD_OPNPRC":"72,000","#
        + #""TDD_HGPRC":"72,100","TDD_LWPRC":"71,000","ACC_TRDVOL":"12,345,678","ACC_TRDVAL":"879,012,345,678","#
        + #""MKTCAP":"425,046,891,200,000","LIST_SHRS":"5,969,782,550","MKT_ID":"STK"\#(extra)}"#
}

private func envelope(_ rows: [String]) -> String {
    #"{"OutBlock_1":["# + rows.joined(separator: ",") + #"],"CURRENT_DATETIME":"2026.01.25 PM 08:27:25"}"#
}

@Suite("Byte-level KRX numbers")
struct ByteNumberTests {
    @Test("integers: grouped, signed, no value, and the grammar's edges")
    func integers() throws {
        func int64(_ text: String) throws -> Int64? { try withBytes(text) { try KRXValue.int64(bytes: $0) } }
        #expect(try int64("4,210") == 4210)
        #expect(try int64("2,975,231,937,664") == 2_975_231_937_664)
        #expect(try int64("-1,100") == -1100)
        #expect(try int64("+5") == 5)
        #expect(try int64("0") == 0)
        #expect(try int64("-0") == 0)
        #expect(try int64(" 12 ") == 12, "ASCII white space around a value is ignored, as before")
        #expect(try int64("9,223,372,036,854,775,807") == .max)
        #expect(try int64("-9223372036854775808") == .min)
        #expect(try int64("-") == nil)
        #expect(try int64("") == nil)
        #expect(try int64("  ") == nil)
        #expect(try int64("\u{00A0}77\u{3000}") == 77, "non-ASCII spaces take the String path and are trimmed")
        for garbage in ["1,2x4", "0.84", "--5", ",5", "5,", "+", "-,", "1 000", "12-", "٣"] {
            #expect(throws: ValueError.notANumber, "\(garbage)") { try int64(garbage) }
        }
        #expect(throws: ValueError.outOfRange) { try int64("9223372036854775808") }
        #expect(throws: ValueError.outOfRange) { try int64("99,999,999,999,999,999,999") }
    }

    @Test("decimals: the same values as Decimal(string:), trailing zeros and all")
    func decimals() throws {
        func decimal(_ text: String) throws -> Decimal? { try withBytes(text) { try KRXValue.decimal(bytes: $0) } }
        let cases: [(String, String)] = [
            ("0.84", "0.84"), ("-2.56", "-2.56"), ("41,887.33", "41887.33"), (".25", "0.25"), ("-.5", "-0.5"),
            ("0.100000", "0.1"), ("1.10", "1.1"), ("100", "100"), ("1,000.00", "1000"), ("0", "0"), ("-0.00", "0"),
            ("+3.5", "3.5"), ("12345678901234.5678", "12345678901234.5678"),
            ("123456789012345678901234.5", "123456789012345678901234.5"),
        ]
        for (text, expected) in cases {
            let value = try #require(try decimal(text), "\(text)")
            let reference = try #require(Decimal(string: expected, locale: Locale(identifier: "en_US_POSIX")))
            #expect(value == reference, "\(text)")
            #expect(value.description == reference.description, "\(text): \(value) vs \(reference)")
        }
        #expect(try decimal("-") == nil)
        #expect(try decimal("") == nil)
        for garbage in ["1.2.3", "12a", "5.", "3-", "1,2.3,4", ".", "-", "+"] where garbage != "-" {
            #expect(throws: ValueError.notANumber, "\(garbage)") { try decimal(garbage) }
        }
    }

    @Test("a bad value names screen, row, field and the text, from the byte path too")
    func preciseErrors() {
        let body = Array(envelope([priceRow(), priceRow(ticker: "000660", close: "1,2x4")]).utf8)
        #expect(
            reason { _ = try KRXPortalParser.prices(body) }
                == #"MDCSTAT01501 row 2: field TDD_CLSPRC is "1,2x4", not a number"#)
        let wide = Array(envelope([priceRow(close: "99,999,999,999,999,999,999")]).utf8)
        #expect(reason { _ = try KRXPortalParser.prices(wide) }?.hasSuffix("out of the 64-bit range") == true)
        let rate = Array(envelope([priceRow(rate: "5.")]).utf8)
        #expect(reason { _ = try KRXPortalParser.prices(rate) } == #"MDCSTAT01501 row 1: field FLUC_RT is "5.", not a number"#)
    }
}

@Suite("Portal scanner")
struct PortalScannerTests {
    @Test("rows equal the JSONValue path's: escapes, white space, BOM, unknown and nested members, Korean text")
    func sameRowsAsTheTree() throws {
        let rows = [
            priceRow(),
            priceRow(ticker: "00104K", name: #"한솔\"홀딩스\" \u0041\/B"#, close: "-", rate: "-"),
            priceRow(ticker: "0009K0", name: "Ｆ＆Ｆ", extra: #","EXTRA":{"a":[1,2.5e3,true,null,{"b":"c"}]},"N":-0.5"#),
            priceRow(ticker: "123450", close: " 1,000 ", rate: "0.00"),
        ]
        let text = "\u{FEFF}" + " \n" + envelope(rows).replacingOccurrences(of: "},{", with: "} ,\r\n\t{") + "\n"
        let body = Array(text.utf8)
        let scanned = try #require({ () -> [PriceRow]? in
            if case .rows(let rows) = try KRXPortalParser.prices(body) { return rows }
            return nil
        }())
        let reference = try referencePrices(body)
        #expect(scanned == reference)
        #expect(scanned[1].name == #"한솔"홀딩스" A/B"#)
        #expect(scanned[1].close == nil && scanned[1].changeRate == nil)
        #expect(scanned[3].close == 1000 && scanned[3].changeRate == 0)
    }

    @Test("a truncated or garbled body is malformed JSON even when an earlier row is wrong too")
    func syntaxWinsOverRows() {
        let full = envelope([priceRow(close: "x"), priceRow(ticker: "000660")])
        let truncated = Array(full.utf8.prefix(full.utf8.count - 30))
        #expect(reason { _ = try KRXPortalParser.prices(truncated) }?.contains("malformed or truncated JSON") == true)
        // The simulator's "malformed" fault: half a body and an HTML fragment.
        let garbled = Array(full.utf8.prefix(full.utf8.count / 2)) + Array(#"","<br/>\n"#.utf8)
        #expect(reason { _ = try KRXPortalParser.prices(garbled) }?.contains("malformed or truncated JSON") == true)
        // Invalid UTF-8 inside a value nobody reads, a bad escape, a trailing comma: still malformed.
        var invalidUTF8 = Array(envelope([priceRow()]).utf8)
        invalidUTF8.insert(contentsOf: [0x22, 0x58, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x2C], at: 1)  // "X":"\xC3(",
        #expect(!KRXJSON.isJSON(invalidUTF8))
        #expect(reason { _ = try KRXPortalParser.prices(invalidUTF8) }?.contains("malformed or truncated JSON") == true)
        let badEscape = Array(envelope([priceRow(extra: #","X":"\q""#)]).utf8)
        #expect(reason { _ = try KRXPortalParser.prices(badEscape) }?.contains("malformed or truncated JSON") == true)
        let trailingComma = Array(envelope([priceRow()]).replacingOccurrences(of: "}]", with: "},]").utf8)
        #expect(reason { _ = try KRXPortalParser.prices(trailingComma) }?.contains("malformed or truncated JSON") == true)
    }

    @Test("shape errors name what is wrong, as before")
    func shapeErrors() {
        let number = Array(envelope([priceRow()]).replacingOccurrences(of: #""MKTCAP":"425,046,891,200,000""#, with: #""MKTCAP":425"#).utf8)
        #expect(reason { _ = try KRXPortalParser.prices(number) } == "MDCSTAT01501 row 1: field MKTCAP is a number, not a string")
        let missing = Array(envelope([priceRow()]).replacingOccurrences(of: #","MKT_ID":"STK""#, with: "").utf8)
        #expect(reason { _ = try KRXPortalParser.prices(missing) } == "MDCSTAT01501 row 1: field MKT_ID is missing")
        let notObject = Array(envelope([priceRow(), "[1]"]).utf8)
        #expect(reason { _ = try KRXPortalParser.prices(notObject) } == "MDCSTAT01501 row 2: not an object")
        let wrongKey = Array(#"{"output":[],"CURRENT_DATETIME":"x"}"#.utf8)
        #expect(
            reason { _ = try KRXPortalParser.prices(wrongKey) }
                == #"MDCSTAT01501: no "OutBlock_1" list in the response (keys: CURRENT_DATETIME, output)"#)
        let notList = Array(#"{"OutBlock_1":{}}"#.utf8)
        #expect(reason { _ = try KRXPortalParser.prices(notList) } == #"MDCSTAT01501: "OutBlock_1" is not a list"#)
        #expect(reason { _ = try KRXPortalParser.prices(Array("[]".utf8)) } == "MDCSTAT01501: the JSON top level is not an object")
        #expect(reason { _ = try KRXPortalParser.prices(Array(envelope([]).utf8)) }?.contains("empty \"OutBlock_1\" list") == true)
        #expect(reason { _ = try KRXPortalParser.prices(Array(envelope([priceRow(), priceRow()]).utf8)) }
            == "MDCSTAT01501 row 2: ticker 005930 appears twice")
    }
}
