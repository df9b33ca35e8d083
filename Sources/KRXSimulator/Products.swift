import Foundation

/// One ETN (상장지수증권) over its life: listed until its last trading day (`LSTTRD_DD`), its maturity.
public struct SimETN: Sendable {
    public let ticker: String
    public let isin: String
    public let name: String
    public let abbreviation: String
    public let englishName: String
    public let listed: SimDate
    /// `LSTTRD_DD`: the last session before maturity.
    public let lastTradingDay: SimDate
    public let trackedIndex: String
    public let indexProvider: String
    /// `IDX_LVRG_INVRS_TP_CD`: 일반, 2X 레버리지, 1X 인버스, 2X 인버스.
    public let leverage: String
    public let region: String
    public let assetClass: String
    public let listedShares: Int64
    public let issuer: String
    /// `EXPS_RTO` in hundredths of a percent point (`0.80` → 80).
    public let expenseHundredths: Int64
    public let taxType: String

    public func isListed(on date: SimDate) -> Bool { listed <= date && date <= lastTradingDay }
}

/// One ELW (주식워런트증권) on a listed stock: a call or put, cash-settled, European, listed for 3–12 months.
public struct SimELW: Sendable {
    public let ticker: String
    public let isin: String
    public let name: String
    public let abbreviation: String
    public let englishName: String
    public let listed: SimDate
    public let lastTradingDay: SimDate
    /// `EXP_DD`: two sessions after the last trading day.
    public let expiry: SimDate
    public let underlying: String
    public let listedShares: Int64
    public let issuer: String
    /// `ELW_CONV_RTO` in thousandths (`0.01` → 10).
    public let conversionThousandths: Int64
    public let isCall: Bool
    public let exercisePrice: Int64
}

/// The ETN and ELW issuers: name, two-digit code, brand.
enum Issuers {
    static let all: [(name: String, code: String, brand: String, english: String)] = [
        ("KB증권", "58", "KB", "KB Securities"), ("삼성증권", "53", "삼성", "Samsung Securities"),
        ("미래에셋증권", "51", "미래에셋", "Mirae Asset Securities"), ("신한투자증권", "50", "신한", "Shinhan Securities"),
        ("한국투자증권", "57", "한국투자", "Korea Investment & Securities"), ("NH투자증권", "55", "NH", "NH Investment & Securities"),
        ("메리츠증권", "61", "메리츠", "Meritz Securities"), ("키움증권", "59", "키움", "Kiwoom Securities"),
    ]
}

extension UniverseBuilder {
    static let etnThemes: [(name: String, index: String, provider: String, region: String, asset: String)] = [
        ("KRX300", "KRX 300", "KRX", "국내", "주식"), ("FnGuide 언택트", "FnGuide 언택트 지수", "FnGuide", "국내", "주식"),
        ("WTI원유 선물", "S&P GSCI Crude Oil Index ER", "S&P Dow Jones Indices", "해외", "원자재"),
        ("천연가스 선물", "S&P GSCI Natural Gas Index ER", "S&P Dow Jones Indices", "해외", "원자재"),
        ("미국채 10년", "KIS 미국채 10년 지수", "KIS자산평가", "해외", "채권"),
        ("KQ 우량주30", "WISE KQ 우량주30 지수", "WiseFn", "국내", "주식"),
        ("금 선물", "S&P GSCI Gold Index ER", "S&P Dow Jones Indices", "해외", "원자재"),
        ("미국달러 선물", "미국달러선물지수", "KRX", "국내", "통화"),
    ]

    /// Every ETN ever listed; `scale` as for the ETFs.
    static func etns(seed: UInt64, scale: Double, calendar: TradingCalendar) -> [SimETN] {
        var rng = SeededGenerator(seed: Hash.combine(seed, 0xE7A))
        let listings = ListingSchedule.make(
            firstYear: 2015, initialCount: max(1, Int((Calibration.etns.value(2014) * scale).rounded())),
            initialDate: SimDate(year: 2014, month: 11, day: 17)!, earliest: SimDate(year: 2014, month: 11, day: 17)!,
            target: { Int((Calibration.etns.value($0) * scale).rounded()) },
            newListings: { _, previous in Double(previous) * 0.1 }, minimumDelistings: { Double($0) * 0.1 },
            calendar: calendar, rng: &rng)
        var serials: [String: Int] = [:]
        var result: [SimETN] = []
        for (listed, delisted) in listings {
            let issuer = rng.pick(Issuers.all)
            let serial = (serials[issuer.code] ?? 0) + 1
            serials[issuer.code] = serial
            let theme = rng.pick(etnThemes)
            let roll = rng.unit()
            let leverage = roll < 0.2 ? "2X 레버리지" : roll < 0.3 ? "1X 인버스" : roll < 0.38 ? "2X 인버스" : "일반"
            let variant = leverage == "일반" ? "" : " " + leverage.replacingOccurrences(of: " ", with: "")
            let maturity = delisted.flatMap { calendar.tradingDay(before: $0) }
                ?? calendar.tradingDay(onOrAfter: listed.adding(days: 365 * rng.int(5...20)))
            let ticker = issuer.code + String(format: "%04d", serial)
            result.append(
                SimETN(
                    ticker: ticker, isin: ISIN.make(prefix: "KRG" + issuer.code + "00" + String(format: "%04d", serial)),
                    name: "\(issuer.name) \(issuer.brand) \(theme.name)\(variant) 상장지수증권 제\(serial)호",
                    abbreviation: "\(issuer.brand) \(theme.name)\(variant) ETN",
                    englishName: "\(issuer.english) \(issuer.brand) ETN \(serial)", listed: listed,
                    lastTradingDay: maturity, trackedIndex: theme.index, indexProvider: theme.provider,
                    leverage: leverage, region: theme.region, assetClass: theme.asset,
                    listedShares: Int64(rng.pick([1, 2, 4, 5, 10, 20])) * 1_000_000, issuer: issuer.name,
                    expenseHundredths: Int64(rng.pick([39, 50, 65, 75, 80, 95, 110])),
                    taxType: theme.region == "국내" && theme.asset == "주식" ? "비과세" : "배당소득세(보유기간과세)"))
        }
        return result.sorted {
            $0.abbreviation == $1.abbreviation ? $0.ticker < $1.ticker
                : $0.abbreviation.utf8.lexicographicallyPrecedes($1.abbreviation.utf8)
        }
    }
}

extension SimulatedMarket {
    /// ELWs listed on `date` (on the last session on or before it): each month's issues live 3–12 months, written
    /// on KOSPI stocks with strikes around the underlying's price at issue. Computed per request from the seed.
    public func elws(on date: SimDate) -> [SimELW] {
        guard let session = calendar.tradingDay(onOrBefore: date) else { return [] }
        let c = session.components
        var result: [SimELW] = []
        let perMonth = Int((Calibration.elwsPerMonth * stockScale).rounded())
        for back in 0...12 {
            let months = c.year * 12 + (c.month - 1) - back
            guard let first = SimDate(year: months / 12, month: months % 12 + 1, day: 1) else { continue }
            let key = Hash.combine(seed, 0xE1A, UInt64(months))
            let letter = UniverseBuilder.letters[months % UniverseBuilder.letters.count]
            let underlyings = stocks(on: first, market: .kospi).filter { !$0.isPreferred }
            guard !underlyings.isEmpty else { continue }
            for i in 0..<min(perMonth, 999) {
                let h = { (purpose: UInt64) in Hash.unit(key, purpose, i) }
                let listed = calendar.tradingDay(onOrAfter: first.adding(days: Int(h(1) * 20)))
                let lastTradingDay = calendar.tradingDay(onOrAfter: listed.adding(days: 30 * (3 + Int(h(2) * 10))))
                guard listed <= session, session <= lastTradingDay else { continue }
                let stock = underlyings[Int(h(3) * Double(underlyings.count))]
                guard let day = self.day(of: stock, on: listed) ?? self.day(of: stock, on: session) else { continue }
                let issuer = Issuers.all[Int(h(4) * Double(Issuers.all.count))]
                let call = h(5) < 0.6
                let serial = "\(letter)" + String(format: "%03d", i)
                let short = String(stock.abbreviation.prefix(5))
                let strike = TickTable.unified.round(Double(day.close) * (0.8 + 0.5 * h(6)))
                let expiry = calendar.tradingDay(onOrAfter: lastTradingDay.adding(days: 1))
                result.append(
                    SimELW(
                        ticker: issuer.code + serial, isin: ISIN.make(prefix: "KRA" + issuer.code + "1" + serial + "A"),
                        name: "\(issuer.name)(주) 주식워런트증권 제\(serial)호",
                        abbreviation: "\(issuer.brand)\(serial)\(short)\(call ? "콜" : "풋")",
                        englishName: "\(issuer.english.uppercased()) ELW \(serial)", listed: listed,
                        lastTradingDay: lastTradingDay,
                        expiry: calendar.tradingDay(onOrAfter: expiry.adding(days: 1)), underlying: stock.abbreviation,
                        listedShares: Int64(50 + Int(h(7) * 250)) * 100_000, issuer: issuer.name,
                        conversionThousandths: strike >= 200_000 ? 2 : 10, isCall: call, exercisePrice: strike))
            }
        }
        return result.sorted {
            $0.abbreviation == $1.abbreviation ? $0.ticker < $1.ticker
                : $0.abbreviation.utf8.lexicographicallyPrecedes($1.abbreviation.utf8)
        }
    }
}
