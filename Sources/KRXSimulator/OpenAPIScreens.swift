/// Renders the official Open API (`/svc/apis/{sto|etp}/…`, krx-wire.md §5): always `OutBlock_1`, plain numbers,
/// `YYYYMMDD`, short codes in `ISU_CD` for the daily screens, and an empty list for today (T-1 only), later days and
/// before 2010.
///
/// Closed days as Open API users report them: on a weekday holiday the daily screens answer one row per issue listed
/// on the previous session with only the identity fields filled (`BAS_DD`, `ISU_CD`, `ISU_NM`, `LIST_SHRS`, and
/// `MKT_NM`/`SECT_TP_NM` or `IDX_IND_NM`) and every price, volume and value `""`; Sundays are empty, Saturdays empty
/// or like a holiday (`saturdayRows`: reports disagree). The base-info screens answer closed days with `[]`.
struct OpenAPIScreens: Sendable {
    let market: SimulatedMarket
    let today: SimDate
    var saturdayRows = false

    static let apis: Set<String> = [
        "sto/stk_bydd_trd", "sto/ksq_bydd_trd", "sto/knx_bydd_trd", "sto/stk_isu_base_info",
        "sto/ksq_isu_base_info", "sto/knx_isu_base_info", "etp/etf_bydd_trd",
    ]
    static let firstDay = SimDate(year: 2010, month: 1, day: 4)!

    /// The body for `api` (`"sto/stk_bydd_trd"`) and `basDd`; nil when the API is unknown.
    func render(api: String, basDd: String?) -> [UInt8]? {
        guard Self.apis.contains(api) else { return nil }
        var w = JSONWriter(capacity: 600_000)
        w.beginEnvelope("OutBlock_1")
        if let date = basDd.flatMap({ SimDate($0) }), date < today, date >= Self.firstDay, market.isTradingDay(date) {
            switch api {
            case "sto/stk_bydd_trd": prices(&w, .kospi, date)
            case "sto/ksq_bydd_trd": prices(&w, .kosdaq, date)
            case "sto/knx_bydd_trd": prices(&w, .konex, date)
            case "sto/stk_isu_base_info": baseInfo(&w, .kospi, date)
            case "sto/ksq_isu_base_info": baseInfo(&w, .kosdaq, date)
            case "sto/knx_isu_base_info": baseInfo(&w, .konex, date)
            default: etfPrices(&w, date)
            }
        } else if let date = basDd.flatMap({ SimDate($0) }), date < today, date >= Self.firstDay,
            date.weekday <= 5 || (date.weekday == 6 && saturdayRows),
            let session = market.calendar.tradingDay(before: date)
        {
            switch api {
            case "sto/stk_bydd_trd": closedPrices(&w, .kospi, date, listedOn: session)
            case "sto/ksq_bydd_trd": closedPrices(&w, .kosdaq, date, listedOn: session)
            case "sto/knx_bydd_trd": closedPrices(&w, .konex, date, listedOn: session)
            case "etp/etf_bydd_trd": closedETFPrices(&w, date, listedOn: session)
            default: break
            }
        }
        w.endEnvelope(currentDateTime: nil)
        return w.bytes
    }

    private func prices(_ w: inout JSONWriter, _ segment: SimMarket, _ date: SimDate) {
        for stock in market.stocks(on: date, market: segment) {
            guard let day = market.day(of: stock, on: date) else { continue }
            w.beginRow()
            stockIdentity(&w, stock, date)
            w.plain("TDD_CLSPRC", day.close)
            w.plain("CMPPREVDD_PRC", day.change)
            w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: false)
            w.plain("TDD_OPNPRC", day.open)
            w.plain("TDD_HGPRC", day.high)
            w.plain("TDD_LWPRC", day.low)
            w.plain("ACC_TRDVOL", day.volume)
            w.plain("ACC_TRDVAL", day.value)
            w.plain("MKTCAP", day.marketCap)
            w.plain("LIST_SHRS", day.listedShares)
            w.endRow()
        }
    }

    private func baseInfo(_ w: inout JSONWriter, _ segment: SimMarket, _ date: SimDate) {
        for stock in market.stocks(on: date, market: segment) {
            w.beginRow()
            w.text("ISU_CD", stock.isin)
            w.text("ISU_SRT_CD", stock.ticker)
            w.text("ISU_NM", stock.name)
            w.text("ISU_ABBRV", stock.abbreviation)
            w.text("ISU_ENG_NM", stock.englishName)
            w.text("LIST_DD", stock.listed.compact)
            w.text("MKT_TP_NM", stock.market.name)
            w.text("SECUGRP_NM", stock.securityGroup)
            w.text("SECT_TP_NM", stock.tier.isEmpty ? "-" : stock.tier)
            w.text("KIND_STKCERT_TP_NM", stock.kind)
            w.text("PARVAL", Self.plainParValue(stock.parValue(on: date)))
            w.plain("LIST_SHRS", market.listedShares(of: stock, on: date))
            w.endRow()
        }
    }

    /// The Open API writes `PARVAL` without grouping and decimals without their leading zero (`"1000"`, `".25"`).
    static func plainParValue(_ portal: String) -> String {
        let plain = portal.replacingOccurrences(of: ",", with: "")
        return plain.hasPrefix("0.") ? String(plain.dropFirst()) : plain
    }

    private func etfPrices(_ w: inout JSONWriter, _ date: SimDate) {
        for etf in market.etfs(on: date) {
            guard let day = market.day(of: etf, on: date) else { continue }
            w.beginRow()
            w.text("BAS_DD", date.compact)
            w.text("ISU_CD", etf.ticker)
            w.text("ISU_NM", etf.abbreviation)
            w.plain("TDD_CLSPRC", day.close)
            w.plain("CMPPREVDD_PRC", day.change)
            w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: false)
            w.decimal("NAV", hundredths: day.navHundredths, grouping: false)
            w.plain("TDD_OPNPRC", day.open)
            w.plain("TDD_HGPRC", day.high)
            w.plain("TDD_LWPRC", day.low)
            w.plain("ACC_TRDVOL", day.volume)
            w.plain("ACC_TRDVAL", day.value)
            w.plain("MKTCAP", day.marketCap)
            w.plain("INVSTASST_NETASST_TOTAMT", day.netAssets)
            w.plain("LIST_SHRS", day.listedShares)
            w.text("IDX_IND_NM", etf.baseIndex)
            if let index = day.indexCloseHundredths, let previous = day.indexPreviousCloseHundredths {
                w.decimal("OBJ_STKPRC_IDX", hundredths: index, grouping: false)
                w.decimal("CMPPREVDD_IDX", hundredths: index - previous, grouping: false)
                w.decimal("FLUC_RT_IDX", hundredths: Fixed.ratio((index - previous) * 10_000, previous), grouping: false)
            } else {
                w.dash("OBJ_STKPRC_IDX")
                w.dash("CMPPREVDD_IDX")
                w.dash("FLUC_RT_IDX")
            }
            w.endRow()
        }
    }

    private static let stockPriceFields: [StaticString] = [
        "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL",
        "MKTCAP",
    ]

    /// The fields an Open API stock row carries on every weekday, trading or not.
    private func stockIdentity(_ w: inout JSONWriter, _ stock: SimStock, _ date: SimDate) {
        w.text("BAS_DD", date.compact)
        w.text("ISU_CD", stock.ticker)
        w.text("ISU_NM", stock.abbreviation)
        w.text("MKT_NM", stock.market.name)
        w.text("SECT_TP_NM", stock.tier.isEmpty ? "-" : stock.tier)
    }

    private func closedPrices(_ w: inout JSONWriter, _ segment: SimMarket, _ date: SimDate, listedOn session: SimDate) {
        for stock in market.stocks(on: session, market: segment) {
            w.beginRow()
            stockIdentity(&w, stock, date)
            for name in Self.stockPriceFields { w.text(name, "") }
            w.plain("LIST_SHRS", market.listedShares(of: stock, on: session))
            w.endRow()
        }
    }

    private func closedETFPrices(_ w: inout JSONWriter, _ date: SimDate, listedOn session: SimDate) {
        for etf in market.etfs(on: session) {
            w.beginRow()
            w.text("BAS_DD", date.compact)
            w.text("ISU_CD", etf.ticker)
            w.text("ISU_NM", etf.abbreviation)
            for name: StaticString in ["TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "NAV", "TDD_OPNPRC", "TDD_HGPRC",
                "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT"]
            {
                w.text(name, "")
            }
            w.plain("LIST_SHRS", market.listedShares(of: etf, on: session))
            w.text("IDX_IND_NM", etf.baseIndex)
            w.text("OBJ_STKPRC_IDX", "")
            w.text("CMPPREVDD_IDX", "")
            w.text("FLUC_RT_IDX", "")
            w.endRow()
        }
    }
}
