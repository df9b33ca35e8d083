/// The `share` / `money` unit parameters of the portal grids (1 = shares / won; larger values divide).
struct Units: Sendable {
    var shareDivisor: Int64 = 1
    var moneyDivisor: Int64 = 1

    init(form: [String: String]) {
        switch form["share"] {
        case "2": shareDivisor = 1_000
        case "3": shareDivisor = 1_000_000
        default: shareDivisor = 1
        }
        switch form["money"] {
        case "2": moneyDivisor = 1_000
        case "3": moneyDivisor = 1_000_000
        case "4": moneyDivisor = 1_000_000_000
        default: moneyDivisor = 1
        }
    }

    func shares(_ value: Int64) -> Int64 { shareDivisor == 1 ? value : Fixed.ratio(value, shareDivisor) }
    func money(_ value: Int64) -> Int64 { moneyDivisor == 1 ? value : Fixed.ratio(value, moneyDivisor) }
}

/// Renders the data portal's `getJsonData.cmd` screens exactly as KRX shapes them (krx-wire.md §2–3).
struct PortalScreens: Sendable {
    let market: SimulatedMarket
    /// The last day whose data exists (the simulator's "today"); later dates are answered like closed days.
    let today: SimDate

    /// The JSON body for a `bld` (its last path component selects the screen), or nil when the screen is unknown.
    func render(bld: String, form: [String: String], currentDateTime: String) -> [UInt8]? {
        let screen = bld.split(separator: "/").last.map(String.init) ?? bld
        let units = Units(form: form)
        switch screen {
        case "MDCSTAT01501": return wholeMarketPrices(form: form, units: units, now: currentDateTime)
        case "MDCSTAT01901": return stockMaster(form: form, now: currentDateTime)
        case "MDCSTAT03901": return sectors(form: form, units: units, now: currentDateTime)
        case "MDCSTAT03501": return valuations(form: form, now: currentDateTime)
        case "MDCSTAT04601": return etfMaster(now: currentDateTime)
        case "MDCSTAT04301": return etfPrices(form: form, units: units, now: currentDateTime)
        case "MDCSTAT00301": return indexRange(form: form, now: currentDateTime)
        case "finder_stkisu": return finder(form: form, delisted: false, now: currentDateTime)
        case "finder_listdelisu": return finder(form: form, delisted: true, now: currentDateTime)
        case "MDCSTAT01701": return stockHistory(form: form, units: units, now: currentDateTime)
        case "MDCSTAT03502": return valuationHistory(form: form, now: currentDateTime)
        case "MDCSTAT04501": return etfHistory(form: form, units: units, now: currentDateTime)
        case "MDCSTAT06701": return etnMaster(now: currentDateTime)
        case "MDCSTAT08501": return elwMaster(now: currentDateTime)
        case "MDCSTAT00401": return indexMaster(form: form, now: currentDateTime)
        case "MDCSTAT00101": return indexPrices(form: form, now: currentDateTime)
        default: return nil
        }
    }

    /// The session whose data a per-date screen shows for `trdDd`, and whether the day itself traded.
    /// Closed days, future days and days after `today` show the previous session's universe with `"-"`.
    private func resolve(_ form: [String: String]) -> (session: SimDate, traded: Bool)? {
        guard let text = form["trdDd"], let date = SimDate(text) else { return nil }
        let effective = min(date, today)
        guard let session = market.calendar.tradingDay(onOrBefore: effective) else { return nil }
        return (session, date <= today && market.isTradingDay(date))
    }

    private func markets(_ form: [String: String]) -> SimMarket? {
        SimMarket(rawValue: form["mktId"] ?? "ALL")
    }

    // MARK: MDCSTAT01501 — 전종목 시세

    func wholeMarketPrices(form: [String: String], units: Units, now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 1_200_000)
        w.beginEnvelope("OutBlock_1")
        let mktId = form["mktId"] ?? "ALL"
        if let (session, traded) = resolve(form), mktId == "ALL" || SimMarket(rawValue: mktId) != nil {
            let segment = markets(form)
            for stock in market.stocks(on: session, market: segment) {
                w.beginRow()
                w.text("ISU_SRT_CD", stock.ticker)
                w.text("ISU_CD", stock.isin)
                w.text("ISU_ABBRV", stock.abbreviation)
                w.text("MKT_NM", stock.market.name)
                w.text("SECT_TP_NM", stock.tier)
                if traded, let day = market.day(of: stock, on: session) {
                    w.grouped("TDD_CLSPRC", day.close)
                    w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                    w.grouped("CMPPREVDD_PRC", day.change)
                    w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                    w.grouped("TDD_OPNPRC", day.open)
                    w.grouped("TDD_HGPRC", day.high)
                    w.grouped("TDD_LWPRC", day.low)
                    w.grouped("ACC_TRDVOL", units.shares(day.volume))
                    w.grouped("ACC_TRDVAL", units.money(day.value))
                    w.grouped("MKTCAP", units.money(day.marketCap))
                    w.grouped("LIST_SHRS", units.shares(day.listedShares))
                } else {
                    w.dash("TDD_CLSPRC")
                    w.text("FLUC_TP_CD", "3")
                    for name: StaticString in ["CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC",
                        "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP"]
                    {
                        w.dash(name)
                    }
                    w.grouped("LIST_SHRS", units.shares(market.listedShares(of: stock, on: session)))
                }
                w.text("MKT_ID", stock.market.rawValue)
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT01901 — 전종목 기본정보 (current snapshot)

    func stockMaster(form: [String: String], now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 1_000_000)
        w.beginEnvelope("OutBlock_1")
        let mktId = form["mktId"] ?? "ALL"
        if let session = market.calendar.tradingDay(onOrBefore: today), mktId == "ALL" || SimMarket(rawValue: mktId) != nil {
            let globalOnly = mktId == "KSQ" && form["segTpCd"] == "1"
            for stock in market.stocks(on: session, market: markets(form)) where !globalOnly || stock.isKosdaqGlobal {
                w.beginRow()
                w.text("ISU_CD", stock.isin)
                w.text("ISU_SRT_CD", stock.ticker)
                w.text("ISU_NM", stock.name)
                w.text("ISU_ABBRV", stock.abbreviation)
                w.text("ISU_ENG_NM", stock.englishName)
                w.text("LIST_DD", stock.listed.slashed)
                w.text("MKT_TP_NM", stock.isKosdaqGlobal ? "KOSDAQ GLOBAL" : stock.market.name)
                w.text("SECUGRP_NM", stock.securityGroup)
                w.text("SECT_TP_NM", stock.tier)
                w.text("KIND_STKCERT_TP_NM", stock.kind)
                w.text("PARVAL", stock.parValue(on: session))
                w.grouped("LIST_SHRS", market.listedShares(of: stock, on: session))
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT03901 — 업종분류 현황 (STK / KSQ only)

    func sectors(form: [String: String], units: Units, now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 600_000)
        w.beginEnvelope("block1")
        if let (session, traded) = resolve(form), let segment = markets(form), segment != .konex {
            for stock in market.stocks(on: session, market: segment) {
                w.beginRow()
                w.text("ISU_SRT_CD", stock.ticker)
                w.text("ISU_ABBRV", stock.abbreviation)
                w.text("MKT_TP_NM", stock.market.name)
                w.text("IDX_IND_NM", stock.industry)
                if traded, let day = market.day(of: stock, on: session) {
                    w.grouped("TDD_CLSPRC", day.close)
                    w.grouped("CMPPREVDD_PRC", day.change)
                    w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                    w.grouped("MKTCAP", units.money(day.marketCap))
                    w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                } else {
                    w.dash("TDD_CLSPRC")
                    w.dash("CMPPREVDD_PRC")
                    w.dash("FLUC_RT")
                    w.dash("MKTCAP")
                    w.text("FLUC_TP_CD", "3")
                }
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT03501 — PER/PBR/배당수익률

    func valuations(form: [String: String], now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 1_200_000)
        w.beginEnvelope("output")
        let mktId = form["mktId"] ?? "ALL"
        if let (session, traded) = resolve(form), mktId == "ALL" || SimMarket(rawValue: mktId) != nil {
            for stock in market.stocks(on: session, market: markets(form)) {
                w.beginRow()
                w.text("ISU_SRT_CD", stock.ticker)
                w.text("ISU_CD", stock.isin)
                w.text("MKT_ID", stock.market.rawValue)
                w.text("ISU_ABBRV", stock.abbreviation)
                w.text("ISU_ABBRV_STR", stock.abbreviation + " <em class =\"up\"></em>")
                if traded, let day = market.day(of: stock, on: session),
                    let value = market.valuation(of: stock, on: session)
                {
                    w.grouped("TDD_CLSPRC", day.close)
                    w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                    w.grouped("CMPPREVDD_PRC", day.change)
                    w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                    writeRatios(&w, value)
                } else {
                    w.dash("TDD_CLSPRC")
                    w.text("FLUC_TP_CD", "3")
                    for name: StaticString in ["CMPPREVDD_PRC", "FLUC_RT", "EPS", "PER", "FWD_EPS", "FWD_PER", "BPS",
                        "PBR", "DPS", "DVD_YLD"]
                    {
                        w.dash(name)
                    }
                }
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT04601 — ETF 전종목 기본정보 (current snapshot)

    func etfMaster(now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 800_000)
        w.beginEnvelope("output")
        if let session = market.calendar.tradingDay(onOrBefore: today) {
            for etf in market.etfs(on: session) {
                w.beginRow()
                w.text("ISU_CD", etf.isin)
                w.text("ISU_SRT_CD", etf.ticker)
                w.text("ISU_NM", etf.name)
                w.text("ISU_ABBRV", etf.abbreviation)
                w.text("ISU_ENG_NM", etf.englishName)
                w.text("LIST_DD", etf.listed.slashed)
                w.text("ETF_OBJ_IDX_NM", etf.baseIndex)
                w.text("IDX_CALC_INST_NM1", etf.indexProvider)
                w.text("IDX_CALC_INST_NM2", etf.leverage)
                w.text("ETF_REPLICA_METHD_TP_CD", etf.replication)
                w.text("IDX_MKT_CLSS_NM", etf.indexRegion)
                w.text("IDX_ASST_CLSS_NM", etf.assetClass)
                w.grouped("LIST_SHRS", market.listedShares(of: etf, on: session))
                w.text("COM_ABBRV", etf.manager)
                w.grouped("CU_QTY", etf.creationUnit)
                var fee = JSONWriter(capacity: 16)
                fee.appendDecimal(Int64(etf.feeMicros), scale: 1_000_000, digits: 6, grouping: false)
                w.text("ETF_TOT_FEE", String(decoding: fee.bytes, as: UTF8.self))
                w.text("TAX_TP_CD", etf.taxType)
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT04301 — ETF 전종목 시세

    func etfPrices(form: [String: String], units: Units, now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 800_000)
        w.beginEnvelope("output")
        if let (session, traded) = resolve(form) {
            for etf in market.etfs(on: session) {
                w.beginRow()
                w.text("ISU_SRT_CD", etf.ticker)
                w.text("ISU_CD", etf.isin)
                w.text("SECUGRP_ID", "EF")
                w.text("ISU_ABBRV", etf.abbreviation)
                if traded, let day = market.day(of: etf, on: session) {
                    w.grouped("TDD_CLSPRC", day.close)
                    w.grouped("CMPPREVDD_PRC", day.change)
                    w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                    w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                    w.decimal("NAV", hundredths: day.navHundredths, grouping: true)
                    w.grouped("TDD_OPNPRC", day.open)
                    w.grouped("TDD_HGPRC", day.high)
                    w.grouped("TDD_LWPRC", day.low)
                    w.grouped("ACC_TRDVOL", units.shares(day.volume))
                    w.grouped("ACC_TRDVAL", units.money(day.value))
                    w.grouped("MKTCAP", units.money(day.marketCap))
                    w.grouped("INVSTASST_NETASST_TOTAMT", units.money(day.netAssets))
                    w.grouped("LIST_SHRS", units.shares(day.listedShares))
                    w.text("IDX_IND_NM", etf.baseIndex)
                    if let index = day.indexCloseHundredths, let previous = day.indexPreviousCloseHundredths {
                        let change = index - previous
                        w.decimal("OBJ_STKPRC_IDX", hundredths: index, grouping: true)
                        w.decimal("CMPPREVDD_IDX", hundredths: change, grouping: true)
                        w.text("FLUC_TP_CD1", change > 0 ? "1" : change < 0 ? "2" : "3")
                        w.decimal("FLUC_RT1", hundredths: Fixed.ratio(change * 10_000, previous), grouping: true)
                    } else {
                        w.dash("OBJ_STKPRC_IDX")
                        w.dash("CMPPREVDD_IDX")
                        w.dash("FLUC_TP_CD1")
                        w.dash("FLUC_RT1")
                    }
                } else {
                    w.dash("TDD_CLSPRC")
                    w.dash("CMPPREVDD_PRC")
                    w.text("FLUC_TP_CD", "0")
                    for name: StaticString in ["FLUC_RT", "NAV", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL",
                        "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT"]
                    {
                        w.dash(name)
                    }
                    w.grouped("LIST_SHRS", units.shares(market.listedShares(of: etf, on: session)))
                    w.text("IDX_IND_NM", etf.baseIndex)
                    w.dash("OBJ_STKPRC_IDX")
                    w.dash("CMPPREVDD_IDX")
                    if etf.indexPublished { w.text("FLUC_TP_CD1", "0") } else { w.dash("FLUC_TP_CD1") }
                    w.dash("FLUC_RT1")
                }
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT00301 — index by date range (closed days omitted, newest first)

    func indexRange(form: [String: String], now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 64_000)
        w.beginEnvelope("output")
        if let from = form["strtDd"].flatMap({ SimDate($0) }), let to = form["endDd"].flatMap({ SimDate($0) }) {
            let code = (form["indIdx"] ?? "1") + (form["indIdx2"] ?? "001")
            for day in market.indexDays(code: code, from: from, through: min(to, today)) {
                let change = day.closeHundredths - day.previousCloseHundredths
                w.beginRow()
                w.text("TRD_DD", day.date.slashed)
                w.decimal("CLSPRC_IDX", hundredths: day.closeHundredths, grouping: true)
                w.text("FLUC_TP_CD", change > 0 ? "1" : change < 0 ? "2" : "3")
                w.decimal("PRV_DD_CMPR", hundredths: change, grouping: true)
                w.decimal("UPDN_RATE", hundredths: Fixed.ratio(change * 10_000, day.previousCloseHundredths), grouping: true)
                w.decimal("OPNPRC_IDX", hundredths: day.openHundredths, grouping: true)
                w.decimal("HGPRC_IDX", hundredths: day.highHundredths, grouping: true)
                w.decimal("LWPRC_IDX", hundredths: day.lowHundredths, grouping: true)
                w.grouped("ACC_TRDVOL", day.volume)
                w.grouped("ACC_TRDVAL", day.value)
                w.grouped("MKTCAP", day.marketCap)
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: Per-issue histories (isuCd = ISIN; closed days omitted; newest first)

    /// Trading days of `strtDd…endDd` (capped at today), newest first, as the range screens list them.
    private func rangeDays(_ form: [String: String]) -> [SimDate] {
        guard let from = form["strtDd"].flatMap({ SimDate($0) }), let to = form["endDd"].flatMap({ SimDate($0) })
        else { return [] }
        return market.calendar.tradingDays(from: from, through: min(to, today)).reversed()
    }

    private func stock(isin: String?) -> SimStock? {
        guard let isin else { return nil }
        return market.allStocks.first { $0.isin == isin || $0.ticker == isin }
    }

    /// MDCSTAT01701 — 개별종목 시세 추이 (unadjusted prices; `adjStkPrc` is accepted and ignored).
    func stockHistory(form: [String: String], units: Units, now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 64_000)
        w.beginEnvelope("output")
        if let stock = stock(isin: form["isuCd"]) {
            for date in rangeDays(form) {
                guard let day = market.day(of: stock, on: date) else { continue }
                w.beginRow()
                w.text("TRD_DD", date.slashed)
                w.grouped("TDD_CLSPRC", day.close)
                w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                w.grouped("CMPPREVDD_PRC", day.change)
                w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                w.grouped("TDD_OPNPRC", day.open)
                w.grouped("TDD_HGPRC", day.high)
                w.grouped("TDD_LWPRC", day.low)
                w.grouped("ACC_TRDVOL", units.shares(day.volume))
                w.grouped("ACC_TRDVAL", units.money(day.value))
                w.grouped("MKTCAP", units.money(day.marketCap))
                w.grouped("LIST_SHRS", units.shares(day.listedShares))
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    /// MDCSTAT03502 — 개별종목 PER/PBR/배당수익률 추이.
    func valuationHistory(form: [String: String], now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 64_000)
        w.beginEnvelope("output")
        if let stock = stock(isin: form["isuCd"]) {
            for date in rangeDays(form) {
                guard let day = market.day(of: stock, on: date), let value = market.valuation(of: stock, on: date)
                else { continue }
                w.beginRow()
                w.text("TRD_DD", date.slashed)
                w.grouped("TDD_CLSPRC", day.close)
                w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                w.grouped("CMPPREVDD_PRC", day.change)
                w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                writeRatios(&w, value)
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    /// EPS … DVD_YLD as MDCSTAT03501/03502 write them.
    private func writeRatios(_ w: inout JSONWriter, _ value: StockValuation) {
        if let eps = value.eps { w.grouped("EPS", eps) } else { w.dash("EPS") }
        if let per = value.perHundredths { w.decimal("PER", hundredths: per, grouping: true) } else { w.dash("PER") }
        w.dash("FWD_EPS")
        w.dash("FWD_PER")
        if let bps = value.bps { w.grouped("BPS", bps) } else { w.dash("BPS") }
        if let pbr = value.pbrHundredths { w.decimal("PBR", hundredths: pbr, grouping: true) } else { w.dash("PBR") }
        w.grouped("DPS", value.dps)
        w.decimal("DVD_YLD", hundredths: value.dividendYieldHundredths, grouping: true)
    }

    /// MDCSTAT04501 — ETF 개별종목 시세 추이 (note `LST_NAV` and `IDX_FLUC_RT`, unlike the daily screen).
    func etfHistory(form: [String: String], units: Units, now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 64_000)
        w.beginEnvelope("output")
        let isin = form["isuCd"]
        if let etf = market.allETFs.first(where: { $0.isin == isin || $0.ticker == isin }) {
            for date in rangeDays(form) {
                guard let day = market.day(of: etf, on: date) else { continue }
                w.beginRow()
                w.text("TRD_DD", date.slashed)
                w.grouped("TDD_CLSPRC", day.close)
                w.text("FLUC_TP_CD", day.fluctuation.rawValue)
                w.grouped("CMPPREVDD_PRC", day.change)
                w.decimal("FLUC_RT", hundredths: day.changeRateHundredths, grouping: true)
                w.decimal("LST_NAV", hundredths: day.navHundredths, grouping: true)
                w.grouped("TDD_OPNPRC", day.open)
                w.grouped("TDD_HGPRC", day.high)
                w.grouped("TDD_LWPRC", day.low)
                w.grouped("ACC_TRDVOL", units.shares(day.volume))
                w.grouped("ACC_TRDVAL", units.money(day.value))
                w.grouped("MKTCAP", units.money(day.marketCap))
                w.grouped("INVSTASST_NETASST_TOTAMT", units.money(day.netAssets))
                w.grouped("LIST_SHRS", units.shares(day.listedShares))
                w.text("IDX_IND_NM", etf.baseIndex)
                if let index = day.indexCloseHundredths, let previous = day.indexPreviousCloseHundredths {
                    let change = index - previous
                    w.decimal("OBJ_STKPRC_IDX", hundredths: index, grouping: true)
                    w.text("FLUC_TP_CD1", change > 0 ? "1" : change < 0 ? "2" : "3")
                    w.decimal("CMPPREVDD_IDX", hundredths: change, grouping: true)
                    w.decimal("IDX_FLUC_RT", hundredths: Fixed.ratio(change * 10_000, previous), grouping: true)
                } else {
                    w.dash("OBJ_STKPRC_IDX")
                    w.dash("FLUC_TP_CD1")
                    w.dash("CMPPREVDD_IDX")
                    w.dash("IDX_FLUC_RT")
                }
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT06701 — ETN 전종목 기본정보, MDCSTAT08501 — ELW 전종목 기본정보 (current snapshots)

    func etnMaster(now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 200_000)
        w.beginEnvelope("output")
        if let session = market.calendar.tradingDay(onOrBefore: today) {
            for etn in market.allETNs where etn.isListed(on: session) {
                w.beginRow()
                w.text("ISU_CD", etn.isin)
                w.text("ISU_SRT_CD", etn.ticker)
                w.text("ISU_NM", etn.name)
                w.text("ISU_ABBRV", etn.abbreviation)
                w.text("ISU_ENG_NM", etn.englishName)
                w.text("LIST_DD", etn.listed.slashed)
                w.text("LSTTRD_DD", etn.lastTradingDay.slashed)
                w.text("TRACE_IDX_NM", etn.trackedIndex)
                w.text("IDX_CALC_INST_NM", etn.indexProvider)
                w.text("IDX_LVRG_INVRS_TP_CD", etn.leverage)
                w.text("ETP_PROD_TP_CD", "ETN")
                w.text("IDX_MKT_CLSS_NM", etn.region)
                w.text("IDX_ASST_CLSS_NM", etn.assetClass)
                w.grouped("LIST_SHRS", etn.listedShares)
                w.text("ISUR_NM", etn.issuer)
                w.decimal("EXPS_RTO", hundredths: etn.expenseHundredths, grouping: true)
                w.text("TAX_TP_CD", etn.taxType)
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    func elwMaster(now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 1_000_000)
        w.beginEnvelope("output")
        for elw in market.elws(on: today) {
            w.beginRow()
            w.text("ISU_CD", elw.isin)
            w.text("ISU_SRT_CD", elw.ticker)
            w.text("ISU_NM", elw.name)
            w.text("ISU_ABBRV", elw.abbreviation)
            w.text("ISU_ENG_NM", elw.englishName)
            w.text("LIST_DD", elw.listed.slashed)
            w.text("LSTTRD_DD", elw.lastTradingDay.slashed)
            w.text("EXP_DD", elw.expiry.slashed)
            w.text("ELW_ULY_TP_NM", "주식")
            w.text("ULY_NM", elw.underlying)
            w.grouped("LIST_SHRS", elw.listedShares)
            w.text("ISUR_NM", elw.issuer)
            w.text("ELW_CONV_RTO", elw.conversionThousandths == 10 ? "0.01" : "0.002")
            w.text("RGHT_TP_NM", elw.isCall ? "콜" : "풋")
            w.text("ELW_EXER_TP", "유럽형")
            w.grouped("EXER_PRC", elw.exercisePrice)
            w.text("LP_NM", elw.issuer)
            w.text("ORD_SPD_RTO", "15")
            w.text("ELW_LST_SETL_METHD", "현금결제")
            w.endRow()
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: MDCSTAT00401 — 전체지수 기본정보, MDCSTAT00101 — 전체지수 시세 (by idxIndMidclssCd)

    func indexMaster(form: [String: String], now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 8_000)
        w.beginEnvelope("output")
        let group = form["idxIndMidclssCd"] ?? "02"
        for index in SimIndex.all where index.group == group {
            w.beginRow()
            w.text("IDX_NM", index.name)
            w.text("IDX_ENG_NM", index.englishName)
            w.text("BAS_TM_CONTN", index.baseDate)
            w.text("ANNC_TM_CONTN", index.announced)
            w.decimal("BAS_IDX_CONTN", hundredths: index.baseValueHundredths, grouping: true)
            w.text("CALC_CYCLE_CONTN", "1초")
            w.text("CALC_TM_CONTN", "09:00:10 ~ 15:30:00")
            w.grouped("COMPST_ISU_CNT", Int64(constituents(index)))
            w.text("IND_TP_CD", index.type)
            w.text("IDX_IND_CD", index.code3)
            w.endRow()
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    /// The composite indices count today's listings; the others have a fixed size.
    private func constituents(_ index: SimIndex) -> Int {
        guard index.code3 == "001", index.type == "1" || index.type == "2",
            let session = market.calendar.tradingDay(onOrBefore: today)
        else { return index.constituents }
        return market.stocks(on: session, market: index.type == "1" ? .kospi : .kosdaq).filter { !$0.isPreferred }.count
    }

    func indexPrices(form: [String: String], now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 8_000)
        w.beginEnvelope("output")
        let group = form["idxIndMidclssCd"] ?? "02"
        if let date = form["trdDd"].flatMap({ SimDate($0) }) {
            for index in SimIndex.all where index.group == group {
                w.beginRow()
                w.text("IDX_NM", index.name)
                if date <= today, let day = market.indexDay(index, on: date) {
                    let change = day.closeHundredths - day.previousCloseHundredths
                    w.decimal("CLSPRC_IDX", hundredths: day.closeHundredths, grouping: true)
                    w.text("FLUC_TP_CD", change > 0 ? "1" : change < 0 ? "2" : "3")
                    w.decimal("CMPPREVDD_IDX", hundredths: change, grouping: true)
                    w.decimal(
                        "FLUC_RT", hundredths: Fixed.ratio(change * 10_000, day.previousCloseHundredths), grouping: true)
                    w.decimal("OPNPRC_IDX", hundredths: day.openHundredths, grouping: true)
                    w.decimal("HGPRC_IDX", hundredths: day.highHundredths, grouping: true)
                    w.decimal("LWPRC_IDX", hundredths: day.lowHundredths, grouping: true)
                    w.grouped("ACC_TRDVOL", day.volume)
                    w.grouped("ACC_TRDVAL", day.value)
                    w.grouped("MKTCAP", day.marketCap)
                } else {
                    w.dash("CLSPRC_IDX")
                    w.text("FLUC_TP_CD", "3")
                    for name: StaticString in ["CMPPREVDD_IDX", "FLUC_RT", "OPNPRC_IDX", "HGPRC_IDX", "LWPRC_IDX",
                        "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP"]
                    {
                        w.dash(name)
                    }
                }
                w.endRow()
            }
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }

    // MARK: finder look-ups

    func finder(form: [String: String], delisted: Bool, now: String) -> [UInt8] {
        var w = JSONWriter(capacity: 400_000)
        w.beginEnvelope("block1")
        let search = form["searchText"] ?? ""
        let segment = SimMarket(rawValue: form["mktsel"] ?? "ALL")
        let stocks: [SimStock]
        if delisted {
            stocks = market.allStocks.filter { $0.listed <= today }
        } else {
            stocks = market.calendar.tradingDay(onOrBefore: today).map { market.stocks(on: $0) } ?? []
        }
        for stock in stocks where segment == nil || stock.market == segment {
            if !search.isEmpty && !stock.ticker.contains(search) && !stock.abbreviation.contains(search)
                && !stock.isin.contains(search)
            {
                continue
            }
            w.beginRow()
            w.text("full_code", stock.isin)
            w.text("short_code", stock.ticker)
            w.text("codeName", stock.abbreviation)
            w.text("marketCode", stock.market.rawValue)
            w.text("marketName", stock.market.koreanName)
            if !delisted { w.text("marketEngName", stock.market.name) }
            w.text("ord1", "")
            w.text("ord2", "16")
            w.endRow()
        }
        w.endEnvelope(currentDateTime: now)
        return w.bytes
    }
}
