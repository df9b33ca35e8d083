import Foundation

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

    /// Every listing of every market over the whole history, sorted as the portal sorts rows. `count` is the size
    /// of the market at the end of `Calibration.lastYear` (rows, preferreds included); the calibrated history is
    /// scaled by `count / Calibration.defaultStocks`.
    static func stocks(seed: UInt64, count: Int, calendar: TradingCalendar) -> [SimStock] {
        var rng = SeededGenerator(seed: Hash.combine(seed, 0x5709C5))
        let scale = Double(count) / Double(Calibration.defaultStocks)
        var tickers = TickerPool()
        var result: [SimStock] = []
        for market in SimMarket.allCases {
            let curve = Calibration.companies(market)
            let opening = Calibration.opening(market)
            let firstYear = opening?.date.year ?? 1995
            let listings = ListingSchedule.make(
                firstYear: firstYear,
                initialCount: Int(((opening?.companies ?? curve.value(firstYear - 1)) * scale).rounded()),
                initialDate: opening?.date, earliest: SimDate(year: 1956, month: 3, day: 3)!,
                target: { Int((curve.value($0) * scale).rounded()) },
                newListings: { year, previous in
                    Calibration.newListings(market, year: year).map { $0 * scale }
                        ?? Double(previous) * Calibration.newListingRate(market)
                },
                minimumDelistings: { Double($0) * Calibration.minimumDelistingRate },
                calendar: calendar, rng: &rng)
            for (listed, delisted) in listings {
                result.append(
                    contentsOf: company(
                        seed: seed, market: market, listed: listed, delisted: delisted, calendar: calendar,
                        tickers: &tickers, rng: &rng))
            }
        }
        return result.sorted {
            $0.abbreviation == $1.abbreviation ? $0.ticker < $1.ticker
                : $0.abbreviation.utf8.lexicographicallyPrecedes($1.abbreviation.utf8)
        }
    }

    static let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")

    /// One company: its common share and, for some, a preferred or class share.
    static func company(
        seed: UInt64, market: SimMarket, listed: SimDate, delisted: SimDate?, calendar: TradingCalendar,
        tickers: inout TickerPool, rng: inout SeededGenerator
    ) -> [SimStock] {
        let foreignEra = listed >= SimDate(year: 2007, month: 1, day: 1)!
        let foreign = foreignEra && rng.unit() < (market == .kosdaq ? 0.025 : market == .kospi ? 0.006 : 0)
        let ticker = tickers.common(foreign: foreign, listed: listed, rng: &rng)
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
                tier = r < 0.03 ? "관리종목(소속부없음)" : r < 0.06 ? "SPAC(소속부없음)"
                    : r < 0.075 ? "투자주의환기종목(소속부없음)" : rng.pick(kosdaqTiers)
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
        // Par values in won; foreign listings in their own currency (decimals: 0.5, 0.05, 0.25).
        let par: Double = foreign ? rng.pick([0.5, 0.05, 0.25, 0.01, 0]) : rng.pick([100, 200, 500, 500, 500, 1_000, 2_500, 5_000, 5_000, 0])
        let industry = market == .kospi ? rng.pick(kospiIndustries) : rng.pick(kosdaqIndustries)
        let isin: String
        if foreign {
            let r = rng.unit()
            isin = ISIN.make(
                prefix: r < 0.5 ? "KYG" + digits(8, &rng) : r < 0.75 ? "US" + digits(9, &rng) : "HK0000" + digits(5, &rng))
        } else {
            isin = ISIN.make(prefix: "KR7" + ticker + "00")
        }
        // Price and size at listing (log-normal, medians and spreads in docs/krx-sim.md).
        let logBase = min(log(1_200_000.0), max(log(150.0), log(9_000.0) + 1.15 * rng.normal()))
        let marketCap: Double
        let turnover: Double
        switch market {
        case .kospi:
            marketCap = 3e11 * exp(1.9 * rng.normal())
            turnover = 0.003 * exp(0.8 * rng.normal())
        case .kosdaq:
            marketCap = 9e10 * exp(1.0 * rng.normal())
            turnover = 0.009 * exp(0.8 * rng.normal())
        case .konex:
            marketCap = 2e10 * exp(0.9 * rng.normal())
            turnover = 0.0008 * exp(1.0 * rng.normal())
        }
        let shares = Int64(min(6e9, max(50_000, min(2e14, max(3e9, marketCap)) / exp(logBase))))
        let key = Hash.combine(seed, Hash.string(ticker))
        let common = StockIdentity(
            ticker: ticker, isin: isin, name: abbreviation + (market == .kospi ? "보통주" : ""),
            abbreviation: abbreviation, englishName: english, market: market,
            isKosdaqGlobal: market == .kosdaq && tier == "우량기업부" && rng.unit() < 0.35, tier: tier,
            securityGroup: group, kind: "보통주", parValue: "", parValueBeforeSplit: "", industry: industry,
            isPreferred: false, listed: listed, delisted: delisted)
        let halt = market == .konex ? 0.12 : tier.hasPrefix("관리") ? 0.03 : 0.002
        var result = [
            makeStock(
                common, key: key, par: par, logBase: logBase, shares: shares, turnover: min(0.08, turnover),
                haltProbability: halt, calendar: calendar, rng: &rng)
        ]
        guard !foreign, rng.unit() < Calibration.preferredShare(market), let stem = tickers.preferredStem(ticker)
        else { return result }
        let preferredListed = calendar.tradingDay(onOrAfter: listed.adding(days: rng.int(0...2_000)))
        guard delisted.map({ preferredListed < $0 }) ?? true else { return result }
        // Old-style preferreds end in 5, new-style ones in 7 or a letter; class shares (종류주권) came in 2019.
        let kind: String
        let last: Character
        if preferredListed < SimDate(year: 1997, month: 1, day: 1)! {
            (kind, last) = ("구형우선주", "5")
        } else if preferredListed >= SimDate(year: 2019, month: 1, day: 1)! && rng.unit() < 0.4 {
            (kind, last) = ("종류주권", rng.pick(["K", "L", "M"]))
        } else {
            (kind, last) = ("신형우선주", rng.unit() < 0.5 ? "7" : rng.pick(["K", "L"]))
        }
        guard let preferredTicker = tickers.claim(stem + String(last)) else { return result }
        let conversion = kind == "종류주권"
        let preferred = StockIdentity(
            ticker: preferredTicker, isin: ISIN.make(prefix: "KR7" + preferredTicker + (last.isLetter ? "01" : "00")),
            name: abbreviation + (conversion ? "1우선주(전환)" : "1우선주"),
            abbreviation: abbreviation + (conversion ? "우(전환)" : "우"),
            englishName: english.replacingOccurrences(of: " Co.,Ltd.", with: "(1P)"), market: market,
            isKosdaqGlobal: false, tier: tier, securityGroup: "주권", kind: kind, parValue: "",
            parValueBeforeSplit: "", industry: industry, isPreferred: true, listed: preferredListed,
            delisted: delisted)
        result.append(
            makeStock(
                preferred, key: Hash.combine(seed, Hash.string(preferredTicker)), par: par,
                logBase: logBase - 0.2 - rng.unit() * 0.5, shares: max(20_000, shares / Int64(rng.int(5...40))),
                turnover: min(0.08, turnover * 0.4), haltProbability: 0.004, calendar: calendar, rng: &rng))
        return result
    }

    static func digits(_ count: Int, _ rng: inout SeededGenerator) -> String {
        String((0..<count).map { _ in Character(String(rng.int(0...9))) })
    }

    /// `PARVAL` as the portal writes it: grouped won, decimals with a leading zero, `무액면` for none.
    static func parText(_ par: Double) -> String {
        if par == 0 { return "무액면" }
        if par < 1 {
            var text = String(format: "%.2f", par)
            while text.hasSuffix("0") { text.removeLast() }
            return text
        }
        var w = JSONWriter(capacity: 16)
        w.appendInteger(Int64(par), grouping: true)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func makeStock(
        _ identity: StockIdentity, key: UInt64, par: Double, logBase: Double, shares: Int64, turnover: Double,
        haltProbability: Double, calendar: TradingCalendar, rng: inout SeededGenerator
    ) -> SimStock {
        let first = calendar.sessionIndex(onOrBefore: identity.listed) ?? 0
        let last = calendar.sessionIndex(onOrBefore: identity.delisted ?? calendar.lastDay) ?? first
        // A split (액면분할) for some expensive shares with a divisible par value, after 2000.
        var splitSession = -1
        var ratio: Int64 = 1
        let splitFirst = max(first + 30, calendar.sessionIndex(onOrBefore: SimDate(year: 2000, month: 1, day: 3)!) ?? 0)
        if par >= 500, logBase > log(40_000.0), splitFirst < last - 30, rng.unit() < 0.35 {
            let ratios: [Int64] = par >= 5_000 ? [5, 10, 50] : par >= 1_000 ? [2, 5, 10] : [5]
            ratio = rng.pick(ratios)
            while ratio > 1 && Double(shares) * Double(ratio) * 1.5 > 6e9 { ratio /= 5 }
            if ratio > 1 { splitSession = rng.int(splitFirst...(last - 30)) } else { ratio = 1 }
        }
        // Limit moves: roughly one every two years of sessions, never on consecutive sessions, none around a split.
        var sessions: [Int32] = []
        var ups: [Bool] = []
        var t = first + rng.int(5...600)
        while t < last {
            if splitSession < 0 || t < splitSession - 4 || t > splitSession + 1 {
                sessions.append(Int32(t))
                ups.append(rng.unit() < 0.55)
            }
            t += rng.int(30...900)
        }
        var shifts: [Double] = []
        var shift = 0.0
        for (session, up) in zip(sessions, ups) {
            let date = Int(session) < calendar.sessions.count ? calendar.session(Int(session)) : calendar.lastDay
            let rate = Double(SimulatedMarket.limitPercent(market: identity.market, date: date)) / 100
            shift += up ? log(1 + rate) : log(1 - rate)
            shifts.append(shift)
        }
        var sharesByYear: [Int64] = []
        var current = shares
        for year in 1990...2040 {
            if year > identity.listed.year && Hash.unit(key, 0x5A, year) < 0.15 { current += shares / 25 }
            sharesByYear.append(current)
        }
        var identity = identity
        identity.parValue = parText(par / Double(ratio))
        identity.parValueBeforeSplit = parText(par)
        let model = StockModel(
            key: key, listingSession: identity.listed < calendar.firstDay ? 0 : first,
            splitDate: splitSession >= 0 ? calendar.session(splitSession) : nil, splitSession: splitSession,
            splitRatio: ratio, logBase: logBase, baseShares: shares, turnover: turnover, shockSessions: sessions,
            shockUp: ups, shockShifts: shifts, sharesByYear: sharesByYear, haltProbability: haltProbability,
            lossProbability: identity.market == .kospi ? 0.05 + rng.unit() * 0.4 : 0.1 + rng.unit() * 0.6,
            perTarget: 4 + rng.unit() * 30, pbrTarget: 0.3 + rng.unit() * 2.5,
            payout: rng.unit() < 0.4 ? 0 : 0.1 + rng.unit() * 0.4)
        return SimStock(identity, model)
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

    /// Every ETF ever listed; `count` is the number listed at the end of `Calibration.lastYear` (the calibrated
    /// history scaled by `count / Calibration.defaultETFs`).
    static func etfs(seed: UInt64, count: Int, calendar: TradingCalendar, taken: Set<String>) -> [SimETF] {
        var rng = SeededGenerator(seed: Hash.combine(seed, 0xE7F))
        var used = taken
        var result: [SimETF] = []
        let scale = Double(count) / Double(Calibration.defaultETFs)
        let listings = ListingSchedule.make(
            firstYear: 2003, initialCount: max(1, Int((Calibration.etfs.value(2002) * scale).rounded())),
            initialDate: SimDate(year: 2002, month: 10, day: 14)!, earliest: SimDate(year: 2002, month: 10, day: 14)!,
            target: { Int((Calibration.etfs.value($0) * scale).rounded()) },
            newListings: { _, previous in Double(previous) * Calibration.etfDelistingRate },
            minimumDelistings: { Double($0) * Calibration.etfDelistingRate }, calendar: calendar, rng: &rng)
        let providers = ["FnGuide", "KRX", "MSCI", "S&P Dow Jones Indices", "한국자산평가(KAP)", "NH투자증권", "에프앤가이드"]
        for (listed, delisted) in listings {
            var ticker: String
            repeat {
                ticker = listed >= SimDate(year: 2024, month: 1, day: 2)! && rng.unit() < 0.5
                    ? "0" + String(format: "%03d", rng.int(0...999)) + String(rng.pick(letters)) + "0"
                    : String(format: "%05d", rng.int(10_000...49_999)) + "0"
            } while used.contains(ticker)
            used.insert(ticker)
            let brand = rng.pick(etfBrands)
            let theme = rng.pick(etfThemes)
            let leverageRoll = rng.unit()
            let leverage = leverageRoll < 0.08 ? "2X 레버리지" : leverageRoll < 0.12 ? "1X 인버스"
                : leverageRoll < 0.14 ? "2X 인버스" : "일반"
            let variant = leverage == "일반" ? "" : leverage == "2X 레버리지" ? "레버리지"
                : leverage == "1X 인버스" ? "인버스" : "선물인버스2X"
            // Synthetic (swap-based) replication for about one ETF in ten, marked (합성) in the name as KRX does.
            let synthetic = theme.theme.contains("합성") || rng.unit() < 0.1
            let active = theme.theme.contains("액티브") || rng.unit() < 0.08
            let serial = synthetic && !theme.theme.contains("합성") ? "(합성)"
                : rng.unit() < 0.75 ? "" : ["(H)", " TR", " Plus"][rng.int(0...2)]
            let activeSuffix = active && !theme.theme.contains("액티브") ? " 액티브" : ""
            let abbreviation = "\(brand.brand) \(theme.theme)\(variant)\(activeSuffix)\(serial)"
            let replication = (synthetic ? "합성" : "실물") + (active ? "(액티브)" : "(패시브)")
            // NAV levels: most list at 10,000; some trade far higher (KODEX 200 ~35,000, bond ETFs ~100,000, the
            // NASDAQ-100 ETFs listed in 2010 ~100,000 in 2024), where a 1% day is a grouped change (`"-1,100"`).
            let level: Double = theme.asset == "채권" ? 100_000 : theme.theme == "200" ? 35_000
                : theme.theme == "미국나스닥100" ? 90_000 : 10_000
            // Bond, rate and currency funds move a fraction of an equity fund's daily range (estimates).
            let assetVolatility = theme.asset == "채권" ? 0.12 : theme.asset == "기타" ? 0.03
                : theme.asset == "통화" ? 0.4 : 1.0
            let volatility = assetVolatility * (leverage.hasPrefix("2X") ? 2.0 : 1.0)
            let logBase = log(level) + (leverage.hasPrefix("2X") ? 0.9 : 0.45) * assetVolatility * rng.normal()
            // Single-digit creation units exist (leveraged and bond products): about one ETF in fifty.
            let creationUnit: Int64 = rng.unit() < 0.02 ? rng.pick([1, 5])
                : rng.pick([10_000, 20_000, 50_000, 100_000, 200_000, 2_000])
            let units = exp(log(3e5) + 1.3 * rng.normal())
            result.append(
                SimETF(
                    ticker: ticker, isin: ISIN.make(prefix: "KR7" + ticker + "00"),
                    name: "\(brand.fund) \(abbreviation)증권상장지수투자신탁(\(theme.asset))",
                    abbreviation: abbreviation, englishName: "\(brand.brand) \(theme.english)\(serial) ETF",
                    listed: listed, delisted: delisted, baseIndex: theme.index, indexPublished: rng.unit() >= 0.07,
                    indexProvider: rng.pick(providers), leverage: leverage, replication: replication,
                    indexRegion: theme.region, assetClass: theme.asset, manager: brand.manager,
                    creationUnit: creationUnit,
                    feeMicros: [50_000, 70_000, 90_000, 150_000, 250_000, 395_000, 450_000, 500_000][rng.int(0...7)],
                    taxType: theme.region == "국내" && theme.asset == "주식" ? "비과세" : "배당소득세(보유기간과세)",
                    key: Hash.combine(seed, Hash.string("ETF" + ticker)),
                    listingSession: calendar.sessionIndex(onOrBefore: listed) ?? 0,
                    indexKey: Hash.combine(seed, Hash.string("IDX" + theme.index)), logBase: logBase,
                    indexLogBase: log(100.0) + Hash.unit(Hash.combine(seed, Hash.string("IDX" + theme.index))) * log(40.0),
                    baseShares: Int64(min(5e8, max(50_000, units))) / 10_000 * 10_000 + 50_000,
                    turnover: min(0.3, 0.005 * exp(1.1 * rng.normal()) * (leverage == "일반" ? 1 : 6)),
                    volatility: volatility))
        }
        return result.sorted {
            $0.abbreviation == $1.abbreviation ? $0.ticker < $1.ticker
                : $0.abbreviation.utf8.lexicographicallyPrecedes($1.abbreviation.utf8)
        }
    }
}

/// When each listing of a market starts and ends, so that the year-end counts follow a calibrated curve: each year
/// lists `newListings` (dates uniform in the year) and delists the difference to the target from the listings of
/// earlier years (at least `minimumDelistings`).
enum ListingSchedule {
    static func make(
        firstYear: Int, initialCount: Int, initialDate: SimDate?, earliest: SimDate, target: (Int) -> Int,
        newListings: (_ year: Int, _ previous: Int) -> Double, minimumDelistings: (Int) -> Double,
        calendar: TradingCalendar, rng: inout SeededGenerator
    ) -> [(listed: SimDate, delisted: SimDate?)] {
        var entries: [(listed: SimDate, delisted: SimDate?)] = []
        var active: [Int] = []
        let beforeData = SimDate(year: firstYear - 1, month: 12, day: 31)!
        for _ in 0..<max(0, initialCount) {
            let listed: SimDate
            if let initialDate {
                listed = initialDate
            } else {
                // Older listings are rarer: the survivors of decades of delistings.
                let span = Double(beforeData.dayNumber - earliest.dayNumber)
                listed = SimDate(dayNumber: earliest.dayNumber + Int(span * rng.unit().squareRoot()))
            }
            active.append(entries.count)
            entries.append((calendar.tradingDay(onOrAfter: listed), nil))
        }
        func round(_ x: Double) -> Int { Int(x) + (rng.unit() < x - Double(Int(x)) ? 1 : 0) }
        for year in firstYear...Calibration.lastYear {
            let previous = active.count
            let goal = target(year)
            var new = round(max(0, newListings(year, previous)))
            var out = new - (goal - previous)
            let minimum = round(minimumDelistings(previous))
            if out < minimum {
                new += minimum - out
                out = minimum
            }
            out = min(out, active.count)
            let start = SimDate(year: year, month: 1, day: 2)!
            let end = SimDate(year: year, month: 12, day: 20)!
            for _ in 0..<out {
                let index = active.swapRemove(at: rng.int(0...(active.count - 1)))
                let from = max(start.dayNumber, entries[index].listed.dayNumber + 1)
                guard from <= end.dayNumber else { continue }
                entries[index].delisted = calendar.tradingDay(onOrAfter: SimDate(dayNumber: rng.int(from...end.dayNumber)))
            }
            let opening = initialDate.map { $0.year == year ? $0.dayNumber + 1 : start.dayNumber } ?? start.dayNumber
            for _ in 0..<max(0, new) {
                let day = SimDate(dayNumber: rng.int(max(start.dayNumber, opening)...end.dayNumber))
                active.append(entries.count)
                entries.append((calendar.tradingDay(onOrAfter: day), nil))
            }
        }
        return entries
    }
}

/// Six-character tickers, unique over the whole history, preferreds sharing their common's first five.
struct TickerPool {
    private var used = Set<String>()
    private var stems = Set<String>()

    /// A new common ticker: `9xxxx0` for foreign listings, numeric before 2024, often alphanumeric since.
    mutating func common(foreign: Bool, listed: SimDate, rng: inout SeededGenerator) -> String {
        while true {
            let ticker: String
            if foreign {
                ticker = "9" + String(format: "%04d", rng.int(0...9999)) + "0"
            } else if listed >= SimDate(year: 2024, month: 1, day: 2)! && rng.unit() < 0.5 {
                ticker = "0" + String(format: "%03d", rng.int(0...999)) + String(rng.pick(UniverseBuilder.letters)) + "0"
            } else {
                ticker = String(format: "%05d", rng.int(1...89_999)) + "0"
            }
            let stem = String(ticker.dropLast())
            if !used.contains(ticker) && !stems.contains(stem) {
                used.insert(ticker)
                stems.insert(stem)
                return ticker
            }
        }
    }

    /// The first five characters a preferred of `common` shares (nil for alphanumeric commons).
    func preferredStem(_ common: String) -> String? {
        common.contains(where: \.isLetter) ? nil : String(common.dropLast())
    }

    mutating func claim(_ ticker: String) -> String? {
        used.insert(ticker).inserted ? ticker : nil
    }
}

extension Array {
    /// Removes the element at `index` in O(1) by moving the last element there.
    mutating func swapRemove(at index: Int) -> Element {
        swapAt(index, count - 1)
        return removeLast()
    }
}
