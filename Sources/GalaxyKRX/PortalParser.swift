import Foundation
import GalaxyCore

/// The data portal screens galaxy reads (`bld=dbms/MDC/STAT/standard/<code>` on `getJsonData.cmd`).
public enum PortalScreen: String, Sendable, CaseIterable {
    /// [12005] 전종목 기본정보: the stock master, a snapshot without date.
    case stockMaster = "MDCSTAT01901"
    /// [12025] 업종분류 현황: industry per stock and day; STK and KSQ only, one request each.
    case sector = "MDCSTAT03901"
    /// [12001] 전종목 시세: whole-market OHLCV for one day.
    case prices = "MDCSTAT01501"
    /// [12021] PER/PBR/배당수익률: whole-market valuation for one day.
    case valuation = "MDCSTAT03501"
    /// [13104] ETF 전종목 기본정보: the ETF master, a snapshot without date.
    case etfMaster = "MDCSTAT04601"
    /// [13101] ETF 전종목 시세: whole-market ETF prices for one day.
    case etfPrices = "MDCSTAT04301"
    /// [11003] 개별지수 시세 추이: an index's sessions over a date range (≤ 2 years); closed days are omitted, which
    /// makes it the cheapest trading calendar KRX offers.
    case indexHistory = "MDCSTAT00301"

    /// The form value of `bld`.
    public var bld: String { "dbms/MDC/STAT/standard/\(rawValue)" }

    /// The top-level array key, which differs per screen (krx-wire §1.3).
    public var arrayKey: String {
        switch self {
        case .stockMaster, .prices: "OutBlock_1"
        case .valuation, .etfMaster, .etfPrices, .indexHistory: "output"
        case .sector: "block1"
        }
    }

    /// The fields the parser of this screen reads, in KRX's order (the scanner keeps only these).
    var fields: FieldTable {
        switch self {
        case .stockMaster: Self.stockMasterFields
        case .sector: Self.sectorFields
        case .prices: Self.priceFields
        case .valuation: Self.valuationFields
        case .etfMaster: Self.etfMasterFields
        case .etfPrices: Self.etfPriceFields
        case .indexHistory: Self.indexFields
        }
    }

    private static let stockMasterFields = FieldTable([
        "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "MKT_TP_NM", "SECUGRP_NM",
        "SECT_TP_NM", "KIND_STKCERT_TP_NM", "PARVAL", "LIST_SHRS",
    ])
    private static let sectorFields = FieldTable([
        "ISU_SRT_CD", "ISU_ABBRV", "MKT_TP_NM", "IDX_IND_NM", "TDD_CLSPRC", "MKTCAP",
    ])
    private static let priceFields = FieldTable([
        "ISU_SRT_CD", "ISU_CD", "ISU_ABBRV", "TDD_CLSPRC", "FLUC_TP_CD", "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC",
        "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "LIST_SHRS", "MKT_ID",
    ])
    private static let valuationFields = FieldTable([
        "ISU_SRT_CD", "TDD_CLSPRC", "EPS", "PER", "BPS", "PBR", "DPS", "DVD_YLD",
    ])
    private static let etfMasterFields = FieldTable([
        "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "ETF_OBJ_IDX_NM", "IDX_CALC_INST_NM1",
        "IDX_CALC_INST_NM2", "ETF_REPLICA_METHD_TP_CD", "IDX_MKT_CLSS_NM", "IDX_ASST_CLSS_NM", "LIST_SHRS",
        "COM_ABBRV", "CU_QTY", "ETF_TOT_FEE", "TAX_TP_CD",
    ])
    private static let etfPriceFields = FieldTable([
        "ISU_SRT_CD", "ISU_CD", "ISU_ABBRV", "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_TP_CD", "FLUC_RT", "NAV",
        "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT",
        "LIST_SHRS", "IDX_IND_NM", "OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_RT1",
    ])
    private static let indexFields = FieldTable(["TRD_DD", "CLSPRC_IDX"])

    /// The price fields: a day on which no row carries any of them is a closed day ("-" or "" everywhere), whatever
    /// else the rows list. Empty for the masters.
    var sessionFields: [String] {
        switch self {
        case .stockMaster, .etfMaster, .indexHistory: []
        case .prices, .etfPrices: ["TDD_CLSPRC", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC"]
        case .valuation, .sector: ["TDD_CLSPRC"]
        }
    }
}

/// One per-date screen's answer: rows, or the closed-day shape (no price in any row).
public enum ParsedDay<Row: Sendable>: Sendable {
    case closed
    case rows([Row])
}

/// Reads the top level of a KRX JSON answer: an object with the expected array of objects.
enum KRXJSON {
    static func rows(_ body: [UInt8], key: String, screen: String) throws(KRXError) -> [[String: JSONValue]] {
        let first = body.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF) }
        guard let first else {
            throw .unexpectedResponse(reason: "\(screen): empty body")
        }
        if first == UInt8(ascii: "<") {
            throw .unexpectedResponse(reason: "\(screen): HTML instead of JSON: \(excerpt(body))")
        }
        guard let object = parse(body) else {
            throw .unexpectedResponse(
                reason: "\(screen): malformed or truncated JSON (\(body.count) bytes, ends \"\(tail(body))\")")
        }
        guard case .object(let top) = object else {
            throw .unexpectedResponse(reason: "\(screen): the JSON top level is not an object")
        }
        guard let value = top[key] else {
            let keys = top.keys.sorted().prefix(8).joined(separator: ", ")
            throw .unexpectedResponse(reason: "\(screen): no \"\(key)\" list in the response (keys: \(keys))")
        }
        guard case .array(let list) = value else {
            throw .unexpectedResponse(reason: "\(screen): \"\(key)\" is not a list")
        }
        var rows: [[String: JSONValue]] = []
        rows.reserveCapacity(list.count)
        for (index, element) in list.enumerated() {
            guard case .object(let row) = element else {
                throw .unexpectedResponse(reason: "\(screen) row \(index + 1): not an object")
            }
            rows.append(row)
        }
        return rows
    }

    /// Scans a portal answer row by row without building a JSON tree: `row` gets a reader over each element of the
    /// `key` list (only `table`'s fields are kept). The errors, and which one wins, are those of `rows(_:key:screen:)`.
    ///
    /// - Returns: the number of rows.
    static func scan(
        _ body: [UInt8], key: String, screen: String, table: FieldTable, row: (RowReader) throws(KRXError) -> Void
    ) throws(KRXError) -> Int {
        let first = body.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF) }
        guard let first else {
            throw .unexpectedResponse(reason: "\(screen): empty body")
        }
        if first == UInt8(ascii: "<") {
            throw .unexpectedResponse(reason: "\(screen): HTML instead of JSON: \(excerpt(body))")
        }
        let scanned: Result<PortalScanner.Outcome, KRXError>?
        scanned = body.withUnsafeBufferPointer { buffer in
            var scanner = PortalScanner(buffer)
            return try? scanner.scan(key: key, table: table) { index, slots throws(KRXError) in
                guard let slots else { throw .unexpectedResponse(reason: "\(screen) row \(index + 1): not an object") }
                try row(RowReader(screen: screen, index: index, table: table, slots: slots, body: buffer))
            }
        }
        guard let scanned else {
            throw .unexpectedResponse(
                reason: "\(screen): malformed or truncated JSON (\(body.count) bytes, ends \"\(tail(body))\")")
        }
        switch scanned {
        case .failure(let error):
            throw error
        case .success(.rows(let count)):
            return count
        case .success(.notAnObject):
            throw .unexpectedResponse(reason: "\(screen): the JSON top level is not an object")
        case .success(.noKey(let keys)):
            let keys = keys.sorted().prefix(8).joined(separator: ", ")
            throw .unexpectedResponse(reason: "\(screen): no \"\(key)\" list in the response (keys: \(keys))")
        case .success(.notAList):
            throw .unexpectedResponse(reason: "\(screen): \"\(key)\" is not a list")
        }
    }

    /// The JSON value of a body, or nil when it is not one strict JSON text. A leading UTF-8 byte order mark is
    /// skipped (Foundation's parser, used before, accepted it, and a proxy may add one).
    static func parse(_ body: [UInt8]) -> JSONValue? {
        let text = body.starts(with: [0xEF, 0xBB, 0xBF]) ? body[3...] : body[...]
        return try? JSONValue(parsing: text)
    }

    /// Whether a body is one strict JSON text: a body that is not is worth asking for again (truncated, garbled).
    static func isJSON(_ body: [UInt8]) -> Bool {
        if case .some = parse(body) { return true }
        return false
    }

    /// The start of a body, for error messages (one line, at most 120 characters).
    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(400), as: UTF8.self)
        let oneLine = text.split(whereSeparator: { $0.isNewline }).map { $0.krxTrimmed }.joined(separator: " ")
        return oneLine.count > 120 ? String(oneLine.prefix(120)) + "…" : oneLine
    }

    static func tail(_ body: [UInt8]) -> String {
        let text = String(decoding: body.suffix(24), as: UTF8.self)
        return text.replacingOccurrences(of: "\n", with: " ")
    }

    /// Fails on a ticker that occurs twice: one answer must not carry two rows for one key.
    static func checkUnique(_ tickers: [String], screen: String) throws(KRXError) {
        var seen = Set<String>()
        for (index, ticker) in tickers.enumerated() where !seen.insert(ticker).inserted {
            throw .unexpectedResponse(reason: "\(screen) row \(index + 1): ticker \(ticker) appears twice")
        }
    }
}

/// Strict parsers of the six data-portal screens into GalaxyCore's rows.
///
/// Every field galaxy stores is checked: present, a string, and of its kind (number, date, ticker); "-" and "" are
/// nil. A wrong shape throws `KRXError.unexpectedResponse` naming the screen, row and field, so the collector records
/// a failed day with the reason instead of zero rows.
public enum KRXPortalParser {
    /// `MDCSTAT01901` → the stock master.
    public static func stocks(_ body: [UInt8]) throws(KRXError) -> [StockRow] {
        let screen = PortalScreen.stockMaster
        var result: [StockRow] = []
        result.reserveCapacity(3_000)
        let count = try KRXJSON.scan(body, key: screen.arrayKey, screen: screen.rawValue, table: screen.fields) {
            reader throws(KRXError) in result.append(try stockRow(reader))
        }
        guard count > 0 else {
            throw .unexpectedResponse(reason: "\(screen.rawValue): the stock master is an empty list")
        }
        try KRXJSON.checkUnique(result.map(\.ticker), screen: screen.rawValue)
        return result
    }

    /// One master row; shared with the Open API's `*_isu_base_info`, which has the same fields.
    static func stockRow(_ reader: RowReader) throws(KRXError) -> StockRow {
        StockRow(
            ticker: try reader.ticker("ISU_SRT_CD"),
            isin: try reader.required("ISU_CD"),
            name: try reader.required("ISU_NM"),
            shortName: try reader.text("ISU_ABBRV"),
            englishName: try reader.text("ISU_ENG_NM"),
            listedOn: try reader.date("LIST_DD"),
            market: try reader.required("MKT_TP_NM"),
            securityGroup: try reader.text("SECUGRP_NM"),
            section: try reader.text("SECT_TP_NM"),
            shareKind: try reader.text("KIND_STKCERT_TP_NM"),
            parValue: try parValue(reader),
            shares: try reader.int64("LIST_SHRS")
        )
    }

    /// `PARVAL`: won, or 무액면 (no par value) → nil.
    static func parValue(_ reader: RowReader) throws(KRXError) -> Decimal? {
        let text = try reader.string("PARVAL").krxTrimmed
        if text == "무액면" { return nil }
        return try reader.decimal("PARVAL")
    }

    /// `MDCSTAT03901` for one market → sector rows, or the closed-day shape.
    public static func sectors(_ body: [UInt8]) throws(KRXError) -> ParsedDay<SectorRow> {
        try perDate(body, screen: .sector) { reader throws(KRXError) in
            SectorRow(
                ticker: try reader.ticker("ISU_SRT_CD"),
                name: try reader.required("ISU_ABBRV"),
                market: try reader.required("MKT_TP_NM"),
                industry: try reader.text("IDX_IND_NM"),
                close: try reader.int64("TDD_CLSPRC"),
                marketCap: try reader.int64("MKTCAP")
            )
        } ticker: { $0.ticker }
    }

    /// `MDCSTAT01501` → price rows, or the closed-day shape.
    public static func prices(_ body: [UInt8]) throws(KRXError) -> ParsedDay<PriceRow> {
        try perDate(body, screen: .prices) { reader throws(KRXError) in
            PriceRow(
                ticker: try reader.ticker("ISU_SRT_CD"),
                isin: try reader.required("ISU_CD"),
                name: try reader.required("ISU_ABBRV"),
                market: try reader.required("MKT_ID"),
                open: try reader.int64("TDD_OPNPRC"),
                high: try reader.int64("TDD_HGPRC"),
                low: try reader.int64("TDD_LWPRC"),
                close: try reader.int64("TDD_CLSPRC"),
                change: try reader.int64("CMPPREVDD_PRC"),
                changeRate: try reader.decimal("FLUC_RT"),
                changeCode: try reader.text("FLUC_TP_CD"),
                volume: try reader.int64("ACC_TRDVOL"),
                value: try reader.int64("ACC_TRDVAL"),
                marketCap: try reader.int64("MKTCAP"),
                shares: try reader.int64("LIST_SHRS")
            )
        } ticker: { $0.ticker }
    }

    /// `MDCSTAT03501` → valuation rows, or the closed-day shape.
    public static func valuations(_ body: [UInt8]) throws(KRXError) -> ParsedDay<ValuationRow> {
        try perDate(body, screen: .valuation) { reader throws(KRXError) in
            ValuationRow(
                ticker: try reader.ticker("ISU_SRT_CD"),
                close: try reader.int64("TDD_CLSPRC"),
                eps: try reader.int64("EPS"),
                per: try reader.decimal("PER"),
                bps: try reader.int64("BPS"),
                pbr: try reader.decimal("PBR"),
                dps: try reader.int64("DPS"),
                dividendYield: try reader.decimal("DVD_YLD")
            )
        } ticker: { $0.ticker }
    }

    /// `MDCSTAT04601` → the ETF master.
    public static func etfs(_ body: [UInt8]) throws(KRXError) -> [ETFRow] {
        let screen = PortalScreen.etfMaster
        var result: [ETFRow] = []
        result.reserveCapacity(1_000)
        let count = try KRXJSON.scan(body, key: screen.arrayKey, screen: screen.rawValue, table: screen.fields) {
            reader throws(KRXError) in
            result.append(
                ETFRow(
                    ticker: try reader.ticker("ISU_SRT_CD"),
                    isin: try reader.required("ISU_CD"),
                    name: try reader.required("ISU_NM"),
                    shortName: try reader.text("ISU_ABBRV"),
                    englishName: try reader.text("ISU_ENG_NM"),
                    listedOn: try reader.date("LIST_DD"),
                    baseIndex: try reader.text("ETF_OBJ_IDX_NM"),
                    indexProvider: try reader.text("IDX_CALC_INST_NM1"),
                    leverage: try reader.text("IDX_CALC_INST_NM2"),
                    replication: try reader.text("ETF_REPLICA_METHD_TP_CD"),
                    marketClass: try reader.text("IDX_MKT_CLSS_NM"),
                    assetClass: try reader.text("IDX_ASST_CLSS_NM"),
                    shares: try reader.int64("LIST_SHRS"),
                    manager: try reader.text("COM_ABBRV"),
                    creationUnit: try reader.int64("CU_QTY"),
                    totalFee: try reader.decimal("ETF_TOT_FEE"),
                    taxType: try reader.text("TAX_TP_CD")
                ))
        }
        guard count > 0 else {
            throw .unexpectedResponse(reason: "\(screen.rawValue): the ETF master is an empty list")
        }
        try KRXJSON.checkUnique(result.map(\.ticker), screen: screen.rawValue)
        return result
    }

    /// `MDCSTAT04301` → ETF price rows, or the closed-day shape.
    public static func etfPrices(_ body: [UInt8]) throws(KRXError) -> ParsedDay<ETFPriceRow> {
        try perDate(body, screen: .etfPrices) { reader throws(KRXError) in
            ETFPriceRow(
                ticker: try reader.ticker("ISU_SRT_CD"),
                isin: try reader.required("ISU_CD"),
                name: try reader.required("ISU_ABBRV"),
                open: try reader.int64("TDD_OPNPRC"),
                high: try reader.int64("TDD_HGPRC"),
                low: try reader.int64("TDD_LWPRC"),
                close: try reader.int64("TDD_CLSPRC"),
                change: try reader.int64("CMPPREVDD_PRC"),
                changeRate: try reader.decimal("FLUC_RT"),
                changeCode: try reader.text("FLUC_TP_CD"),
                nav: try reader.decimal("NAV"),
                volume: try reader.int64("ACC_TRDVOL"),
                value: try reader.int64("ACC_TRDVAL"),
                marketCap: try reader.int64("MKTCAP"),
                netAssets: try reader.int64("INVSTASST_NETASST_TOTAMT"),
                shares: try reader.int64("LIST_SHRS"),
                baseIndexName: try reader.text("IDX_IND_NM"),
                baseIndexClose: try reader.decimal("OBJ_STKPRC_IDX"),
                baseIndexChange: try reader.decimal("CMPPREVDD_IDX"),
                baseIndexChangeRate: try reader.decimal("FLUC_RT1")
            )
        } ticker: { $0.ticker }
    }

    /// `MDCSTAT00301` → the dates of the index's sessions, oldest first. An empty list is a valid answer here (a
    /// range without a session); judging whether that is plausible is the caller's business.
    public static func sessionDates(_ body: [UInt8]) throws(KRXError) -> [TradeDate] {
        let screen = PortalScreen.indexHistory
        var dates = Set<TradeDate>()
        _ = try KRXJSON.scan(body, key: screen.arrayKey, screen: screen.rawValue, table: screen.fields) {
            reader throws(KRXError) in
            guard let date = try reader.date("TRD_DD") else {
                throw .unexpectedResponse(reason: "\(reader.location): field TRD_DD is empty")
            }
            guard try reader.decimal("CLSPRC_IDX") != nil else {
                throw .unexpectedResponse(reason: "\(reader.location): field CLSPRC_IDX is empty on a listed session")
            }
            dates.insert(date)
        }
        return dates.sorted()
    }

    /// The common shape of the per-date screens. A closed day is KRX's "-" list (no row carries a price); an empty
    /// list is NOT a closed day on the portal — KRX sends the listed universe with "-" on holidays,
    /// and empty frames have meant throttling or a broken request (pykrx#173, the 2026-01 Referer change).
    static func perDate<Row: Sendable>(
        _ body: [UInt8], screen: PortalScreen, row makeRow: (RowReader) throws(KRXError) -> Row,
        ticker: (Row) -> String
    ) throws(KRXError) -> ParsedDay<Row> {
        var closed = true
        var result: [Row] = []
        result.reserveCapacity(3_000)
        let sessionFields = screen.sessionFields
        let count = try KRXJSON.scan(body, key: screen.arrayKey, screen: screen.rawValue, table: screen.fields) {
            reader throws(KRXError) in
            if closed, !(try reader.allMissing(sessionFields)) { closed = false }
            result.append(try makeRow(reader))
        }
        guard count > 0 else {
            throw .unexpectedResponse(
                reason: "\(screen.rawValue): empty \"\(screen.arrayKey)\" list; KRX answers a closed day with "
                    + "\"-\" rows, so an empty list means a throttled or refused request")
        }
        try KRXJSON.checkUnique(result.map(ticker), screen: screen.rawValue)
        return closed ? .closed : .rows(result)
    }
}
