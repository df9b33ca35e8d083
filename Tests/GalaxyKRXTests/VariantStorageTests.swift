import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyPostgres
import GalaxyTestSupport
import Logging
import Testing

@testable import GalaxyKRX

/// Hand-made answers in KRX's formats with what real bodies show and krx-sim does not yet: tickers ending in a
/// letter (`37550L`, `08537M`), foreign ISINs (`US…`, `KY…`), decimal par values (`0.5`, `.05`, `.25`), share class
/// `종류주권`, a synthetic-replication ETF, a single-digit creation unit, grouped negative changes (`-1,100`).
enum VariantFixtures {
    static let day = TradeDate(year: 2026, month: 11, day: 27)!

    static let stockMaster01901 = #"""
{"OutBlock_1":[
 {"ISU_CD":"KR737550L016","ISU_SRT_CD":"37550L","ISU_NM":"LG에너지솔루션1우선주","ISU_ABBRV":"LG에너지솔루션1우","ISU_ENG_NM":"LG Energy Solution 1P","LIST_DD":"2025/03/04","MKT_TP_NM":"KOSPI","SECUGRP_NM":"주권","SECT_TP_NM":"","KIND_STKCERT_TP_NM":"종류주권","PARVAL":"500","LIST_SHRS":"1,234,567"},
 {"ISU_CD":"KR708537M012","ISU_SRT_CD":"08537M","ISU_NM":"미래에셋증권제1종류주","ISU_ABBRV":"미래에셋증권2우B","ISU_ENG_NM":"Mirae Asset Securities 2PB","LIST_DD":"2016/12/29","MKT_TP_NM":"KOSPI","SECUGRP_NM":"주권","SECT_TP_NM":"","KIND_STKCERT_TP_NM":"신형우선주","PARVAL":"5,000","LIST_SHRS":"18,000,000"},
 {"ISU_CD":"KYG887121070","ISU_SRT_CD":"900250","ISU_NM":"크리스탈신소재","ISU_ABBRV":"크리스탈신소재","ISU_ENG_NM":"CRYSTAL NEW MATERIAL","LIST_DD":"2016/01/28","MKT_TP_NM":"KOSDAQ","SECUGRP_NM":"외국주권","SECT_TP_NM":"외국기업(소속부없음)","KIND_STKCERT_TP_NM":"보통주","PARVAL":"0.5","LIST_SHRS":"71,956,700"},
 {"ISU_CD":"US0000000AB1","ISU_SRT_CD":"950110","ISU_NM":"에스비아이핀테크솔루션즈","ISU_ABBRV":"SBI핀테크솔루션즈","ISU_ENG_NM":"SBI FinTech Solutions","LIST_DD":"2012/12/21","MKT_TP_NM":"KOSDAQ","SECUGRP_NM":"주식예탁증권","SECT_TP_NM":"외국기업(소속부없음)","KIND_STKCERT_TP_NM":"보통주","PARVAL":".05","LIST_SHRS":"24,477,320"},
 {"ISU_CD":"KR7000020008","ISU_SRT_CD":"000020","ISU_NM":"동화약품보통주","ISU_ABBRV":"동화약품","ISU_ENG_NM":"DongWha Pharm","LIST_DD":"1976/03/24","MKT_TP_NM":"KOSPI","SECUGRP_NM":"주권","SECT_TP_NM":"","KIND_STKCERT_TP_NM":"보통주","PARVAL":".25","LIST_SHRS":"27,931,470"}
],"CURRENT_DATETIME":"2026.11.27 PM 08:00:00"}
"""#

    static let prices01501 = #"""
{"OutBlock_1":[
 {"ISU_SRT_CD":"37550L","ISU_CD":"KR737550L016","ISU_ABBRV":"LG에너지솔루션1우","MKT_NM":"KOSPI","SECT_TP_NM":"","TDD_CLSPRC":"215,500","FLUC_TP_CD":"2","CMPPREVDD_PRC":"-1,100","FLUC_RT":"-0.51","TDD_OPNPRC":"216,000","TDD_HGPRC":"217,500","TDD_LWPRC":"214,000","ACC_TRDVOL":"5","ACC_TRDVAL":"1,077,500","MKTCAP":"266,049,188,500","LIST_SHRS":"1,234,567","MKT_ID":"STK"},
 {"ISU_SRT_CD":"08537M","ISU_CD":"KR708537M012","ISU_ABBRV":"미래에셋증권2우B","MKT_NM":"KOSPI","SECT_TP_NM":"","TDD_CLSPRC":"4,950","FLUC_TP_CD":"1","CMPPREVDD_PRC":"15","FLUC_RT":"0.30","TDD_OPNPRC":"4,935","TDD_HGPRC":"4,960","TDD_LWPRC":"4,930","ACC_TRDVOL":"3,412","ACC_TRDVAL":"16,876,220","MKTCAP":"89,100,000,000","LIST_SHRS":"18,000,000","MKT_ID":"STK"},
 {"ISU_SRT_CD":"900250","ISU_CD":"KYG887121070","ISU_ABBRV":"크리스탈신소재","MKT_NM":"KOSDAQ","SECT_TP_NM":"외국기업(소속부없음)","TDD_CLSPRC":"1,580","FLUC_TP_CD":"0","CMPPREVDD_PRC":"0","FLUC_RT":"0.00","TDD_OPNPRC":"0","TDD_HGPRC":"0","TDD_LWPRC":"0","ACC_TRDVOL":"0","ACC_TRDVAL":"0","MKTCAP":"113,691,586,000","LIST_SHRS":"71,956,700","MKT_ID":"KSQ"},
 {"ISU_SRT_CD":"950110","ISU_CD":"US0000000AB1","ISU_ABBRV":"SBI핀테크솔루션즈","MKT_NM":"KOSDAQ","SECT_TP_NM":"외국기업(소속부없음)","TDD_CLSPRC":"6,210","FLUC_TP_CD":"5","CMPPREVDD_PRC":"-2,660","FLUC_RT":"-29.99","TDD_OPNPRC":"8,870","TDD_HGPRC":"8,870","TDD_LWPRC":"6,210","ACC_TRDVOL":"1,502,330","ACC_TRDVAL":"10,433,998,100","MKTCAP":"152,004,157,200","LIST_SHRS":"24,477,320","MKT_ID":"KSQ"}
],"CURRENT_DATETIME":"2026.11.27 PM 08:00:01"}
"""#

    static let etfMaster04601 = #"""
{"output":[
 {"ISU_CD":"KR7261240008","ISU_SRT_CD":"261240","ISU_NM":"KODEX 미국달러선물 상장지수투자신탁[달러-파생형]","ISU_ABBRV":"KODEX 미국달러선물","ISU_ENG_NM":"KODEX US Dollar Futures ETF","LIST_DD":"2016/12/27","ETF_OBJ_IDX_NM":"미국달러선물지수","IDX_CALC_INST_NM1":"KRX","IDX_CALC_INST_NM2":"일반","ETF_REPLICA_METHD_TP_CD":"합성(패시브)","IDX_MKT_CLSS_NM":"해외","IDX_ASST_CLSS_NM":"통화","LIST_SHRS":"6,200,000","COM_ABBRV":"삼성자산운용","CU_QTY":"5","ETF_TOT_FEE":"0.250000","TAX_TP_CD":"배당소득세(보유기간과세)"},
 {"ISU_CD":"KR70080G0005","ISU_SRT_CD":"0080G0","ISU_NM":"TIGER 미국S&P500 상장지수투자신탁(주식)","ISU_ABBRV":"TIGER 미국S&P500","ISU_ENG_NM":"TIGER US S&P500 ETF","LIST_DD":"2025/06/10","ETF_OBJ_IDX_NM":"S&P 500","IDX_CALC_INST_NM1":"S&P","IDX_CALC_INST_NM2":"2X 레버리지","ETF_REPLICA_METHD_TP_CD":"합성(액티브)","IDX_MKT_CLSS_NM":"해외","IDX_ASST_CLSS_NM":"주식","LIST_SHRS":"1,050,000","COM_ABBRV":"미래에셋자산운용","CU_QTY":"50,000","ETF_TOT_FEE":"0.070000","TAX_TP_CD":"배당소득세(보유기간과세)"}
],"CURRENT_DATETIME":"2026.11.27 PM 08:00:02"}
"""#

    static let etfPrices04301 = #"""
{"output":[
 {"ISU_SRT_CD":"261240","ISU_CD":"KR7261240008","SECUGRP_ID":"EF","ISU_ABBRV":"KODEX 미국달러선물","TDD_CLSPRC":"12,345","CMPPREVDD_PRC":"-1,100","FLUC_TP_CD":"2","FLUC_RT":"-8.18","NAV":"12,351.27","TDD_OPNPRC":"13,400","TDD_HGPRC":"13,455","TDD_LWPRC":"12,300","ACC_TRDVOL":"7","ACC_TRDVAL":"86,415","MKTCAP":"76,539,000,000","INVSTASST_NETASST_TOTAMT":"76,577,874,000","LIST_SHRS":"6,200,000","IDX_IND_NM":"미국달러선물지수","OBJ_STKPRC_IDX":"1,234.56","CMPPREVDD_IDX":"-110.25","FLUC_TP_CD1":"2","FLUC_RT1":"-8.20"},
 {"ISU_SRT_CD":"0080G0","ISU_CD":"KR70080G0005","SECUGRP_ID":"EF","ISU_ABBRV":"TIGER 미국S&P500","TDD_CLSPRC":"10,085","CMPPREVDD_PRC":"35","FLUC_TP_CD":"1","FLUC_RT":"0.35","NAV":"10,090.12","TDD_OPNPRC":"10,050","TDD_HGPRC":"10,100","TDD_LWPRC":"10,040","ACC_TRDVOL":"312,004","ACC_TRDVAL":"3,143,660,140","MKTCAP":"10,589,250,000","INVSTASST_NETASST_TOTAMT":"10,594,626,000","LIST_SHRS":"1,050,000","IDX_IND_NM":"S&P 500","OBJ_STKPRC_IDX":"-","CMPPREVDD_IDX":"-","FLUC_TP_CD1":"-","FLUC_RT1":"-"}
],"CURRENT_DATETIME":"2026.11.27 PM 08:00:03"}
"""#

    static let openAPIKospiPrices = #"""
{"OutBlock_1":[
 {"BAS_DD":"20261127","ISU_CD":"37550L","ISU_NM":"LG에너지솔루션1우","MKT_NM":"KOSPI","SECT_TP_NM":"-","TDD_CLSPRC":"215500","CMPPREVDD_PRC":"-1100","FLUC_RT":"-0.51","TDD_OPNPRC":"216000","TDD_HGPRC":"217500","TDD_LWPRC":"214000","ACC_TRDVOL":"5","ACC_TRDVAL":"1077500","MKTCAP":"266049188500","LIST_SHRS":"1234567"},
 {"BAS_DD":"20261127","ISU_CD":"08537M","ISU_NM":"미래에셋증권2우B","MKT_NM":"KOSPI","SECT_TP_NM":"-","TDD_CLSPRC":"4950","CMPPREVDD_PRC":"15","FLUC_RT":"0.30","TDD_OPNPRC":"4935","TDD_HGPRC":"4960","TDD_LWPRC":"4930","ACC_TRDVOL":"3412","ACC_TRDVAL":"16876220","MKTCAP":"89100000000","LIST_SHRS":"18000000"}
]}
"""#

    static let openAPIKosdaqPrices = #"""
{"OutBlock_1":[
 {"BAS_DD":"20261127","ISU_CD":"950110","ISU_NM":"SBI핀테크솔루션즈","MKT_NM":"KOSDAQ","SECT_TP_NM":"외국기업(소속부없음)","TDD_CLSPRC":"6210","CMPPREVDD_PRC":"-2660","FLUC_RT":"-29.99","TDD_OPNPRC":"8870","TDD_HGPRC":"8870","TDD_LWPRC":"6210","ACC_TRDVOL":"1502330","ACC_TRDVAL":"10433998100","MKTCAP":"152004157200","LIST_SHRS":"24477320"}
]}
"""#

    /// A weekday holiday as Open API users report it: identity fields only, every price `""`.
    static let openAPIHolidayETFPrices = #"""
{"OutBlock_1":[
 {"BAS_DD":"20261127","ISU_CD":"261240","ISU_NM":"KODEX 미국달러선물","TDD_CLSPRC":"","CMPPREVDD_PRC":"","FLUC_RT":"","NAV":"","TDD_OPNPRC":"","TDD_HGPRC":"","TDD_LWPRC":"","ACC_TRDVOL":"","ACC_TRDVAL":"","MKTCAP":"","INVSTASST_NETASST_TOTAMT":"","LIST_SHRS":"6200000","IDX_IND_NM":"미국달러선물지수","OBJ_STKPRC_IDX":"","CMPPREVDD_IDX":"","FLUC_RT_IDX":""},
 {"BAS_DD":"20261127","ISU_CD":"0080G0","ISU_NM":"TIGER 미국S&P500","TDD_CLSPRC":"","CMPPREVDD_PRC":"","FLUC_RT":"","NAV":"","TDD_OPNPRC":"","TDD_HGPRC":"","TDD_LWPRC":"","ACC_TRDVOL":"","ACC_TRDVAL":"","MKTCAP":"","INVSTASST_NETASST_TOTAMT":"","LIST_SHRS":"1050000","IDX_IND_NM":"S&P 500","OBJ_STKPRC_IDX":"","CMPPREVDD_IDX":"","FLUC_RT_IDX":""}
]}
"""#
}

/// The variants parse and are stored exactly: FakeKRX serves the fixtures over real HTTP, `CollectorRun` fetches,
/// parses and stores them in a real PostgreSQL database, and the test reads the tables back.
@Suite("Real-body variants are stored exactly")
struct VariantStorageTests {
    /// Runs one collector against `fake`, with the fake's credentials and the test client settings.
    static func collect(_ dataset: Dataset, _ fake: FakeKRX, _ database: TestDatabase, source: String = "portal",
                        logger: Logger) async throws -> CollectorOutcome {
        let configuration = try GalaxyConfiguration(environment: [
            "GALAXY_DATABASE_URL": database.url, "GALAXY_PORTAL_URL": fake.baseURL, "GALAXY_OPENAPI_URL": fake.baseURL,
            "GALAXY_RATE": "0", "GALAXY_SOURCE": source, "KRX_ID": "galaxy", "KRX_PW": "s3cret&pw=1",
            "KRX_AUTH_KEY": "open-api-key-42",
        ])
        let client = testConfiguration(fake)
        let request = CollectorRequest(job: .dataset(dataset), days: .date(VariantFixtures.day, heal: 0))
        return await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: run(request, configuration, client, logger))
            }.start()
        }
    }

    private static func run(
        _ request: CollectorRequest, _ configuration: GalaxyConfiguration, _ client: KRXClientConfiguration,
        _ logger: Logger
    ) -> CollectorOutcome {
        CollectorRun(request: request, configuration: configuration, logger: logger) {
            dataset, configuration, store, logger in
            let limiter = RateLimiter(rate: 0)
            return configuration.source(for: dataset) == .portal
                ? try KRXPortalClient(configuration: client, limiter: limiter, breakerStore: store, logger: logger)
                : try KRXOpenAPIClient(configuration: client, limiter: limiter, breakerStore: store, logger: logger)
        }.run()
    }

    static func table(_ connection: Connection, _ sql: String) throws -> [String: [String: String]] {
        let result = try connection.query(sql)
        var byKey: [String: [String: String]] = [:]
        for row in result.rows {
            var values: [String: String] = [:]
            for (index, column) in result.columns.enumerated() { values[column] = row.text(index) ?? "NULL" }
            byKey[values[result.columns[0]] ?? ""] = values
        }
        return byKey
    }

    @Test("portal: letter tickers, foreign ISINs, decimal par values, 종류주권, synthetic ETFs, CU 5, -1,100")
    func portalVariants() async throws {
        let fake = try FakeKRX.start { state in
            state.bodies["dbms/MDC/STAT/standard/MDCSTAT01901"] = VariantFixtures.stockMaster01901
            state.bodies["dbms/MDC/STAT/standard/MDCSTAT01501"] = VariantFixtures.prices01501
            state.bodies["dbms/MDC/STAT/standard/MDCSTAT04601"] = VariantFixtures.etfMaster04601
            state.bodies["dbms/MDC/STAT/standard/MDCSTAT04301"] = VariantFixtures.etfPrices04301
        }
        defer { fake.shutdown() }
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let (logger, label) = RecordingLogHandler.logger()
        for dataset in [Dataset.stock, .price, .etf, .etfPrice] {
            let outcome = try await Self.collect(dataset, fake, database, logger: logger)
            #expect(outcome.exitCode == .success, "\(dataset): \(outcome)")
        }
        // The richer login answer (text/html, previousMemberYn, MDC_MBR_TP_CD, MBR_NO) was accepted, and the
        // member number reached no log line.
        #expect(fake.loginPosts.count >= 1)
        #expect(!RecordingLogHandler.text(label).contains(FakeKRX.memberNumber))

        let connection = try database.connect()
        defer { connection.close() }
        let stocks = try Self.table(
            connection, "SELECT ticker, isin, security_group, share_kind, par_value::text AS par, shares FROM stocks")
        #expect(stocks.count == 5)
        #expect(stocks["37550L"]?["isin"] == "KR737550L016" && stocks["37550L"]?["share_kind"] == "종류주권")
        #expect(stocks["37550L"]?["shares"] == "1234567")
        #expect(stocks["08537M"]?["par"] == "5000")
        #expect(stocks["900250"]?["isin"] == "KYG887121070" && stocks["900250"]?["par"] == "0.5")
        #expect(stocks["950110"]?["isin"] == "US0000000AB1" && stocks["950110"]?["par"] == "0.05")
        #expect(stocks["950110"]?["security_group"] == "주식예탁증권")
        #expect(stocks["000020"]?["par"] == "0.25")

        let prices = try Self.table(
            connection, "SELECT ticker, isin, close, change, change_rate::text AS rate, volume, market FROM prices")
        #expect(prices.count == 4)
        #expect(prices["37550L"]?["change"] == "-1100" && prices["37550L"]?["rate"] == "-0.51")
        #expect(prices["37550L"]?["close"] == "215500" && prices["37550L"]?["volume"] == "5")
        #expect(prices["08537M"]?["isin"] == "KR708537M012")
        #expect(prices["950110"]?["change"] == "-2660" && prices["950110"]?["rate"] == "-29.99")
        #expect(prices["900250"]?["volume"] == "0" && prices["900250"]?["market"] == "KSQ", "halted: 0, not NULL")

        let etfs = try Self.table(
            connection, "SELECT ticker, replication, creation_unit, leverage, total_fee::text AS fee FROM etfs")
        #expect(etfs["261240"]?["replication"] == "합성(패시브)" && etfs["261240"]?["creation_unit"] == "5")
        #expect(etfs["0080G0"]?["replication"] == "합성(액티브)" && etfs["0080G0"]?["creation_unit"] == "50000")
        #expect(etfs["0080G0"]?["leverage"] == "2X 레버리지" && etfs["261240"]?["fee"] == "0.25")

        let etfPrices = try Self.table(
            connection,
            "SELECT ticker, change, nav::text AS nav, volume, base_index_close::text AS idx, "
                + "base_index_change::text AS idx_change FROM etf_prices")
        #expect(etfPrices["261240"]?["change"] == "-1100" && etfPrices["261240"]?["nav"] == "12351.27")
        #expect(etfPrices["261240"]?["volume"] == "7" && etfPrices["261240"]?["idx"] == "1234.56")
        #expect(etfPrices["261240"]?["idx_change"] == "-110.25")
        #expect(etfPrices["0080G0"]?["idx"] == "NULL" && etfPrices["0080G0"]?["change"] == "35")
    }

    @Test("Open API: letter tickers and -1100 stored; a holiday's \"\" rows store nothing")
    func openAPIVariants() async throws {
        let fake = try FakeKRX.start { state in
            state.bodies["sto/stk_bydd_trd"] = VariantFixtures.openAPIKospiPrices
            state.bodies["sto/ksq_bydd_trd"] = VariantFixtures.openAPIKosdaqPrices
            state.bodies["etp/etf_bydd_trd"] = VariantFixtures.openAPIHolidayETFPrices
        }
        defer { fake.shutdown() }
        let database = try TestDatabase.create(migrated: true)
        defer { database.drop() }
        let (logger, _) = RecordingLogHandler.logger()
        let prices = try await Self.collect(.price, fake, database, source: "openapi", logger: logger)
        #expect(prices.exitCode == .success, "\(prices)")
        let etf = try await Self.collect(.etfPrice, fake, database, source: "openapi", logger: logger)
        #expect(etf.exitCode == .success, "\(etf)")

        let connection = try database.connect()
        defer { connection.close() }
        let stored = try Self.table(connection, "SELECT ticker, change, close, market FROM prices")
        #expect(Set(stored.keys) == ["37550L", "08537M", "950110"])
        #expect(stored["37550L"]?["change"] == "-1100" && stored["37550L"]?["market"] == "STK")
        #expect(stored["950110"]?["market"] == "KSQ")
        // Three days after the day and no calendar evidence: the "" rows are provisionally closed (pending).
        let ledger = try Ledger(connection).day(.etfPrice, on: VariantFixtures.day)
        #expect(ledger?.status == .pending && ledger?.rows == 0, "\(String(describing: ledger))")
        #expect(try connection.query("SELECT count(*) FROM etf_prices").scalar(as: Int.self) == 0)
    }
}
