import Foundation
import GalaxyCore

/// The Open API endpoints galaxy reads (`/svc/apis/<path>?basDd=YYYYMMDD`, header `AUTH_KEY`).
public enum OpenAPIEndpoint: String, Sendable, CaseIterable {
    case kospiPrices = "sto/stk_bydd_trd"
    case kosdaqPrices = "sto/ksq_bydd_trd"
    case konexPrices = "sto/knx_bydd_trd"
    case kospiMaster = "sto/stk_isu_base_info"
    case kosdaqMaster = "sto/ksq_isu_base_info"
    case konexMaster = "sto/knx_isu_base_info"
    case etfPrices = "etp/etf_bydd_trd"

    /// The market id the portal uses for the same rows (`PriceRow.market`).
    var marketID: String? {
        switch self {
        case .kospiPrices, .kospiMaster: "STK"
        case .kosdaqPrices, .kosdaqMaster: "KSQ"
        case .konexPrices, .konexMaster: "KNX"
        case .etfPrices: nil
        }
    }

    /// The endpoints that together make one dataset's day.
    static func endpoints(for dataset: Dataset) -> [OpenAPIEndpoint]? {
        switch dataset {
        case .price: [.kospiPrices, .kosdaqPrices, .konexPrices]
        case .stock: [.kospiMaster, .kosdaqMaster, .konexMaster]
        case .etfPrice: [.etfPrices]
        case .sector, .valuation, .etf: nil
        }
    }
}

/// Strict parsers of the Open API's answers. Its numbers are plain (`"76600"`), its dates `YYYYMMDD`, its list is
/// always `OutBlock_1`, and a closed day is an empty list. `ISU_CD` is the short code there, not the ISIN.
public enum KRXOpenAPIParser {
    static let key = "OutBlock_1"

    /// `stk|ksq|knx_bydd_trd` → price rows (empty on a closed day). Every row's `BAS_DD` must be `date`.
    public static func prices(_ body: [UInt8], endpoint: OpenAPIEndpoint, date: TradeDate) throws(KRXError)
        -> [PriceRow]
    {
        let rows = try KRXJSON.rows(body, key: key, screen: endpoint.rawValue)
        var result: [PriceRow] = []
        result.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            let reader = RowReader(screen: endpoint.rawValue, index: index, row: row)
            try checkDate(reader, date)
            result.append(
                PriceRow(
                    ticker: try reader.ticker("ISU_CD"),
                    isin: nil,
                    name: try reader.required("ISU_NM"),
                    market: endpoint.marketID,
                    open: try reader.int64("TDD_OPNPRC"),
                    high: try reader.int64("TDD_HGPRC"),
                    low: try reader.int64("TDD_LWPRC"),
                    close: try reader.int64("TDD_CLSPRC"),
                    change: try reader.int64("CMPPREVDD_PRC"),
                    changeRate: try reader.decimal("FLUC_RT"),
                    changeCode: nil,
                    volume: try reader.int64("ACC_TRDVOL"),
                    value: try reader.int64("ACC_TRDVAL"),
                    marketCap: try reader.int64("MKTCAP"),
                    shares: try reader.int64("LIST_SHRS")
                ))
        }
        try KRXJSON.checkUnique(result.map(\.ticker), screen: endpoint.rawValue)
        return result
    }

    /// `*_isu_base_info` → the stock master as of the requested day (empty on a closed day).
    public static func stocks(_ body: [UInt8], endpoint: OpenAPIEndpoint) throws(KRXError) -> [StockRow] {
        let rows = try KRXJSON.rows(body, key: key, screen: endpoint.rawValue)
        var result: [StockRow] = []
        result.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            let reader = RowReader(screen: endpoint.rawValue, index: index, row: row)
            result.append(try KRXPortalParser.stockRow(reader))
        }
        try KRXJSON.checkUnique(result.map(\.ticker), screen: endpoint.rawValue)
        return result
    }

    /// `etf_bydd_trd` → ETF price rows (empty on a closed day).
    public static func etfPrices(_ body: [UInt8], date: TradeDate) throws(KRXError) -> [ETFPriceRow] {
        let endpoint = OpenAPIEndpoint.etfPrices
        let rows = try KRXJSON.rows(body, key: key, screen: endpoint.rawValue)
        var result: [ETFPriceRow] = []
        result.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            let reader = RowReader(screen: endpoint.rawValue, index: index, row: row)
            try checkDate(reader, date)
            result.append(
                ETFPriceRow(
                    ticker: try reader.ticker("ISU_CD"),
                    isin: nil,
                    name: try reader.required("ISU_NM"),
                    open: try reader.int64("TDD_OPNPRC"),
                    high: try reader.int64("TDD_HGPRC"),
                    low: try reader.int64("TDD_LWPRC"),
                    close: try reader.int64("TDD_CLSPRC"),
                    change: try reader.int64("CMPPREVDD_PRC"),
                    changeRate: try reader.decimal("FLUC_RT"),
                    changeCode: nil,
                    nav: try reader.decimal("NAV"),
                    volume: try reader.int64("ACC_TRDVOL"),
                    value: try reader.int64("ACC_TRDVAL"),
                    marketCap: try reader.int64("MKTCAP"),
                    netAssets: try reader.int64("INVSTASST_NETASST_TOTAMT"),
                    shares: try reader.int64("LIST_SHRS"),
                    baseIndexName: try reader.text("IDX_IND_NM"),
                    baseIndexClose: try reader.decimal("OBJ_STKPRC_IDX"),
                    baseIndexChange: try reader.decimal("CMPPREVDD_IDX"),
                    baseIndexChangeRate: try reader.decimal("FLUC_RT_IDX")
                ))
        }
        try KRXJSON.checkUnique(result.map(\.ticker), screen: endpoint.rawValue)
        return result
    }

    /// A row for another day than the one asked for would be stored under the wrong date: fail instead.
    static func checkDate(_ reader: RowReader, _ date: TradeDate) throws(KRXError) {
        let served = try reader.date("BAS_DD")
        guard served == date else {
            throw .unexpectedResponse(
                reason: "\(reader.location): BAS_DD is \(served?.compact ?? "empty"), asked for \(date.compact)")
        }
    }
}
