import Foundation
import KRXSimulator
import Testing

/// The screens a widely used client's ticker and price functions read (pykrx: `get_etf_ticker_list` reads the ETF,
/// ETN and ELW masters; `get_index_ticker_list` MDCSTAT00401; `get_index_ohlcv_by_ticker` MDCSTAT00101), with the
/// field names it selects, and the variants real bodies show (issue 17).
@Suite struct ClientScreenTests {
    static let today = SimDate.on("2024-03-15")
    static let configuration = SimulatorConfiguration(seed: 11, today: today)

    @Test func etnAndElwMastersHaveTheFieldsPykrxReads() async throws {
        try await withSimulator(Self.configuration) { sim in
            let etn = try await Curl.portal(sim, form("MDCSTAT06701"))
            #expect(
                etn.firstRowFieldOrder() == [
                    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "LSTTRD_DD", "TRACE_IDX_NM",
                    "IDX_CALC_INST_NM", "IDX_LVRG_INVRS_TP_CD", "ETP_PROD_TP_CD", "IDX_MKT_CLSS_NM", "IDX_ASST_CLSS_NM",
                    "LIST_SHRS", "ISUR_NM", "EXPS_RTO", "TAX_TP_CD",
                ])
            let etns = try #require(etn.rows("output"))
            #expect((200...600).contains(etns.count))
            #expect(etns.allSatisfy { ($0["LIST_DD"] ?? "") <= "2024/03/15" && ($0["LSTTRD_DD"] ?? "") >= "2024/03/15" })
            #expect(etns.allSatisfy { $0["ISU_CD"]?.hasPrefix("KRG") == true && $0["ISU_SRT_CD"]?.count == 6 })

            let elw = try await Curl.portal(sim, form("MDCSTAT08501"))
            #expect(
                elw.firstRowFieldOrder() == [
                    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "LSTTRD_DD", "EXP_DD",
                    "ELW_ULY_TP_NM", "ULY_NM", "LIST_SHRS", "ISUR_NM", "ELW_CONV_RTO", "RGHT_TP_NM", "ELW_EXER_TP",
                    "EXER_PRC", "LP_NM", "ORD_SPD_RTO", "ELW_LST_SETL_METHD",
                ])
            let elws = try #require(elw.rows("output"))
            #expect(elws.count > 500)
            #expect(Set(elws.compactMap { $0["RGHT_TP_NM"] }) == ["콜", "풋"])
            #expect(elws.allSatisfy { ($0["LSTTRD_DD"] ?? "") < ($0["EXP_DD"] ?? "") })
            // pykrx's EtxTicker: ISU_CD, ISU_SRT_CD, ISU_ABBRV, LIST_DD of all three, tickers unique across them.
            let etf = try #require(try await Curl.portal(sim, form("MDCSTAT04601")).rows("output"))
            let tickers = (etf + etns + elws).compactMap { $0["ISU_SRT_CD"] }
            #expect(Set(tickers).count == tickers.count && tickers.count == etf.count + etns.count + elws.count)
            for row in etf + etns + elws {
                #expect(row["ISU_CD"] != nil && row["ISU_ABBRV"] != nil && row["LIST_DD"]?.count == 10)
            }
        }
    }

    @Test func indexMasterAndIndexValuesOfADay() async throws {
        try await withSimulator(Self.configuration) { sim in
            let master = try await Curl.portal(sim, form("MDCSTAT00401", "idxIndMidclssCd=02"))
            #expect(
                master.firstRowFieldOrder() == [
                    "IDX_NM", "IDX_ENG_NM", "BAS_TM_CONTN", "ANNC_TM_CONTN", "BAS_IDX_CONTN", "CALC_CYCLE_CONTN",
                    "CALC_TM_CONTN", "COMPST_ISU_CNT", "IND_TP_CD", "IDX_IND_CD",
                ])
            let kospi = try #require(master.rows("output"))
            #expect(kospi.first == [
                "IDX_NM": "코스피", "IDX_ENG_NM": "KOSPI", "BAS_TM_CONTN": "1980.01.04", "ANNC_TM_CONTN": "1983.01.04",
                "BAS_IDX_CONTN": "100.00", "CALC_CYCLE_CONTN": "1초", "CALC_TM_CONTN": "09:00:10 ~ 15:30:00",
                "COMPST_ISU_CNT": grouped(Int64(sim.market.stocks(on: Self.today, market: .kospi).filter { !$0.isPreferred }.count)),
                "IND_TP_CD": "1", "IDX_IND_CD": "001",
            ])
            for group in ["01", "03"] {
                #expect(try await Curl.portal(sim, form("MDCSTAT00401", "idxIndMidclssCd=\(group)")).rows("output")?.isEmpty == false)
            }

            let day = try await Curl.portal(sim, form("MDCSTAT00101", "idxIndMidclssCd=02&trdDd=20240314"))
            #expect(
                day.firstRowFieldOrder() == [
                    "IDX_NM", "CLSPRC_IDX", "FLUC_TP_CD", "CMPPREVDD_IDX", "FLUC_RT", "OPNPRC_IDX", "HGPRC_IDX",
                    "LWPRC_IDX", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP",
                ])
            let rows = try #require(day.rows("output"))
            #expect(rows.map { $0["IDX_NM"] } == kospi.map { $0["IDX_NM"] })
            // The same session as the per-index range screen (pykrx: IND_TP_CD + IDX_IND_CD = "1001").
            let range = try #require(
                try await Curl.portal(sim, form("MDCSTAT00301", "indIdx=1&indIdx2=001&strtDd=20240314&endDd=20240314")).rows("output"))
            #expect(range.first?["CLSPRC_IDX"] == rows.first?["CLSPRC_IDX"])
            #expect(range.first?["PRV_DD_CMPR"] == rows.first?["CMPPREVDD_IDX"])
            let level = Double(rows.first?["CLSPRC_IDX"]?.replacingOccurrences(of: ",", with: "") ?? "") ?? 0
            #expect(level > 1_000 && level < 5_000)
            let closed = try #require(try await Curl.portal(sim, form("MDCSTAT00101", "idxIndMidclssCd=02&trdDd=20240316")).rows("output"))
            #expect(closed.count == rows.count && closed.allSatisfy { $0["CLSPRC_IDX"] == "-" })
        }
    }

    static func matches(_ pattern: String, _ text: String?) -> Bool {
        guard let text, let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    @Test func realBodiesVariantsAppearInTheGeneratedMarket() async throws {
        var configuration = Self.configuration
        configuration.authKeys = [OpenAPIKey("k")]
        try await withSimulator(configuration) { sim in
            let master = try #require(try await Curl.portal(sim, form("MDCSTAT01901", "mktId=ALL")).rows("OutBlock_1"))
            // Tickers ending in a letter (37550L, 08537M), foreign ISINs (US…, KY…), decimal par values, class shares.
            #expect(master.contains { Self.matches("^[0-9]{5}[KLM]$", $0["ISU_SRT_CD"]) })
            #expect(master.contains { $0["ISU_CD"]?.hasPrefix("US") == true })
            #expect(master.contains { $0["ISU_CD"]?.hasPrefix("KY") == true })
            #expect(master.contains { Self.matches("^0\\.[0-9]+$", $0["PARVAL"]) })
            #expect(master.contains { $0["KIND_STKCERT_TP_NM"] == "종류주권" })
            #expect(Set(master.compactMap { $0["KIND_STKCERT_TP_NM"] }) == ["보통주", "구형우선주", "신형우선주", "종류주권"])
            let info = try #require(
                try await Curl.get("\(sim.baseURL)/svc/apis/sto/ksq_isu_base_info?basDd=20240314", ["-H", "AUTH_KEY: k"]).rows("OutBlock_1"))
            #expect(info.contains { Self.matches("^\\.[0-9]+$", $0["PARVAL"]) })  // the Open API writes ".25"
            #expect(info.allSatisfy { !($0["PARVAL"] ?? "").hasPrefix("0.") && !($0["PARVAL"] ?? ",").contains(",") })
            // ETFs: synthetic replication, single-digit creation units, grouped negative changes.
            let etfs = try #require(try await Curl.portal(sim, form("MDCSTAT04601")).rows("output"))
            #expect(etfs.contains { $0["ETF_REPLICA_METHD_TP_CD"]?.hasPrefix("합성") == true && $0["ISU_ABBRV"]?.contains("(합성)") == true })
            #expect(etfs.contains { Self.matches("^[1-9]$", $0["CU_QTY"]) })
            var negativeGrouped: [String] = []
            for day in ["20240315", "20240314", "20240313"] {
                let prices = try #require(try await Curl.portal(sim, form("MDCSTAT04301", "trdDd=\(day)")).rows("output"))
                negativeGrouped += prices.compactMap { $0["CMPPREVDD_PRC"] }.filter { change in
                    change.hasPrefix("-") && change.contains(",") && Int(change.replacingOccurrences(of: ",", with: "")) != nil
                }
            }
            #expect(!negativeGrouped.isEmpty, "\(negativeGrouped)")
        }
    }
}
