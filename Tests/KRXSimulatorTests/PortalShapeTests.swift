import Foundation
import KRXSimulator
import Testing

/// Golden shapes of the data portal's screens (krx-wire.md §1–3): top-level key, field names in order, value
/// formats, the closed-day shape, headers.
@Suite struct PortalShapeTests {
    static let today = SimDate.on("2024-03-15")  // a Friday
    static let configuration = SimulatorConfiguration(seed: 11, today: today)

    static let groupedInteger = try! NSRegularExpression(pattern: "^-?[0-9]{1,3}(,[0-9]{3})*$")
    static let groupedDecimal = try! NSRegularExpression(pattern: "^-?[0-9]{1,3}(,[0-9]{3})*\\.[0-9]{2}$")
    static let slashDate = try! NSRegularExpression(pattern: "^[0-9]{4}/[0-9]{2}/[0-9]{2}$")

    static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    @Test func wholeMarketPricesOnATradingDay() async throws {
        try await withSimulator(Self.configuration) { sim in
            let response = try await Curl.portal(sim, form("MDCSTAT01501", "mktId=ALL&trdDd=20240315"))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/html; charset=utf-8")
            #expect(Set(response.object?.keys.map { $0 } ?? []) == ["OutBlock_1", "CURRENT_DATETIME"])
            #expect(response.object?["CURRENT_DATETIME"] as? String == "2024.03.15 PM 06:30:00")
            #expect(
                response.firstRowFieldOrder() == [
                    "ISU_SRT_CD", "ISU_CD", "ISU_ABBRV", "MKT_NM", "SECT_TP_NM", "TDD_CLSPRC", "FLUC_TP_CD",
                    "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL",
                    "MKTCAP", "LIST_SHRS", "MKT_ID",
                ])
            let rows = try #require(response.rows("OutBlock_1"))
            #expect((2_000...3_200).contains(rows.count), "about 2,500 listed shares, got \(rows.count)")
            #expect(Set(rows.compactMap { $0["MKT_ID"] }) == ["STK", "KSQ", "KNX"])
            for row in rows {
                for field in ["TDD_CLSPRC", "CMPPREVDD_PRC", "TDD_OPNPRC", "ACC_TRDVOL", "MKTCAP", "LIST_SHRS"] {
                    #expect(Self.matches(Self.groupedInteger, row[field] ?? ""), "\(field)=\(row[field] ?? "nil")")
                }
                #expect(Self.matches(Self.groupedDecimal, row["FLUC_RT"] ?? ""))
                #expect(["0", "1", "2", "3", "4", "5"].contains(row["FLUC_TP_CD"] ?? ""))
                #expect(row["ISU_SRT_CD"]?.count == 6)
                if row["MKT_ID"] == "STK" { #expect(row["SECT_TP_NM"] == "") }
            }
            // Halted rows: 0 O/H/L/volume, close kept, code 0 — never "-".
            let halted = rows.filter { $0["FLUC_TP_CD"] == "0" }
            #expect(!halted.isEmpty)
            for row in halted {
                #expect(row["TDD_OPNPRC"] == "0" && row["TDD_HGPRC"] == "0" && row["TDD_LWPRC"] == "0")
                #expect(row["ACC_TRDVOL"] == "0" && row["CMPPREVDD_PRC"] == "0")
                #expect(row["TDD_CLSPRC"] != "0" && row["MKTCAP"] != "0")
            }
            // Every row agrees with the model the tests can use.
            for row in rows.prefix(200) {
                let stock = try #require(sim.market.stock(row["ISU_SRT_CD"] ?? ""))
                let day = try #require(sim.market.day(of: stock, on: Self.today))
                #expect(row["TDD_CLSPRC"] == grouped(day.close))
                #expect(row["ISU_CD"] == stock.isin)
            }
        }
    }

    @Test func aClosedDayListsThePreviousSessionsUniverseWithDashes() async throws {
        try await withSimulator(Self.configuration) { sim in
            let sunday = try await Curl.portal(sim, form("MDCSTAT01501", "mktId=ALL&trdDd=20240317"))
            let friday = try await Curl.portal(sim, form("MDCSTAT01501", "mktId=ALL&trdDd=20240315"))
            #expect(sunday.status == 200)
            let rows = try #require(sunday.rows("OutBlock_1"))
            let fridayRows = try #require(friday.rows("OutBlock_1"))
            #expect(rows.map { $0["ISU_SRT_CD"] } == fridayRows.map { $0["ISU_SRT_CD"] })
            #expect(rows.map { $0["LIST_SHRS"] } == fridayRows.map { $0["LIST_SHRS"] })
            for row in rows {
                #expect(row["FLUC_TP_CD"] == "3")
                for field in ["TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC",
                    "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP"]
                {
                    #expect(row[field] == "-")
                }
            }
            // A lunar holiday (설날 2024-02-12, a Monday) and a day after "today" look the same.
            let holiday = try #require(try await Curl.portal(sim, form("MDCSTAT01501", "mktId=STK&trdDd=20240212")).rows("OutBlock_1"))
            #expect(!holiday.isEmpty && holiday.allSatisfy { $0["TDD_CLSPRC"] == "-" })
            let future = try #require(try await Curl.portal(sim, form("MDCSTAT01501", "mktId=KNX&trdDd=20240318")).rows("OutBlock_1"))
            #expect(!future.isEmpty && future.allSatisfy { $0["TDD_CLSPRC"] == "-" && $0["MKT_ID"] == "KNX" })
        }
    }

    @Test func stockMasterIsTheCurrentSnapshot() async throws {
        try await withSimulator(Self.configuration) { sim in
            let response = try await Curl.portal(sim, form("MDCSTAT01901", "mktId=ALL"))
            #expect(
                response.firstRowFieldOrder() == [
                    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "MKT_TP_NM", "SECUGRP_NM",
                    "SECT_TP_NM", "KIND_STKCERT_TP_NM", "PARVAL", "LIST_SHRS",
                ])
            let rows = try #require(response.rows("OutBlock_1"))
            #expect(rows.count == sim.market.stocks(on: Self.today).count)
            #expect(rows.allSatisfy { Self.matches(Self.slashDate, $0["LIST_DD"] ?? "") })
            #expect(Set(rows.compactMap { $0["MKT_TP_NM"] }).isSuperset(of: ["KOSPI", "KOSDAQ", "KOSDAQ GLOBAL", "KONEX"]))
            #expect(rows.contains { $0["KIND_STKCERT_TP_NM"] == "구형우선주" && $0["ISU_SRT_CD"]?.hasSuffix("5") == true })
            #expect(rows.contains { $0["KIND_STKCERT_TP_NM"] == "신형우선주" && $0["ISU_SRT_CD"]?.hasSuffix("K") == true })
            #expect(rows.contains { $0["ISU_CD"]?.hasPrefix("KR7") == false })  // foreign listings
            #expect(rows.contains { $0["LIST_DD"]! < "1995/01/01" })
            let global = try #require(try await Curl.portal(sim, form("MDCSTAT01901", "mktId=KSQ&segTpCd=1")).rows("OutBlock_1"))
            #expect(!global.isEmpty && global.allSatisfy { $0["MKT_TP_NM"] == "KOSDAQ GLOBAL" })
        }
    }

    @Test func sectorScreenUsesBlock1AndOnlyKospiOrKosdaq() async throws {
        try await withSimulator(Self.configuration) { sim in
            let response = try await Curl.portal(sim, form("MDCSTAT03901", "mktId=STK&trdDd=20240315"))
            #expect(Array(response.object?.keys.sorted() ?? []) == ["CURRENT_DATETIME", "block1"])
            #expect(
                response.firstRowFieldOrder() == [
                    "ISU_SRT_CD", "ISU_ABBRV", "MKT_TP_NM", "IDX_IND_NM", "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT",
                    "MKTCAP", "FLUC_TP_CD",
                ])
            let rows = try #require(response.rows("block1"))
            #expect(rows.count == sim.market.stocks(on: Self.today, market: .kospi).count)
            #expect(rows.allSatisfy { !($0["IDX_IND_NM"] ?? "").isEmpty })
            let closed = try #require(try await Curl.portal(sim, form("MDCSTAT03901", "mktId=KSQ&trdDd=20240316")).rows("block1"))
            #expect(!closed.isEmpty && closed.allSatisfy { $0["TDD_CLSPRC"] == "-" && $0["MKTCAP"] == "-" })
            let konex = try #require(try await Curl.portal(sim, form("MDCSTAT03901", "mktId=KNX&trdDd=20240315")).rows("block1"))
            #expect(konex.isEmpty)
        }
    }

    @Test func valuationsHaveDashesForLossMakersAndPreferreds() async throws {
        try await withSimulator(Self.configuration) { sim in
            let response = try await Curl.portal(sim, form("MDCSTAT03501", "mktId=ALL&trdDd=20240315"))
            #expect(
                response.firstRowFieldOrder() == [
                    "ISU_SRT_CD", "ISU_CD", "MKT_ID", "ISU_ABBRV", "ISU_ABBRV_STR", "TDD_CLSPRC", "FLUC_TP_CD",
                    "CMPPREVDD_PRC", "FLUC_RT", "EPS", "PER", "FWD_EPS", "FWD_PER", "BPS", "PBR", "DPS", "DVD_YLD",
                ])
            let rows = try #require(response.rows("output"))
            #expect(rows.allSatisfy { $0["FWD_EPS"] == "-" && $0["FWD_PER"] == "-" })
            #expect(rows.allSatisfy { $0["ISU_ABBRV_STR"] == ($0["ISU_ABBRV"] ?? "") + " <em class =\"up\"></em>" })
            let lossMakers = rows.filter { $0["EPS"] == "-" }
            #expect(lossMakers.count > rows.count / 10)
            #expect(lossMakers.allSatisfy { $0["PER"] == "-" })
            #expect(rows.allSatisfy { $0["DPS"] != "-" && $0["DVD_YLD"] != "-" })
            let preferred = rows.filter { sim.market.stock($0["ISU_SRT_CD"] ?? "")?.isPreferred == true }
            #expect(!preferred.isEmpty && preferred.allSatisfy { $0["BPS"] == "-" && $0["PBR"] == "-" && $0["EPS"] == "-" })
            let closed = try #require(try await Curl.portal(sim, form("MDCSTAT03501", "mktId=STK&trdDd=20240316")).rows("output"))
            #expect(!closed.isEmpty && closed.allSatisfy { $0["PER"] == "-" && $0["DPS"] == "-" && $0["TDD_CLSPRC"] == "-" })
        }
    }

    @Test func etfMasterAndDailyPrices() async throws {
        try await withSimulator(Self.configuration) { sim in
            let master = try await Curl.portal(sim, form("MDCSTAT04601"))
            #expect(
                master.firstRowFieldOrder() == [
                    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "ETF_OBJ_IDX_NM",
                    "IDX_CALC_INST_NM1", "IDX_CALC_INST_NM2", "ETF_REPLICA_METHD_TP_CD", "IDX_MKT_CLSS_NM",
                    "IDX_ASST_CLSS_NM", "LIST_SHRS", "COM_ABBRV", "CU_QTY", "ETF_TOT_FEE", "TAX_TP_CD",
                ])
            let etfs = try #require(master.rows("output"))
            #expect((500...1_000).contains(etfs.count))
            #expect(etfs.allSatisfy { ($0["ETF_TOT_FEE"] ?? "").split(separator: ".").last?.count == 6 })

            let daily = try await Curl.portal(sim, form("MDCSTAT04301", "trdDd=20240315"))
            #expect(
                daily.firstRowFieldOrder() == [
                    "ISU_SRT_CD", "ISU_CD", "SECUGRP_ID", "ISU_ABBRV", "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_TP_CD",
                    "FLUC_RT", "NAV", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP",
                    "INVSTASST_NETASST_TOTAMT", "LIST_SHRS", "IDX_IND_NM", "OBJ_STKPRC_IDX", "CMPPREVDD_IDX",
                    "FLUC_TP_CD1", "FLUC_RT1",
                ])
            let rows = try #require(daily.rows("output"))
            #expect(rows.allSatisfy { $0["SECUGRP_ID"] == "EF" && Self.matches(Self.groupedDecimal, $0["NAV"] ?? "") })
            let unpublished = rows.filter { $0["OBJ_STKPRC_IDX"] == "-" }
            #expect(!unpublished.isEmpty && unpublished.count < rows.count / 4)
            #expect(unpublished.allSatisfy { $0["CMPPREVDD_IDX"] == "-" && $0["FLUC_RT1"] == "-" })

            let sunday = try #require(try await Curl.portal(sim, form("MDCSTAT04301", "trdDd=20240317")).rows("output"))
            #expect(sunday.count == rows.count)
            #expect(sunday.allSatisfy { $0["FLUC_TP_CD"] == "0" && $0["NAV"] == "-" && $0["LIST_SHRS"] != "-" })
        }
    }

    @Test func indexRangeOmitsClosedDaysNewestFirst() async throws {
        try await withSimulator(Self.configuration) { sim in
            let week = try await Curl.portal(sim, form("MDCSTAT00301", "indIdx2=001&indIdx=1&strtDd=20240208&endDd=20240215"))
            #expect(
                week.firstRowFieldOrder() == [
                    "TRD_DD", "CLSPRC_IDX", "FLUC_TP_CD", "PRV_DD_CMPR", "UPDN_RATE", "OPNPRC_IDX", "HGPRC_IDX",
                    "LWPRC_IDX", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP",
                ])
            let days = try #require(week.rows("output")).compactMap { $0["TRD_DD"] }
            #expect(days == ["2024/02/15", "2024/02/14", "2024/02/13", "2024/02/08"])
            let empty = try await Curl.portal(sim, form("MDCSTAT00301", "indIdx2=001&indIdx=1&strtDd=20240209&endDd=20240212"))
            #expect(empty.text.hasPrefix("{\"output\":[],\"CURRENT_DATETIME\":"))
        }
    }

    @Test func perIssueHistoriesMatchTheDailyScreens() async throws {
        try await withSimulator(Self.configuration) { sim in
            let stock = try #require(sim.market.stocks(on: Self.today, market: .kospi).first { !$0.isPreferred })
            let history = try await Curl.portal(
                sim, form("MDCSTAT01701", "isuCd=\(stock.isin)&strtDd=20240208&endDd=20240320&adjStkPrc=1"))
            #expect(
                history.firstRowFieldOrder() == [
                    "TRD_DD", "TDD_CLSPRC", "FLUC_TP_CD", "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC",
                    "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "LIST_SHRS",
                ])
            let rows = try #require(history.rows("output"))
            // Newest first, ends at today, skips 설날 (02-09, 02-12) and weekends.
            #expect(rows.first?["TRD_DD"] == "2024/03/15" && rows.last?["TRD_DD"] == "2024/02/08")
            #expect(!rows.contains { $0["TRD_DD"] == "2024/02/09" || $0["TRD_DD"] == "2024/02/12" })
            let dailyRows = try await Curl.portal(sim, form("MDCSTAT01501", "mktId=STK&trdDd=20240314")).rows("OutBlock_1")
            let daily = try #require(dailyRows?.first { $0["ISU_SRT_CD"] == stock.ticker })
            let same = try #require(rows.first { $0["TRD_DD"] == "2024/03/14" })
            for field in ["TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "ACC_TRDVOL", "MKTCAP"] {
                #expect(same[field] == daily[field])
            }
            let valuation = try await Curl.portal(
                sim, form("MDCSTAT03502", "mktId=ALL&isuCd=\(stock.isin)&strtDd=20240311&endDd=20240315"))
            #expect(valuation.rows("output")?.count == 5)
            #expect(valuation.firstRowFieldOrder().suffix(8) == ["EPS", "PER", "FWD_EPS", "FWD_PER", "BPS", "PBR", "DPS", "DVD_YLD"])

            let etf = try #require(sim.market.etfs(on: Self.today).first)
            let etfHistory = try await Curl.portal(
                sim, form("MDCSTAT04501", "isuCd=\(etf.isin)&strtDd=20240311&endDd=20240317"))
            #expect(etfHistory.rows("output")?.count == 5)
            #expect(etfHistory.firstRowFieldOrder().contains("LST_NAV"))
            #expect(etfHistory.firstRowFieldOrder().last == "IDX_FLUC_RT")
        }
    }

    @Test func finderAndLatestTradingDayBundle() async throws {
        try await withSimulator(Self.configuration) { sim in
            let finder = try await Curl.portal(sim, form("finder_stkisu", "locale=ko_KR&mktsel=ALL&searchText=&typeNo=0"))
            #expect(
                finder.firstRowFieldOrder() == [
                    "full_code", "short_code", "codeName", "marketCode", "marketName", "marketEngName", "ord1", "ord2",
                ])
            #expect(try #require(finder.rows("block1")).count == sim.market.stocks(on: Self.today).count)
            let delisted = try #require(try await Curl.portal(sim, form("finder_listdelisu", "mktsel=ALL&searchText=&typeNo=0")).rows("block1"))
            #expect(delisted.count > sim.market.stocks(on: Self.today).count)

            let bundle = try await Curl.get(
                sim.baseURL + "/comm/bldAttendant/executeForResourceBundle.cmd?baseName=krx.mdc.i18n.component&key=B128.bld")
            #expect(bundle.text == "{\"result\":{\"output\":[{\"max_work_dt\":\"20240315\"}]}}")
        }
    }

    @Test func unitsScaleSharesAndMoneyAndUnknownFieldsAreIgnored() async throws {
        try await withSimulator(Self.configuration) { sim in
            let plain = try #require(try await Curl.portal(sim, form("MDCSTAT01501", "mktId=STK&trdDd=20240315")).rows("OutBlock_1"))
            let scaled = try #require(
                try await Curl.portal(
                    sim, form("MDCSTAT01501", "locale=ko_KR&mktId=STK&trdDd=20240315&share=2&money=3&csvxls_isNo=false&foo=bar")
                ).rows("OutBlock_1"))
            #expect(plain.count == scaled.count)
            func number(_ text: String?) -> Int64 { Int64((text ?? "").replacingOccurrences(of: ",", with: "")) ?? -1 }
            for (a, b) in zip(plain, scaled).prefix(100) {
                #expect(number(b["LIST_SHRS"]) == (number(a["LIST_SHRS"]) + 500) / 1_000)
                #expect(number(b["MKTCAP"]) == (number(a["MKTCAP"]) + 500_000) / 1_000_000)
                #expect(a["TDD_CLSPRC"] == b["TDD_CLSPRC"])
            }
        }
    }

    @Test func gzipWhenAccepted() async throws {
        try await withSimulator(Self.configuration) { sim in
            let identity = try await Curl.portal(sim, form("MDCSTAT04301", "trdDd=20240315"))
            let compressed = try await Curl.portal(sim, form("MDCSTAT04301", "trdDd=20240315"), extra: ["--compressed"])
            #expect(identity.header("content-encoding") == nil)
            #expect(compressed.header("content-encoding") == "gzip")
            #expect(compressed.header("vary") == "Accept-Encoding")
            #expect(compressed.body == identity.body)
            #expect(compressed.downloadedBytes > 0 && compressed.downloadedBytes < identity.body.count / 3)
            // Portal answers are streamed chunked, as KRX sends them.
            #expect(identity.header("transfer-encoding") == "chunked" && identity.header("content-length") == nil)
        }
    }

    @Test func connectionsAreKeptAlive() async throws {
        try await withSimulator(Self.configuration) { sim in
            let url = sim.baseURL + "/comm/bldAttendant/getJsonData.cmd?bld=dbms/MDC/STAT/standard/MDCSTAT04601"
            // Two transfers in one curl run: the second reuses the first connection (0 new connects).
            let response = try await Curl.run(["-w", "%{http_code}:%{num_connects} ", "-o", "/dev/null", url, url])
            #expect(response.writeOut.split(separator: " ") == ["200:1", "200:0"])
            #expect(sim.stats().count("portal/MDCSTAT04601") == 2)
        }
    }

    @Test func anonymousVisitorsGetASessionCookie() async throws {
        try await withSimulator(Self.configuration) { sim in
            let response = try await Curl.portal(sim, form("MDCSTAT04601"))
            let cookies = response.headers(named: "set-cookie")
            #expect(cookies.contains { $0.hasPrefix("JSESSIONID=") && $0.contains("HttpOnly") })
            #expect(cookies.contains { $0.hasPrefix("__smVisitorID=") })
        }
    }
}
