import Foundation
import KRXSimulator
import Testing

/// The official Open API (krx-wire.md §5): `OutBlock_1`, plain numbers, T-1 only, 401 errors, daily quota.
@Suite struct OpenAPITests {
    static let today = SimDate.on("2024-03-15")

    static func configuration(quota: Int = 10_000) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration(seed: 5, today: today)
        configuration.authKeys = [OpenAPIKey("good-key"), OpenAPIKey("prices-only", approvedAPIs: ["stk_bydd_trd"])]
        configuration.dailyQuota = quota
        return configuration
    }

    static func call(_ sim: KRXSimulator, _ api: String, _ basDd: String, key: String? = "good-key") async throws
        -> HTTPResult
    {
        try await Curl.get(
            "\(sim.baseURL)/svc/apis/\(api)?basDd=\(basDd)", key.map { ["-H", "AUTH_KEY: \($0)"] } ?? [])
    }

    @Test func dailyPricesArePlainNumbersWithShortCodes() async throws {
        try await withSimulator(Self.configuration()) { sim in
            let response = try await Self.call(sim, "sto/stk_bydd_trd", "20240314")
            #expect(response.status == 200)
            #expect(Array(response.object?.keys.map { $0 } ?? []) == ["OutBlock_1"])
            #expect(
                response.firstRowFieldOrder() == [
                    "BAS_DD", "ISU_CD", "ISU_NM", "MKT_NM", "SECT_TP_NM", "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT",
                    "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "LIST_SHRS",
                ])
            let rows = try #require(response.rows("OutBlock_1"))
            let date = SimDate.on("2024-03-14")
            #expect(rows.count == sim.market.stocks(on: date, market: .kospi).count)
            for row in rows {
                #expect(row["BAS_DD"] == "20240314" && row["SECT_TP_NM"] == "-" && row["MKT_NM"] == "KOSPI")
                #expect(row["ISU_CD"]?.count == 6)
                #expect(!(row["ACC_TRDVAL"] ?? ",").contains(",") && !(row["MKTCAP"] ?? ",").contains(","))
                let stock = try #require(sim.market.stock(row["ISU_CD"] ?? ""))
                let day = try #require(sim.market.day(of: stock, on: date))
                #expect(row["TDD_CLSPRC"] == String(day.close) && row["ACC_TRDVOL"] == String(day.volume))
            }
        }
    }

    @Test func baseInfoAndETFsHaveTheirOwnShapes() async throws {
        try await withSimulator(Self.configuration()) { sim in
            let info = try await Self.call(sim, "sto/ksq_isu_base_info", "20240314")
            #expect(
                info.firstRowFieldOrder() == [
                    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "MKT_TP_NM", "SECUGRP_NM",
                    "SECT_TP_NM", "KIND_STKCERT_TP_NM", "PARVAL", "LIST_SHRS",
                ])
            let infoRows = try #require(info.rows("OutBlock_1"))
            #expect(infoRows.allSatisfy { $0["MKT_TP_NM"] == "KOSDAQ" && $0["LIST_DD"]?.count == 8 })
            #expect(infoRows.allSatisfy { !($0["PARVAL"] ?? ",").contains(",") })

            let etf = try await Self.call(sim, "etp/etf_bydd_trd", "20240314")
            #expect(
                etf.firstRowFieldOrder() == [
                    "BAS_DD", "ISU_CD", "ISU_NM", "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "NAV", "TDD_OPNPRC",
                    "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT",
                    "LIST_SHRS", "IDX_IND_NM", "OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_RT_IDX",
                ])
            let etfRows = try #require(etf.rows("OutBlock_1"))
            #expect(etfRows.count == sim.market.etfs(on: SimDate.on("2024-03-14")).count)
            #expect(etfRows.contains { $0["OBJ_STKPRC_IDX"] == "-" && $0["FLUC_RT_IDX"] == "-" })
        }
    }

    @Test(arguments: ["20240315", "20240316", "20240317", "20090105", "20240401", "garbage"])
    func weekendsTodayAndOutOfRangeAreEmpty(basDd: String) async throws {
        try await withSimulator(Self.configuration()) { sim in
            let response = try await Self.call(sim, "sto/ksq_bydd_trd", basDd)
            #expect(response.status == 200)
            #expect(response.text == "{\"OutBlock_1\":[]}")
        }
    }

    /// What Open API users report for a weekday holiday (설날, 2024-02-12): one row per issue listed on the session
    /// before, identity fields filled, every price, volume and value `""`.
    @Test func weekdayHolidaysAnswerEmptyStringRows() async throws {
        try await withSimulator(Self.configuration()) { sim in
            let session = SimDate.on("2024-02-08")
            #expect(!sim.market.isTradingDay(SimDate.on("2024-02-12")))
            let stocks = try #require(try await Self.call(sim, "sto/ksq_bydd_trd", "20240212").rows("OutBlock_1"))
            #expect(stocks.count == sim.market.stocks(on: session, market: .kosdaq).count)
            for row in stocks {
                #expect(row["BAS_DD"] == "20240212" && row["MKT_NM"] == "KOSDAQ")
                #expect(!(row["ISU_CD"] ?? "").isEmpty && !(row["ISU_NM"] ?? "").isEmpty)
                #expect(Int64(row["LIST_SHRS"] ?? "") != nil)
                for field in ["TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC",
                              "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP"] {
                    #expect(row[field] == "", "\(field)")
                }
            }
            let etfs = try #require(try await Self.call(sim, "etp/etf_bydd_trd", "20240212").rows("OutBlock_1"))
            #expect(etfs.count == sim.market.etfs(on: session).count)
            for row in etfs {
                #expect(!(row["IDX_IND_NM"] ?? "").isEmpty && Int64(row["LIST_SHRS"] ?? "") != nil)
                #expect(row["TDD_CLSPRC"] == "" && row["NAV"] == "" && row["OBJ_STKPRC_IDX"] == "")
            }
            // The base-info screens stay empty on closed days.
            #expect(try await Self.call(sim, "sto/ksq_isu_base_info", "20240212").text == "{\"OutBlock_1\":[]}")
        }
    }

    @Test func saturdaysAnswerRowsOnlyWithTheFlag() async throws {
        var configuration = Self.configuration()
        configuration.openAPISaturdayRows = true
        try await withSimulator(configuration) { sim in
            let saturday = try #require(try await Self.call(sim, "etp/etf_bydd_trd", "20240309").rows("OutBlock_1"))
            #expect(saturday.count == sim.market.etfs(on: SimDate.on("2024-03-08")).count)
            #expect(saturday.allSatisfy { $0["TDD_CLSPRC"] == "" && $0["BAS_DD"] == "20240309" })
            #expect(try await Self.call(sim, "etp/etf_bydd_trd", "20240310").text == "{\"OutBlock_1\":[]}",
                    "Sundays stay empty")
        }
    }

    @Test func keysAreCheckedPerAPI() async throws {
        try await withSimulator(Self.configuration()) { sim in
            let missing = try await Self.call(sim, "sto/stk_bydd_trd", "20240314", key: nil)
            #expect(missing.status == 401)
            #expect(missing.text == "{\"respMsg\":\"Unauthorized Key\",\"respCode\":\"401\"}")
            let wrong = try await Self.call(sim, "sto/stk_bydd_trd", "20240314", key: "nope")
            #expect(wrong.status == 401 && wrong.text.contains("Unauthorized Key"))
            let approved = try await Self.call(sim, "sto/stk_bydd_trd", "20240314", key: "prices-only")
            #expect(approved.status == 200)
            let notApproved = try await Self.call(sim, "sto/stk_isu_base_info", "20240314", key: "prices-only")
            #expect(notApproved.status == 401)
            #expect(notApproved.text == "{\"respMsg\":\"Unauthorized API Call\",\"respCode\":\"401\"}")
            // The key is also accepted in the query string, as some clients send it.
            let query = try await Curl.get("\(sim.baseURL)/svc/apis/sto/stk_bydd_trd?basDd=20240314&AUTH_KEY=good-key")
            #expect(query.status == 200 && query.rows("OutBlock_1")?.isEmpty == false)
        }
    }

    @Test func dailyQuotaIsPerKey() async throws {
        try await withSimulator(Self.configuration(quota: 3)) { sim in
            for _ in 0..<3 {
                #expect(try await Self.call(sim, "sto/knx_bydd_trd", "20240314").status == 200)
            }
            let over = try await Self.call(sim, "sto/knx_bydd_trd", "20240314")
            #expect(over.status == 429)
            #expect(over.object?["respCode"] as? String == "429")
            #expect(Int(over.header("retry-after") ?? "") ?? 0 > 0)
            // Another key has its own budget; unauthorised calls do not consume any.
            #expect(try await Self.call(sim, "sto/stk_bydd_trd", "20240314", key: "prices-only").status == 200)
            #expect(sim.stats().count("openapi/knx_bydd_trd") == 4)
        }
    }
}
