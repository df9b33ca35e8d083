/// A KRX index as MDCSTAT00401 describes it, with the magnitudes its daily values are generated around (typical
/// 2024 levels, volumes and market caps; estimates, see docs/krx-sim.md).
struct SimIndex: Sendable {
    /// `idxIndMidclssCd`: 01 KRX, 02 KOSPI, 03 KOSDAQ, 04 테마.
    let group: String
    /// `IND_TP_CD` (`indIdx`) and `IDX_IND_CD` (`indIdx2`).
    let type: String
    let code3: String
    let name: String
    let englishName: String
    let baseDate: String
    let announced: String
    /// `BAS_IDX_CONTN` in hundredths.
    let baseValueHundredths: Int64
    let constituents: Int
    let level: Double
    let volume: Double
    let averagePrice: Double
    let marketCap: Double

    /// `IND_TP_CD` + `IDX_IND_CD`, as pykrx names an index (`"1028"` = 코스피 200).
    var code: String { type + code3 }

    static let all: [SimIndex] = [
        SimIndex(group: "01", type: "5", code3: "300", name: "KRX 300", englishName: "KRX 300", baseDate: "2010.01.04",
            announced: "2018.02.05", baseValueHundredths: 100_000, constituents: 300, level: 1_500, volume: 2.2e8,
            averagePrice: 55_000, marketCap: 2.0e15),
        SimIndex(group: "01", type: "5", code3: "600", name: "KTOP 30", englishName: "KTOP 30", baseDate: "1996.01.03",
            announced: "2015.07.13", baseValueHundredths: 88_885, constituents: 30, level: 9_000, volume: 4e7,
            averagePrice: 90_000, marketCap: 1.0e15),
        SimIndex(group: "01", type: "5", code3: "042", name: "KRX 100", englishName: "KRX 100", baseDate: "2001.01.02",
            announced: "2005.06.01", baseValueHundredths: 100_000, constituents: 100, level: 5_200, volume: 1.2e8,
            averagePrice: 70_000, marketCap: 1.6e15),
        SimIndex(group: "01", type: "5", code3: "044", name: "KRX 반도체", englishName: "KRX Semicon",
            baseDate: "2004.01.02", announced: "2006.07.03", baseValueHundredths: 100_000, constituents: 50,
            level: 3_500, volume: 3e7, averagePrice: 60_000, marketCap: 1.3e14),
        SimIndex(group: "02", type: "1", code3: "001", name: "코스피", englishName: "KOSPI", baseDate: "1980.01.04",
            announced: "1983.01.04", baseValueHundredths: 10_000, constituents: 950, level: 2_550, volume: 5.5e8,
            averagePrice: 18_000, marketCap: 2.1e15),
        SimIndex(group: "02", type: "1", code3: "028", name: "코스피 200", englishName: "KOSPI 200",
            baseDate: "1990.01.03", announced: "1994.06.15", baseValueHundredths: 10_000, constituents: 200, level: 340,
            volume: 1.4e8, averagePrice: 55_000, marketCap: 1.8e15),
        SimIndex(group: "02", type: "1", code3: "034", name: "코스피 100", englishName: "KOSPI 100",
            baseDate: "2000.01.04", announced: "2000.03.02", baseValueHundredths: 100_000, constituents: 100,
            level: 2_600, volume: 1e8, averagePrice: 70_000, marketCap: 1.6e15),
        SimIndex(group: "02", type: "1", code3: "035", name: "코스피 50", englishName: "KOSPI 50",
            baseDate: "2000.01.04", announced: "2000.03.02", baseValueHundredths: 100_000, constituents: 50,
            level: 2_400, volume: 5e7, averagePrice: 80_000, marketCap: 1.4e15),
        SimIndex(group: "02", type: "1", code3: "002", name: "코스피 대형주", englishName: "KOSPI Large Cap",
            baseDate: "2000.01.04", announced: "2003.01.02", baseValueHundredths: 100_000, constituents: 100,
            level: 2_450, volume: 1.1e8, averagePrice: 65_000, marketCap: 1.7e15),
        SimIndex(group: "03", type: "2", code3: "001", name: "코스닥", englishName: "KOSDAQ", baseDate: "1996.07.01",
            announced: "1997.01.03", baseValueHundredths: 100_000, constituents: 1_700, level: 850, volume: 1.0e9,
            averagePrice: 8_000, marketCap: 4.0e14),
        SimIndex(group: "03", type: "2", code3: "203", name: "코스닥 150", englishName: "KOSDAQ 150",
            baseDate: "2010.01.04", announced: "2015.07.13", baseValueHundredths: 100_000, constituents: 150,
            level: 1_350, volume: 1.2e8, averagePrice: 40_000, marketCap: 2.0e14),
        SimIndex(group: "03", type: "2", code3: "002", name: "코스닥 대형주", englishName: "KOSDAQ Large Cap",
            baseDate: "2003.01.02", announced: "2003.01.02", baseValueHundredths: 100_000, constituents: 100,
            level: 1_700, volume: 1.1e8, averagePrice: 35_000, marketCap: 1.9e14),
    ]

    /// The index with `code`; an unknown code gets a stand-in with a level derived from it, as before.
    static func find(_ code: String) -> SimIndex {
        if let index = all.first(where: { $0.code == code }) { return index }
        let level = 500 * (1 + Double(Hash.string(code) % 3_000) / 1_000)
        return SimIndex(
            group: "04", type: String(code.prefix(1)), code3: String(code.dropFirst()), name: code, englishName: code,
            baseDate: "2010.01.04", announced: "2010.01.04", baseValueHundredths: 100_000, constituents: 30,
            level: level, volume: 3e7, averagePrice: 20_000, marketCap: 1e14)
    }
}
