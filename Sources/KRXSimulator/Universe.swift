import Foundation

/// A KRX stock market segment.
public enum SimMarket: String, Sendable, CaseIterable {
    case kospi = "STK"
    case kosdaq = "KSQ"
    case konex = "KNX"

    /// `MKT_NM` as the portal and the Open API write it.
    public var name: String {
        switch self {
        case .kospi: "KOSPI"
        case .kosdaq: "KOSDAQ"
        case .konex: "KONEX"
        }
    }

    /// `marketName` in the finder look-ups.
    var koreanName: String {
        switch self {
        case .kospi: "유가증권"
        case .kosdaq: "코스닥"
        case .konex: "코넥스"
        }
    }
}

/// One listed share (common or preferred) over its whole life on the exchange. A class: screens pass thousands
/// of them around per request, and a reference costs one retain where a struct of strings costs a dozen.
public final class SimStock: Sendable {
    /// `ISU_SRT_CD`: six characters, alphanumeric (`00104K`); never an integer.
    public let ticker: String
    /// `ISU_CD`: the ISIN (`KR7…`, or `HK…`/`KY…` for foreign listings).
    public let isin: String
    /// `ISU_NM`, the full name.
    public let name: String
    /// `ISU_ABBRV`, the short name the screens sort by.
    public let abbreviation: String
    public let englishName: String
    public let market: SimMarket
    /// KOSDAQ GLOBAL members (the master screen says `KOSDAQ GLOBAL`, the daily screens `KOSDAQ`).
    public let isKosdaqGlobal: Bool
    /// `SECT_TP_NM`: the KOSDAQ/KONEX tier (소속부), `""` on KOSPI.
    public let tier: String
    /// `SECUGRP_NM`.
    public let securityGroup: String
    /// `KIND_STKCERT_TP_NM`.
    public let kind: String
    /// `PARVAL` as the portal writes it (`"1,000"`, `"무액면"`).
    public let parValue: String
    /// `IDX_IND_NM`: the KRX index industry (sector screen).
    public let industry: String
    public let isPreferred: Bool
    /// First listed day.
    public let listed: SimDate
    /// First day no longer listed (nil while listed).
    public let delisted: SimDate?

    let key: UInt64
    let listingSession: Int
    let logBase: Double
    let baseShares: Int64
    let baseVolume: Double
    /// Sessions with a limit move, sorted, and the cumulative log shift after each.
    let shockSessions: [Int32]
    let shockUp: [Bool]
    /// Cumulative log shift of the price level after each limit move (so a day's level needs no logarithms).
    let shockShifts: [Double]
    /// Listed shares per year from 1990 (index 0) to 2040: occasional issues at year boundaries.
    let sharesByYear: [Int64]
    let haltProbability: Double
    let lossProbability: Double
    let perTarget: Double
    let pbrTarget: Double
    let payout: Double

    /// True when the stock is listed on `date`.
    public func isListed(on date: SimDate) -> Bool {
        listed <= date && (delisted.map { date < $0 } ?? true)
    }

    init(
        ticker: String,
        isin: String,
        name: String,
        abbreviation: String,
        englishName: String,
        market: SimMarket,
        isKosdaqGlobal: Bool,
        tier: String,
        securityGroup: String,
        kind: String,
        parValue: String,
        industry: String,
        isPreferred: Bool,
        listed: SimDate,
        delisted: SimDate?,
        key: UInt64,
        listingSession: Int,
        logBase: Double,
        baseShares: Int64,
        baseVolume: Double,
        shockSessions: [Int32],
        shockUp: [Bool],
        shockShifts: [Double],
        sharesByYear: [Int64],
        haltProbability: Double,
        lossProbability: Double,
        perTarget: Double,
        pbrTarget: Double,
        payout: Double
    ) {
        self.ticker = ticker
        self.isin = isin
        self.name = name
        self.abbreviation = abbreviation
        self.englishName = englishName
        self.market = market
        self.isKosdaqGlobal = isKosdaqGlobal
        self.tier = tier
        self.securityGroup = securityGroup
        self.kind = kind
        self.parValue = parValue
        self.industry = industry
        self.isPreferred = isPreferred
        self.listed = listed
        self.delisted = delisted
        self.key = key
        self.listingSession = listingSession
        self.logBase = logBase
        self.baseShares = baseShares
        self.baseVolume = baseVolume
        self.shockSessions = shockSessions
        self.shockUp = shockUp
        self.shockShifts = shockShifts
        self.sharesByYear = sharesByYear
        self.haltProbability = haltProbability
        self.lossProbability = lossProbability
        self.perTarget = perTarget
        self.pbrTarget = pbrTarget
        self.payout = payout
    }

}

/// One ETF over its whole life.
public final class SimETF: Sendable {
    public let ticker: String
    public let isin: String
    public let name: String
    public let abbreviation: String
    public let englishName: String
    public let listed: SimDate
    public let delisted: SimDate?
    /// `IDX_IND_NM` / `ETF_OBJ_IDX_NM`: the base index.
    public let baseIndex: String
    /// False when the base index is not published: the index fields are `"-"`.
    public let indexPublished: Bool
    public let indexProvider: String
    public let leverage: String
    public let replication: String
    public let indexRegion: String
    public let assetClass: String
    public let manager: String
    public let creationUnit: Int64
    /// Total fee in millionths of a percent point: 150_000 → `"0.150000"`.
    public let feeMicros: Int
    public let taxType: String

    let key: UInt64
    let listingSession: Int
    let indexKey: UInt64
    let logBase: Double
    let indexLogBase: Double
    let baseShares: Int64
    let baseVolume: Double

    public func isListed(on date: SimDate) -> Bool {
        listed <= date && (delisted.map { date < $0 } ?? true)
    }

    init(
        ticker: String,
        isin: String,
        name: String,
        abbreviation: String,
        englishName: String,
        listed: SimDate,
        delisted: SimDate?,
        baseIndex: String,
        indexPublished: Bool,
        indexProvider: String,
        leverage: String,
        replication: String,
        indexRegion: String,
        assetClass: String,
        manager: String,
        creationUnit: Int64,
        feeMicros: Int,
        taxType: String,
        key: UInt64,
        listingSession: Int,
        indexKey: UInt64,
        logBase: Double,
        indexLogBase: Double,
        baseShares: Int64,
        baseVolume: Double
    ) {
        self.ticker = ticker
        self.isin = isin
        self.name = name
        self.abbreviation = abbreviation
        self.englishName = englishName
        self.listed = listed
        self.delisted = delisted
        self.baseIndex = baseIndex
        self.indexPublished = indexPublished
        self.indexProvider = indexProvider
        self.leverage = leverage
        self.replication = replication
        self.indexRegion = indexRegion
        self.assetClass = assetClass
        self.manager = manager
        self.creationUnit = creationUnit
        self.feeMicros = feeMicros
        self.taxType = taxType
        self.key = key
        self.listingSession = listingSession
        self.indexKey = indexKey
        self.logBase = logBase
        self.indexLogBase = indexLogBase
        self.baseShares = baseShares
        self.baseVolume = baseVolume
    }

}

/// Builds the deterministic universe of stocks and ETFs from a seed.
enum UniverseBuilder {
    static let syllables: [(String, String)] = [
        ("한", "Han"), ("국", "Guk"), ("대", "Dae"), ("성", "Seong"), ("신", "Shin"), ("동", "Dong"), ("아", "A"),
        ("진", "Jin"), ("우", "Woo"), ("현", "Hyun"), ("세", "Se"), ("화", "Hwa"), ("일", "Il"), ("광", "Gwang"),
        ("명", "Myung"), ("태", "Tae"), ("영", "Young"), ("원", "Won"), ("미", "Mi"), ("래", "Rae"), ("코", "Ko"),
        ("스", "Seu"), ("에", "E"), ("이", "I"), ("디", "Di"), ("티", "Ti"), ("엘", "El"), ("오", "O"), ("로", "Ro"),
        ("비", "Bi"), ("젠", "Gen"), ("메", "Me"), ("텍", "Tek"), ("솔", "Sol"), ("나", "Na"), ("라", "Ra"),
        ("해", "Hae"), ("삼", "Sam"), ("금", "Geum"), ("호", "Ho"), ("경", "Kyung"), ("남", "Nam"), ("서", "Seo"),
        ("인", "In"), ("제", "Je"), ("상", "Sang"), ("용", "Yong"), ("파", "Pa"), ("크", "Keu"), ("온", "On"),
    ]
    static let suffixes: [(String, String)] = [
        ("전자", "Electronics"), ("화학", "Chemical"), ("제약", "Pharm"), ("바이오", "Bio"), ("건설", "E&C"),
        ("산업", "Industrial"), ("홀딩스", "Holdings"), ("에너지", "Energy"), ("테크", "Tech"), ("시스템", "Systems"),
        ("소재", "Materials"), ("반도체", "Semiconductor"), ("통신", "Telecom"), ("식품", "Foods"), ("물산", "C&T"),
        ("중공업", "Heavy Industries"), ("증권", "Securities"), ("금융지주", "Financial Group"), ("보험", "Insurance"),
        ("엔터", "Entertainment"), ("게임즈", "Games"), ("로직스", "Logistics"), ("머티리얼즈", "Materials"),
        ("네트웍스", "Networks"), ("정밀", "Precision"), ("기계", "Machinery"), ("", ""), ("", ""),
    ]
    static let latinPrefixes = ["AJ", "AK", "BGF", "CJ", "DB", "GS", "HL", "KG", "LS", "SK", "SJM", "KT", "HD", "DL"]
    static let kospiIndustries = [
        "음식료품", "섬유의복", "종이목재", "화학", "의약품", "비금속광물", "철강금속", "기계", "전기전자", "의료정밀",
        "운수장비", "유통업", "전기가스업", "건설업", "운수창고업", "통신업", "금융업", "은행", "증권", "보험", "서비스업",
        "기타금융", "제조업",
    ]
    static let kosdaqIndustries = [
        "제조", "IT 서비스", "기타서비스", "유통", "건설", "금융", "오락·문화", "통신방송서비스", "운송", "음식료·담배",
        "섬유·의류", "화학", "제약", "비금속", "금속", "기계·장비", "전기·전자", "의료·정밀기기", "운송장비·부품",
        "기타제조", "반도체", "IT부품", "소프트웨어", "디지털컨텐츠",
    ]
    static let kosdaqTiers = ["우량기업부", "벤처기업부", "중견기업부", "기술성장기업부"]

    static func stocks(seed: UInt64, count: Int, calendar: TradingCalendar) -> [SimStock] {
        var rng = SeededGenerator(seed: Hash.combine(seed, 0x5709C5))
        var usedTickers = Set<String>()
        var result: [SimStock] = []
        result.reserveCapacity(count + count / 8)
        let earliest = SimDate(year: 1956, month: 3, day: 3)!
        let dataStart = SimDate(year: 1995, month: 1, day: 3)!
        let kosdaqStart = SimDate(year: 1996, month: 7, day: 1)!
        let konexStart = SimDate(year: 2013, month: 7, day: 1)!
        let newTickerStyle = SimDate(year: 2024, month: 1, day: 2)!
        let latest = SimDate(year: 2026, month: 11, day: 27)!
        for _ in 0..<count {
            // Listing: about a third before the data starts, the rest spread to the present.
            var listed: SimDate
            if rng.unit() < 0.33 {
                listed = SimDate(dayNumber: rng.int(earliest.dayNumber...dataStart.dayNumber - 1))
            } else {
                listed = SimDate(dayNumber: rng.int(dataStart.dayNumber...latest.dayNumber))
            }
            listed = calendar.tradingDay(onOrAfter: listed)
            let roll = rng.unit()
            var market: SimMarket = roll < 0.37 ? .kospi : roll < 0.85 ? .kosdaq : .konex
            if market == .konex && listed < konexStart { market = .kosdaq }
            if market == .kosdaq && listed < kosdaqStart {
                listed = calendar.tradingDay(onOrAfter: kosdaqStart.adding(days: rng.int(0...1500)))
            }
            var delisted: SimDate? = nil
            if rng.unit() < 0.2 {
                let lower = max(listed.dayNumber + 200, dataStart.dayNumber + 30)
                if lower < latest.dayNumber {
                    let day = SimDate(dayNumber: rng.int(lower...latest.dayNumber))
                    delisted = calendar.tradingDay(onOrAfter: day)
                }
            }
            let foreign = market != .konex && rng.unit() < 0.012
            // Ticker.
            var ticker: String
            repeat {
                if foreign {
                    ticker = "9" + String(format: "%04d", rng.int(0...9999)) + "0"
                } else if listed >= newTickerStyle && rng.unit() < 0.5 {
                    let letter = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")[rng.int(0...23)]
                    ticker = "0" + String(format: "%03d", rng.int(0...999)) + String(letter) + "0"
                } else {
                    ticker = String(format: "%05d", rng.int(1...89_999)) + "0"
                }
            } while usedTickers.contains(ticker) || usedTickers.contains(String(ticker.dropLast()) + "5")
                || usedTickers.contains(String(ticker.dropLast()) + "K")
            usedTickers.insert(ticker)
            // Names.
            var abbreviation = ""
            var english = ""
            if rng.unit() < 0.18 {
                let prefix = rng.pick(latinPrefixes)
                abbreviation = prefix
                english = prefix + " "
            }
            for _ in 0..<rng.int(2...3) {
                let s = rng.pick(syllables)
                abbreviation += s.0
                english += english.isEmpty || english.hasSuffix(" ") ? s.1 : s.1.lowercased()
            }
            let suffix = rng.pick(suffixes)
            abbreviation += suffix.0
            english += suffix.1.isEmpty ? " Co.,Ltd." : " \(suffix.1) Co.,Ltd."
            let tier: String
            switch market {
            case .kospi: tier = ""
            case .kosdaq:
                if foreign {
                    tier = "외국기업(소속부없음)"
                } else {
                    let r = rng.unit()
                    tier = r < 0.03 ? "관리종목(소속부없음)" : r < 0.06 ? "SPAC(소속부없음)" : r < 0.075 ? "투자주의환기종목(소속부없음)" : rng.pick(kosdaqTiers)
                }
            case .konex: tier = rng.unit() < 0.15 ? "크라우드펀딩기업부" : "일반기업부"
            }
            let group: String
            if foreign {
                group = rng.unit() < 0.7 ? "외국주권" : "주식예탁증권"
            } else if market == .kospi {
                let r = rng.unit()
                group = r < 0.02 ? "부동산투자회사" : r < 0.03 ? "투자회사" : r < 0.035 ? "사회간접자본투융자회사" : "주권"
            } else {
                group = "주권"
            }
            let parValues = ["100", "200", "500", "500", "500", "1,000", "2,500", "5,000", "5,000", "무액면"]
            let parValue = foreign ? "무액면" : rng.pick(parValues)
            let industry = market == .kospi ? rng.pick(kospiIndustries) : rng.pick(kosdaqIndustries)
            let isin = foreign
                ? ISIN.make(prefix: rng.unit() < 0.5 ? "HK0000" + String(format: "%05d", rng.int(0...99_999))
                    : "KYG" + String(format: "%08d", rng.int(0...99_999_999)))
                : ISIN.make(prefix: "KR7" + ticker + "00")
            let penny = rng.unit() < 0.006
            let logBase = penny ? log(Double(rng.int(300...1500))) : log(1_000.0) + rng.unit() * log(300.0)
            // Market caps from ~15 billion to ~40 trillion won at listing, most of them small; shares follow from the price.
            let marketCap = exp(log(1.5e10) + pow(rng.unit(), 1.8) * log(2_700.0))
            let shares = penny ? Int64(rng.int(2_500_000_000...4_000_000_000))
                : min(6_000_000_000, max(100_000, Int64(marketCap / exp(logBase))))
            let volume = penny ? 1.6e9 : Double(shares) * (0.0005 + rng.unit() * 0.008)
            let key = Hash.combine(seed, Hash.string(ticker))
            let common = makeStock(
                key: key, ticker: ticker, isin: isin, name: abbreviation + (market == .kospi ? "보통주" : ""),
                abbreviation: abbreviation, english: english, market: market,
                global: market == .kosdaq && tier == "우량기업부" && rng.unit() < 0.35, tier: tier, group: group,
                kind: "보통주", parValue: parValue, industry: industry, preferred: false, listed: listed,
                delisted: delisted, logBase: logBase, shares: shares, volume: volume,
                haltProbability: tier.hasPrefix("관리") ? 0.03 : 0.003, calendar: calendar, rng: &rng)
            result.append(common)
            // About one KOSPI common in five has a preferred share, old style (…5) or new style (…K).
            if market == .kospi && !foreign && rng.unit() < 0.22 && !ticker.contains(where: \.isLetter) {
                let newStyle = rng.unit() < 0.4
                let preferredTicker = String(ticker.dropLast()) + (newStyle ? "K" : "5")
                usedTickers.insert(preferredTicker)
                let preferredListed = max(listed, SimDate(dayNumber: listed.dayNumber + rng.int(0...2000)))
                let listedOn = calendar.tradingDay(onOrAfter: preferredListed)
                if delisted.map({ listedOn < $0 }) ?? true {
                    result.append(
                        makeStock(
                            key: Hash.combine(seed, Hash.string(preferredTicker)), ticker: preferredTicker,
                            isin: ISIN.make(prefix: "KR7" + preferredTicker + (newStyle ? "01" : "00")),
                            name: abbreviation + "1우선주", abbreviation: abbreviation + "우",
                            english: english.replacingOccurrences(of: " Co.,Ltd.", with: "(1P)"), market: market,
                            global: false, tier: "", group: "주권", kind: newStyle ? "신형우선주" : "구형우선주",
                            parValue: parValue, industry: industry, preferred: true, listed: listedOn,
                            delisted: delisted, logBase: logBase - 0.2 - rng.unit() * 0.5,
                            shares: max(100_000, shares / Int64(rng.int(5...40))), volume: volume / 20,
                            haltProbability: 0.004, calendar: calendar, rng: &rng))
                }
            }
        }
        return result.sorted {
            $0.abbreviation == $1.abbreviation ? $0.ticker < $1.ticker
                : $0.abbreviation.utf8.lexicographicallyPrecedes($1.abbreviation.utf8)
        }
    }

    static func makeStock(
        key: UInt64, ticker: String, isin: String, name: String, abbreviation: String, english: String,
        market: SimMarket, global: Bool, tier: String, group: String, kind: String, parValue: String,
        industry: String, preferred: Bool, listed: SimDate, delisted: SimDate?, logBase: Double, shares: Int64,
        volume: Double, haltProbability: Double, calendar: TradingCalendar, rng: inout SeededGenerator
    ) -> SimStock {
        // Limit moves: roughly one every two years of sessions, never on consecutive sessions.
        let first = calendar.sessionIndex(onOrBefore: listed) ?? 0
        let last = calendar.sessionIndex(onOrBefore: delisted ?? calendar.lastDay) ?? first
        var sessions: [Int32] = []
        var ups: [Bool] = []
        var t = first + rng.int(5...600)
        while t < last {
            sessions.append(Int32(t))
            ups.append(rng.unit() < 0.55)
            t += rng.int(30...900)
        }
        var shifts: [Double] = []
        var shift = 0.0
        for (session, up) in zip(sessions, ups) {
            let date = Int(session) < calendar.sessions.count ? calendar.session(Int(session)) : calendar.lastDay
            let rate = Double(SimulatedMarket.limitPercent(market: market, date: date)) / 100
            shift += up ? log(1 + rate) : log(1 - rate)
            shifts.append(shift)
        }
        var sharesByYear: [Int64] = []
        var current = shares
        for year in 1990...2040 {
            if year > listed.year && Hash.unit(key, 0x5A, year) < 0.15 { current += shares / 25 }
            sharesByYear.append(current)
        }
        return SimStock(
            ticker: ticker, isin: isin, name: name, abbreviation: abbreviation, englishName: english, market: market,
            isKosdaqGlobal: global, tier: tier, securityGroup: group, kind: kind, parValue: parValue,
            industry: industry, isPreferred: preferred, listed: listed, delisted: delisted, key: key,
            listingSession: listed < calendar.firstDay ? 0 : (calendar.sessionIndex(onOrBefore: listed) ?? 0),
            logBase: logBase, baseShares: shares, baseVolume: volume, shockSessions: sessions, shockUp: ups,
            shockShifts: shifts, sharesByYear: sharesByYear,
            haltProbability: haltProbability, lossProbability: 0.05 + rng.unit() * 0.5,
            perTarget: 4 + rng.unit() * 30, pbrTarget: 0.3 + rng.unit() * 2.5,
            payout: rng.unit() < 0.4 ? 0 : 0.1 + rng.unit() * 0.4)
    }

    static let etfBrands: [(brand: String, manager: String, fund: String)] = [
        ("KODEX", "삼성자산운용", "삼성"), ("TIGER", "미래에셋자산운용", "미래에셋"), ("RISE", "케이비자산운용", "KB"),
        ("ACE", "한국투자신탁운용", "한국투자"), ("SOL", "신한자산운용", "신한"), ("HANARO", "엔에이치아문디자산운용", "NH-Amundi"),
        ("KOSEF", "키움투자자산운용", "키움"), ("PLUS", "한화자산운용", "한화"), ("ARIRANG", "한화자산운용", "한화"),
        ("BNK", "비엔케이자산운용", "BNK"), ("TIMEFOLIO", "타임폴리오자산운용", "타임폴리오"),
    ]
    static let etfThemes: [(theme: String, english: String, index: String, asset: String, region: String)] = [
        ("200", "200", "코스피 200", "주식", "국내"), ("코스닥150", "KOSDAQ150", "코스닥 150", "주식", "국내"),
        ("2차전지산업", "Secondary Battery", "FnGuide 2차전지 산업 지수", "주식", "국내"),
        ("반도체", "Semiconductor", "KRX 반도체", "주식", "국내"), ("미국S&P500", "US S&P500", "S&P 500", "주식", "해외"),
        ("미국나스닥100", "US NASDAQ100", "NASDAQ 100", "주식", "해외"), ("국고채3년", "KTB 3Y", "KTB 3년 지수", "채권", "국내"),
        ("단기채권", "Short-term Bond", "KAP 단기채권 지수", "채권", "국내"), ("골드선물(H)", "Gold Futures(H)",
        "S&P GSCI Gold Index(TR)", "원자재", "해외"), ("미국달러선물", "USD Futures", "미국달러선물지수", "통화", "국내"),
        ("부동산인프라", "Real Estate Infra", "FnGuide 부동산인프라 지수", "부동산", "국내"),
        ("TDF2045", "TDF2045", "TDF 2045 지수", "혼합자산", "국내&해외"), ("ESG우수기업", "ESG Leaders", "WISE ESG우수기업 지수", "주식", "국내"),
        ("고배당", "High Dividend", "코스피 고배당 50", "주식", "국내"), ("헬스케어", "Healthcare", "KRX 헬스케어", "주식", "국내"),
        ("CD금리액티브(합성)", "CD Rate Active(Synthetic)", "KIS CD 금리 지수", "기타", "국내"),
        ("차이나CSI300", "China CSI300", "CSI 300", "주식", "해외"), ("일본니케이225", "Japan Nikkei225", "Nikkei 225", "주식", "해외"),
    ]

    static func etfs(seed: UInt64, count: Int, calendar: TradingCalendar, taken: Set<String>) -> [SimETF] {
        var rng = SeededGenerator(seed: Hash.combine(seed, 0xE7F))
        var used = taken
        var result: [SimETF] = []
        let first = SimDate(year: 2002, month: 10, day: 14)!
        let latest = SimDate(year: 2026, month: 11, day: 27)!
        let span = Double(latest.dayNumber - first.dayNumber)
        for n in 0..<count {
            // Listings skew to recent years, as the real ETF market grew.
            let day = n == 0 ? first : SimDate(dayNumber: first.dayNumber + Int(span * rng.unit().squareRoot()))
            let listed = calendar.tradingDay(onOrAfter: day)
            var delisted: SimDate? = nil
            if rng.unit() < 0.1 {
                let lower = listed.dayNumber + 365
                if lower < latest.dayNumber {
                    let d = SimDate(dayNumber: rng.int(lower...latest.dayNumber))
                    delisted = calendar.tradingDay(onOrAfter: d)
                }
            }
            var ticker: String
            repeat {
                ticker = listed >= SimDate(year: 2024, month: 1, day: 2)! && rng.unit() < 0.5
                    ? "0" + String(format: "%03d", rng.int(0...999)) + String(Array("ABCDEFGHJKLMNPQRSTUVWXYZ")[rng.int(0...23)]) + "0"
                    : String(format: "%05d", rng.int(10_000...49_999)) + "0"
            } while used.contains(ticker)
            used.insert(ticker)
            let brand = rng.pick(etfBrands)
            let theme = rng.pick(etfThemes)
            let leverageRoll = rng.unit()
            let leverage = leverageRoll < 0.08 ? "2X 레버리지" : leverageRoll < 0.12 ? "1X 인버스" : leverageRoll < 0.14 ? "2X 인버스" : "일반"
            let variant = leverage == "일반" ? "" : leverage == "2X 레버리지" ? "레버리지" : leverage == "1X 인버스" ? "인버스" : "200선물인버스2X"
            let serial = rng.unit() < 0.7 ? "" : ["(H)", " TR", " 액티브", " Plus", "(합성)"][rng.int(0...4)]
            let abbreviation = "\(brand.brand) \(theme.theme)\(variant)\(serial)"
            let active = theme.theme.contains("액티브")
            let replication = active ? "실물(액티브)" : theme.theme.contains("합성") ? "합성(패시브)" : "실물(패시브)"
            let providers = ["FnGuide", "KRX", "MSCI", "S&P Dow Jones Indices", "한국자산평가(KAP)", "NH투자증권", "에프앤가이드"]
            let logBase = log(5_000.0) + rng.unit() * log(10.0)
            result.append(
                SimETF(
                    ticker: ticker, isin: ISIN.make(prefix: "KR7" + ticker + "00"),
                    name: "\(brand.fund) \(abbreviation)증권상장지수투자신탁(\(theme.asset))",
                    abbreviation: abbreviation, englishName: "\(brand.brand) \(theme.english)\(serial) ETF",
                    listed: listed, delisted: delisted, baseIndex: theme.index, indexPublished: rng.unit() >= 0.07,
                    indexProvider: rng.pick(providers), leverage: leverage, replication: replication,
                    indexRegion: theme.region, assetClass: theme.asset, manager: brand.manager,
                    creationUnit: Int64([10_000, 20_000, 50_000, 100_000, 2_000][rng.int(0...4)]),
                    feeMicros: [50_000, 70_000, 90_000, 150_000, 250_000, 395_000, 450_000, 500_000][rng.int(0...7)],
                    taxType: theme.region == "국내" && theme.asset == "주식" ? "비과세" : "배당소득세(보유기간과세)",
                    key: Hash.combine(seed, Hash.string("ETF" + ticker)),
                    listingSession: calendar.sessionIndex(onOrBefore: listed) ?? 0,
                    indexKey: Hash.combine(seed, Hash.string("IDX" + theme.index)), logBase: logBase,
                    indexLogBase: log(100.0) + Hash.unit(Hash.combine(seed, Hash.string("IDX" + theme.index))) * log(40.0),
                    baseShares: Int64(exp(log(2e5) + rng.unit() * log(500.0))) / 10_000 * 10_000 + 50_000,
                    baseVolume: exp(log(500.0) + rng.unit() * log(20_000.0))))
        }
        return result.sorted {
            $0.abbreviation == $1.abbreviation ? $0.ticker < $1.ticker
                : $0.abbreviation.utf8.lexicographicallyPrecedes($1.abbreviation.utf8)
        }
    }
}

/// ISIN check digits (ISO 6166: letters to numbers, then Luhn), so generated ISINs validate like real ones.
enum ISIN {
    static func make(prefix: String) -> String {
        var digits: [Int] = []
        for c in prefix.unicodeScalars {
            if let d = Int(String(c)) {
                digits.append(d)
            } else {
                let v = Int(c.value) - 55  // A = 10
                digits.append(v / 10)
                digits.append(v % 10)
            }
        }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            if i % 2 == 0 {
                let x = d * 2
                sum += x / 10 + x % 10
            } else {
                sum += d
            }
        }
        return prefix + String((10 - sum % 10) % 10)
    }
}
