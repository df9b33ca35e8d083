import Foundation
import GalaxyCore
import Testing

@testable import GalaxyKRX

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func rows<Row>(_ day: ParsedDay<Row>) throws -> [Row] {
    guard case .rows(let rows) = day else {
        Issue.record("expected rows, got a closed day")
        throw KRXError.unexpectedResponse(reason: "closed")
    }
    return rows
}

/// The reason a parse failed (the text of `.unexpectedResponse`), or nil if it did not; shared by the parser and
/// scanner tests.
func reason(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as KRXError {
        if case .unexpectedResponse(let reason) = error { return reason }
        return "\(error)"
    } catch {
        return "\(error)"
    }
}

@Suite("KRX value parsing")
struct ValueTests {
    @Test("integers: separators, signs, missing values")
    func integers() throws {
        #expect(try KRXValue.int64("4,210") == 4210)
        #expect(try KRXValue.int64("2,975,231,937,664") == 2_975_231_937_664)
        #expect(try KRXValue.int64("-1,100") == -1100)
        #expect(try KRXValue.int64("0") == 0)
        #expect(try KRXValue.int64("-") == nil)
        #expect(try KRXValue.int64("") == nil)
        #expect(try KRXValue.int64("5969782550") == 5_969_782_550)  // beyond Int32
        #expect(throws: ValueError.self) { try KRXValue.int64("1,2x4") }
        #expect(throws: ValueError.self) { try KRXValue.int64("0.84") }
        #expect(throws: ValueError.self) { try KRXValue.int64("--5") }
        #expect(throws: ValueError.self) { try KRXValue.int64(",5") }
        #expect(throws: ValueError.self) { try KRXValue.int64("99999999999999999999") }
    }

    @Test("decimals: separators, signs, leading point")
    func decimals() throws {
        #expect(try KRXValue.decimal("0.84") == Decimal(string: "0.84"))
        #expect(try KRXValue.decimal("-2.56") == Decimal(string: "-2.56"))
        #expect(try KRXValue.decimal("41,887.33") == Decimal(string: "41887.33"))
        #expect(try KRXValue.decimal(".25") == Decimal(string: "0.25"))
        #expect(try KRXValue.decimal("0.100000") == Decimal(string: "0.1"))
        #expect(try KRXValue.decimal("-") == nil)
        #expect(try KRXValue.decimal("") == nil)
        #expect(throws: ValueError.self) { try KRXValue.decimal("1.2.3") }
        #expect(throws: ValueError.self) { try KRXValue.decimal("12a") }
        #expect(throws: ValueError.self) { try KRXValue.decimal("5.") }
        #expect(throws: ValueError.self) { try KRXValue.decimal("3-") }
    }

    @Test("tickers stay text")
    func tickers() throws {
        #expect(try KRXValue.ticker("00104K") == "00104K")
        #expect(try KRXValue.ticker("005930") == "005930")
        #expect(throws: ValueError.self) { try KRXValue.ticker("") }
        #expect(throws: ValueError.self) { try KRXValue.ticker("00 104") }
    }

    @Test("form encoding escapes everything but unreserved characters")
    func formEncoding() {
        #expect(FormEncoding.encode([("bld", "dbms/MDC/STAT/standard/MDCSTAT01501"), ("pw", "p&w=d %+한")])
            == "bld=dbms%2FMDC%2FSTAT%2Fstandard%2FMDCSTAT01501&pw=p%26w%3Dd+%25%2B%ED%95%9C")
    }
}

@Suite("Data portal parsers on recorded KRX payloads")
struct PortalParserTests {
    @Test("MDCSTAT01501 trading day, including a halted stock")
    func prices() throws {
        let parsed = try rows(KRXPortalParser.prices(bytes(Fixtures.prices01501)))
        #expect(parsed.count == 3)
        let aj = parsed[0]
        #expect(aj.ticker == "095570")
        #expect(aj.isin == "KR7095570008")
        #expect(aj.name == "AJ네트웍스")
        #expect(aj.market == "STK")
        #expect(aj.open == 4190 && aj.high == 4245 && aj.low == 4160 && aj.close == 4210)
        #expect(aj.change == 35)
        #expect(aj.changeRate == Decimal(string: "0.84"))
        #expect(aj.changeCode == "1")
        #expect(aj.volume == 216_835)
        #expect(aj.value == 910_274_405)
        #expect(aj.marketCap == 197_121_861_950)
        #expect(aj.shares == 46_822_295)
        let halted = parsed[2]
        #expect(halted.open == 0 && halted.volume == 0 && halted.close == 83000 && halted.changeCode == "0")
        #expect(parsed[1].value == 20_462_325_950)
    }

    @Test("MDCSTAT01501 on a Sunday is a closed day")
    func pricesHoliday() throws {
        guard case .closed = try KRXPortalParser.prices(bytes(Fixtures.pricesHoliday01501)) else {
            Issue.record("a \"-\" day must be closed")
            return
        }
    }

    @Test("MDCSTAT03501 keeps \"-\" as nil, never 0")
    func valuation() throws {
        let parsed = try rows(KRXPortalParser.valuations(bytes(Fixtures.valuation03501)))
        #expect(parsed.count == 3)
        #expect(parsed[0] == ValuationRow(
            ticker: "095570", close: 4540, eps: 982, per: Decimal(string: "4.62"), bps: 6802,
            pbr: Decimal(string: "0.67"), dps: 300, dividendYield: Decimal(string: "6.61")))
        let preferred = parsed[2]
        #expect(preferred.ticker == "001465")
        #expect(preferred.eps == nil && preferred.per == nil && preferred.bps == nil && preferred.pbr == nil)
        #expect(preferred.dps == 1150)
        #expect(preferred.dividendYield == Decimal(string: "0.73"))
    }

    @Test("MDCSTAT03901 sectors with signed changes")
    func sectors() throws {
        let parsed = try rows(KRXPortalParser.sectors(bytes(Fixtures.sector03901)))
        #expect(parsed.map(\.ticker) == ["095570", "006840", "282330"])
        #expect(parsed[2] == SectorRow(
            ticker: "282330", name: "BGF리테일", market: "KOSPI", industry: "유통업", close: 156_000,
            marketCap: 2_696_289_336_000))
    }

    @Test("MDCSTAT01901 stock master: dates, empty section, par value")
    func stockMaster() throws {
        let parsed = try KRXPortalParser.stocks(bytes(Fixtures.stockMaster01901))
        #expect(parsed.count == 3)
        #expect(parsed[0].listedOn == TradeDate(year: 2008, month: 9, day: 23))
        #expect(parsed[0].section == "중견기업부")
        #expect(parsed[1].market == "KOSDAQ GLOBAL")
        let aj = parsed[2]
        #expect(aj == StockRow(
            ticker: "095570", isin: "KR7095570008", name: "AJ네트웍스보통주", shortName: "AJ네트웍스",
            englishName: "AJ Networks Co.,Ltd.", listedOn: TradeDate(year: 2015, month: 8, day: 21), market: "KOSPI",
            securityGroup: "주권", section: nil, shareKind: "보통주", parValue: 1000, shares: 45_252_759))
    }

    @Test("MDCSTAT04601 ETF master")
    func etfMaster() throws {
        let parsed = try KRXPortalParser.etfs(bytes(Fixtures.etfMaster04601))
        #expect(parsed.count == 2)
        #expect(parsed[0].ticker == "495710")
        #expect(parsed[0].listedOn == TradeDate(year: 2024, month: 12, day: 3))
        #expect(parsed[0].totalFee == Decimal(string: "0.1"))
        #expect(parsed[0].creationUnit == 2000)
        #expect(parsed[1].leverage == "일반")
        #expect(parsed[1].taxType == "비과세")
        #expect(parsed[1].shares == 1_800_000)
    }

    @Test("MDCSTAT04301 ETF prices: NAV, base index, unpublished index fields")
    func etfPrices() throws {
        let parsed = try rows(KRXPortalParser.etfPrices(bytes(Fixtures.etfPrices04301)))
        #expect(parsed.count == 2)
        #expect(parsed[0].nav == Decimal(string: "41887.33"))
        #expect(parsed[0].baseIndexClose == Decimal(string: "408.53"))
        #expect(parsed[0].netAssets == 772_821_298_061)
        #expect(parsed[0].baseIndexName == "코스피 200")
        #expect(parsed[1].baseIndexClose == nil && parsed[1].baseIndexChange == nil)
        #expect(parsed[1].baseIndexChangeRate == nil)
        #expect(parsed[1].baseIndexName == "WISE ESG우수기업 지수")
    }

    @Test("MDCSTAT04301 on a Sunday is a closed day")
    func etfPricesHoliday() throws {
        guard case .closed = try KRXPortalParser.etfPrices(bytes(Fixtures.etfPricesHoliday04301)) else {
            Issue.record("a \"-\" day must be closed")
            return
        }
    }

    @Test("MDCSTAT00301 index history gives the session dates, oldest first")
    func sessionDates() throws {
        let dates = try KRXPortalParser.sessionDates(bytes(Fixtures.kospiIndex00301))
        #expect(dates == [TradeDate(year: 2021, month: 1, day: 21)!, TradeDate(year: 2021, month: 1, day: 22)!])
        #expect(try KRXPortalParser.sessionDates(bytes(#"{"output":[],"CURRENT_DATETIME":"x"}"#)).isEmpty)
        let bad = Fixtures.kospiIndex00301.replacingOccurrences(of: "2021/01/21", with: "2021/13/21")
        #expect(reason { _ = try KRXPortalParser.sessionDates(bytes(bad)) }
            == "MDCSTAT00301 row 2: field TRD_DD is \"2021/13/21\", not a date")
    }

    @Test("a bad number names screen, row and field")
    func badNumber() {
        let body = Fixtures.prices01501.replacingOccurrences(of: "\"ACC_TRDVOL\":\"727,088\"", with: "\"ACC_TRDVOL\":\"1,2x4\"")
        let message = reason { _ = try KRXPortalParser.prices(bytes(body)) }
        #expect(message == "MDCSTAT01501 row 2: field ACC_TRDVOL is \"1,2x4\", not a number")
    }

    @Test("a missing field names screen, row and field")
    func missingField() {
        let body = Fixtures.valuation03501.replacingOccurrences(of: "\"PBR\":\"0.67\",", with: "")
        #expect(reason { _ = try KRXPortalParser.valuations(bytes(body)) } == "MDCSTAT03501 row 1: field PBR is missing")
    }

    @Test("wrong top-level key, HTML, truncation, empty list and duplicates fail with a reason")
    func wrongShapes() {
        let wrongKey = Fixtures.prices01501.replacingOccurrences(of: "OutBlock_1", with: "output")
        #expect(reason { _ = try KRXPortalParser.prices(bytes(wrongKey)) }?
            .hasPrefix("MDCSTAT01501: no \"OutBlock_1\" list in the response (keys: CURRENT_DATETIME, output)") == true)
        let html = "<html><head><title>에러페이지 - 한국거래소</title></head></html>"
        #expect(reason { _ = try KRXPortalParser.etfPrices(bytes(html)) }?.contains("HTML instead of JSON") == true)
        let truncated = String(Fixtures.valuation03501.prefix(300))
        #expect(reason { _ = try KRXPortalParser.valuations(bytes(truncated)) }?.contains("malformed or truncated") == true)
        let empty = #"{"OutBlock_1":[],"CURRENT_DATETIME":"2026.01.25 PM 08:27:25"}"#
        #expect(reason { _ = try KRXPortalParser.prices(bytes(empty)) }?.contains("empty \"OutBlock_1\" list") == true)
        let twice = Fixtures.sector03901.replacingOccurrences(of: "\"006840\"", with: "\"095570\"")
        #expect(reason { _ = try KRXPortalParser.sectors(bytes(twice)) } == "MDCSTAT03901 row 2: ticker 095570 appears twice")
        let number = Fixtures.sector03901.replacingOccurrences(of: "\"MKTCAP\":\"340,866,307,600\"", with: "\"MKTCAP\":340866307600")
        #expect(
            reason { _ = try KRXPortalParser.sectors(bytes(number)) }
                == "MDCSTAT03901 row 1: field MKTCAP is a number, not a string")
        #expect(reason { _ = try KRXPortalParser.stocks(bytes("")) } == "MDCSTAT01901: empty body")
        let trailingComma = #"{"OutBlock_1":[{"ISU_SRT_CD":"005930"},]}"#
        #expect(reason { _ = try KRXPortalParser.prices(bytes(trailingComma)) }?.contains("malformed or truncated") == true)
    }

    @Test("a UTF-8 byte order mark before the JSON is skipped; values with white space at either end are trimmed")
    func byteOrderMarkAndTrimming() throws {
        let padded = Fixtures.sector03901.replacingOccurrences(of: "\"006840\"", with: "\" 006840\\t\"")
        let body = [0xEF, 0xBB, 0xBF] + bytes(padded)
        let parsed = try rows(KRXPortalParser.sectors(body))
        #expect(parsed.map(\.ticker).contains("006840"))
        #expect(try rows(KRXPortalParser.sectors(bytes(Fixtures.sector03901))).map(\.ticker) == parsed.map(\.ticker))
    }
}

@Suite("Open API parsers on saved responses")
struct OpenAPIParserTests {
    let day = TradeDate(year: 2024, month: 1, day: 5)!

    @Test("stk_bydd_trd: plain numbers, short code in ISU_CD")
    func prices() throws {
        let parsed = try KRXOpenAPIParser.prices(bytes(Fixtures.openAPIKospiPrices), endpoint: .kospiPrices, date: day)
        #expect(parsed.count == 3)
        #expect(parsed[1] == PriceRow(
            ticker: "005930", isin: nil, name: "삼성전자", market: "STK", open: 76700, high: 77100, low: 76400,
            close: 76600, change: 0, changeRate: Decimal(string: "0.00"), changeCode: nil, volume: 11_304_316,
            value: 866_836_486_100, marketCap: 457_285_343_330_000, shares: 5_969_782_550))
        #expect(parsed[2].open == 0 && parsed[2].close == 10760)
    }

    @Test("a row for another day than asked is refused")
    func wrongDay() {
        let message = reason {
            _ = try KRXOpenAPIParser.prices(
                bytes(Fixtures.openAPIKospiPrices), endpoint: .kospiPrices, date: day.next)
        }
        #expect(message == "sto/stk_bydd_trd row 1: BAS_DD is 20240105, asked for 20240106")
    }

    @Test("isu_base_info: compact dates, \"-\" section, par value")
    func master() throws {
        let parsed = try KRXOpenAPIParser.stocks(bytes(Fixtures.openAPIKospiMaster), endpoint: .kospiMaster)
        #expect(parsed.count == 2)
        #expect(parsed[1].listedOn == TradeDate(year: 1975, month: 6, day: 11))
        #expect(parsed[1].section == nil)
        #expect(parsed[1].parValue == 100)
        #expect(parsed[1].shares == 5_969_782_550)
    }

    @Test("etf_bydd_trd: NAV and \"-\" index fields")
    func etfPrices() throws {
        let parsed = try KRXOpenAPIParser.etfPrices(bytes(Fixtures.openAPIETFPrices), date: day)
        #expect(parsed.count == 2)
        #expect(parsed[0].ticker == "069500")
        #expect(parsed[0].change == -100)
        #expect(parsed[0].nav == Decimal(string: "35086.34"))
        #expect(parsed[0].baseIndexChangeRate == Decimal(string: "-0.24"))
        #expect(parsed[1].baseIndexClose == nil)
    }

    @Test("an empty list is a closed day; a partial one is an error")
    func closedDay() throws {
        let empty = bytes(#"{"OutBlock_1":[]}"#)
        let parsed = try KRXOpenAPIParser.prices(empty, endpoint: .kospiPrices, date: day)
        #expect(parsed.isEmpty)
        let kospi = try KRXOpenAPIParser.prices(bytes(Fixtures.openAPIKospiPrices), endpoint: .kospiPrices, date: day)
        guard case .noSession = try KRXOpenAPIClient.combine(
            [(.kospiPrices, .prices([])), (.kosdaqPrices, .prices([])), (.konexPrices, .prices([]))],
            dataset: .price, date: day)
        else {
            Issue.record("all empty must be no session")
            return
        }
        #expect(throws: KRXError.self) {
            _ = try KRXOpenAPIClient.combine(
                [(.kospiPrices, .prices(kospi)), (.kosdaqPrices, .prices([])), (.konexPrices, .prices([]))],
                dataset: .price, date: day)
        }
    }
}
