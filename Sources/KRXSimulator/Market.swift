import Foundation

/// `FLUC_TP_CD`: how a price moved against the previous session.
public enum FluctuationCode: String, Sendable {
    case noTrade = "0"
    case up = "1"
    case down = "2"
    case unchanged = "3"
    case upperLimit = "4"
    case lowerLimit = "5"
}

/// One stock's session, as the simulator serves it (prices unadjusted, in won; shares; value in won).
public struct StockDay: Sendable, Equatable {
    public let date: SimDate
    public let open: Int64
    public let high: Int64
    public let low: Int64
    public let close: Int64
    public let previousClose: Int64
    public let volume: Int64
    public let value: Int64
    public let listedShares: Int64
    public let fluctuation: FluctuationCode

    /// `CMPPREVDD_PRC`.
    public var change: Int64 { close - previousClose }
    /// `MKTCAP = TDD_CLSPRC × LIST_SHRS`.
    public var marketCap: Int64 { close * listedShares }
    /// `FLUC_RT` in hundredths of a percent (`0.84` → 84).
    public var changeRateHundredths: Int64 { Fixed.ratio(change * 10_000, previousClose) }
    /// True for a halted / untraded day: O/H/L, volume and value are 0, the close is kept.
    public var isHalted: Bool { fluctuation == .noTrade }
}

/// One stock's valuation on a session; nil members are `"-"` on the wire.
public struct StockValuation: Sendable, Equatable {
    public let close: Int64
    public let eps: Int64?
    /// Hundredths (`4.62` → 462).
    public let perHundredths: Int64?
    public let bps: Int64?
    public let pbrHundredths: Int64?
    public let dps: Int64
    public let dividendYieldHundredths: Int64
}

/// One ETF's session.
public struct ETFDay: Sendable, Equatable {
    public let date: SimDate
    public let open: Int64
    public let high: Int64
    public let low: Int64
    public let close: Int64
    public let previousClose: Int64
    /// NAV in hundredths of a won (`41,887.33` → 4_188_733).
    public let navHundredths: Int64
    public let volume: Int64
    public let value: Int64
    public let listedShares: Int64
    public let netAssets: Int64
    public let fluctuation: FluctuationCode
    /// Base index close in hundredths; nil when the index is not published (`"-"`).
    public let indexCloseHundredths: Int64?
    public let indexPreviousCloseHundredths: Int64?

    public var change: Int64 { close - previousClose }
    public var marketCap: Int64 { close * listedShares }
    public var changeRateHundredths: Int64 { Fixed.ratio(change * 10_000, previousClose) }
}

/// One session of a market index (MDCSTAT00301).
public struct IndexDay: Sendable, Equatable {
    public let date: SimDate
    public let openHundredths: Int64
    public let highHundredths: Int64
    public let lowHundredths: Int64
    public let closeHundredths: Int64
    public let previousCloseHundredths: Int64
    public let volume: Int64
    public let value: Int64
    public let marketCap: Int64
}

/// Integer helpers for prices and ratios: KRX's numbers are exact decimals, so no floating point reaches the wire.
enum Fixed {
    /// `round(numerator / denominator)`, half away from zero.
    static func ratio(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        guard denominator != 0 else { return 0 }
        let negative = (numerator < 0) != (denominator < 0)
        let n = numerator.magnitude
        let d = denominator.magnitude
        let q = Int64((n + d / 2) / d)
        return negative ? -q : q
    }
}

/// The whole synthetic exchange: universe, calendar and prices, all pure functions of the seed.
///
/// Nothing is precomputed per day: a price on session t is a smooth walk evaluated at t plus the limit moves
/// before t, so any day of any year costs the same and the previous close is always the previous session's close.
/// Tests use this type to compute what the simulator served (`day(of:on:)`, `stocks(on:)`) and compare it with what
/// a collector stored.
public final class SimulatedMarket: Sendable {
    public let seed: UInt64
    public let calendar: TradingCalendar
    /// Every stock ever listed, sorted as the portal sorts rows (by `ISU_ABBRV`, then ticker).
    public let allStocks: [SimStock]
    /// Every ETF ever listed, sorted by `ISU_ABBRV`.
    public let allETFs: [SimETF]
    /// Every ETN ever listed, sorted by `ISU_ABBRV`.
    public let allETNs: [SimETN]
    /// The size of this market against the calibrated default (`stockCount / Calibration.defaultStocks`).
    let stockScale: Double
    private let stockIndex: [String: Int]
    private let etfIndex: [String: Int]

    static let octaves: [(period: Int, amplitude: Double)] = [
        (1500, 0.7), (400, 0.35), (90, 0.18), (20, 0.07), (5, 0.025),
    ]
    static let etfOctaves: [(period: Int, amplitude: Double)] = [(1200, 0.45), (200, 0.18), (30, 0.06), (5, 0.015)]
    static let indexOctaves: [(period: Int, amplitude: Double)] = [(1500, 0.5), (300, 0.2), (40, 0.06), (5, 0.012)]

    /// The session index from which one tick table serves every market.
    private let unifiedTickSession: Int

    /// `stockCount` and `etfCount` are the sizes at the end of the calibrated history; the past scales with them.
    public init(
        seed: UInt64, stockCount: Int = Calibration.defaultStocks, etfCount: Int = Calibration.defaultETFs
    ) {
        self.seed = seed
        let calendar = TradingCalendar()
        self.calendar = calendar
        unifiedTickSession = (calendar.sessionIndex(onOrBefore: Calibration.unifiedTicksSince.adding(days: -1)) ?? 0) + 1
        let stocks = UniverseBuilder.stocks(seed: seed, count: stockCount, calendar: calendar)
        allStocks = stocks
        allETFs = UniverseBuilder.etfs(
            seed: seed, count: etfCount, calendar: calendar, taken: Set(stocks.map(\.ticker)))
        allETNs = UniverseBuilder.etns(
            seed: seed, scale: Double(etfCount) / Double(Calibration.defaultETFs), calendar: calendar)
        stockScale = Double(stockCount) / Double(Calibration.defaultStocks)
        stockIndex = Dictionary(uniqueKeysWithValues: allStocks.enumerated().map { ($1.ticker, $0) })
        etfIndex = Dictionary(uniqueKeysWithValues: allETFs.enumerated().map { ($1.ticker, $0) })
    }

    public func isTradingDay(_ date: SimDate) -> Bool { calendar.isTradingDay(date) }

    public func stock(_ ticker: String) -> SimStock? { stockIndex[ticker].map { allStocks[$0] } }
    public func etf(_ ticker: String) -> SimETF? { etfIndex[ticker].map { allETFs[$0] } }

    /// Stocks listed on `date` (for a closed day: on the last trading day before it, as KRX answers), in
    /// portal order, optionally of one market.
    public func stocks(on date: SimDate, market: SimMarket? = nil) -> [SimStock] {
        guard let session = calendar.tradingDay(onOrBefore: date) else { return [] }
        return allStocks.filter { $0.isListed(on: session) && (market == nil || $0.market == market) }
    }

    /// ETFs listed on `date` (closed day: on the previous trading day).
    public func etfs(on date: SimDate) -> [SimETF] {
        guard let session = calendar.tradingDay(onOrBefore: date) else { return [] }
        return allETFs.filter { $0.isListed(on: session) }
    }

    // MARK: Look-ups by ticker (what a collector test compares its stored rows with)

    /// The session of the stock `ticker` on `date`, exactly as the portal's MDCSTAT01501 and the Open API serve it.
    public func stockDay(_ ticker: String, on date: SimDate) -> StockDay? {
        stock(ticker).flatMap { day(of: $0, on: date) }
    }

    /// The valuation of `ticker` on `date`, as MDCSTAT03501 serves it.
    public func valuation(_ ticker: String, on date: SimDate) -> StockValuation? {
        stock(ticker).flatMap { valuation(of: $0, on: date) }
    }

    /// The ETF session of `ticker` on `date`, as MDCSTAT04301 and `etf_bydd_trd` serve it.
    public func etfDay(_ ticker: String, on date: SimDate) -> ETFDay? {
        etf(ticker).flatMap { day(of: $0, on: date) }
    }

    // MARK: Stocks

    /// The stock's session on `date`; nil when `date` is not a trading day or the stock is not listed then.
    public func day(of stock: SimStock, on date: SimDate) -> StockDay? {
        guard calendar.isTradingDay(date), stock.isListed(on: date),
            let t = calendar.sessionIndex(onOrBefore: date)
        else { return nil }
        return stockDay(stock, session: t, date: date)
    }

    /// Listed shares of `stock` on `date`: occasional issues at year boundaries, multiplied on a split.
    public func listedShares(of stock: SimStock, on date: SimDate) -> Int64 {
        let index = min(max(date.year - 1990, 0), stock.sharesByYear.count - 1)
        let split = stock.splitDate.map { date >= $0 } ?? false
        return stock.sharesByYear[index] * (split ? stock.splitRatio : 1)
    }

    /// The tick table of `stock` on session t.
    func ticks(_ stock: SimStock, _ t: Int) -> TickTable {
        t >= unifiedTickSession ? .unified : stock.market == .kospi ? .kospiBefore2023 : .kosdaqBefore2023
    }

    /// The stock's valuation on a trading day (nil otherwise).
    public func valuation(of stock: SimStock, on date: SimDate) -> StockValuation? {
        guard let day = day(of: stock, on: date) else { return nil }
        let c = date.components
        let fiscalYear = c.month >= 4 ? c.year - 1 : c.year - 2
        let reference = exp(stock.logBase + 0.3 * (Hash.unit(stock.key, 0xF1, fiscalYear) - 0.5))
        let loss = Hash.unit(stock.key, 0xF2, fiscalYear) < stock.lossProbability
        let earnings = Int64(reference / stock.perTarget * (0.6 + 0.8 * Hash.unit(stock.key, 0xF3, fiscalYear)))
        let book = Int64(reference / stock.pbrTarget * (0.8 + 0.4 * Hash.unit(stock.key, 0xF4, fiscalYear)))
        var dps: Int64 = 0
        if !loss, earnings > 0 {
            dps = Int64(Double(earnings) * stock.payout / 5) * 5
        }
        if stock.isPreferred {
            let commonDividend = Int64(reference * 0.015 * Hash.unit(stock.key, 0xF5, fiscalYear) / 5) * 5
            return StockValuation(
                close: day.close, eps: nil, perHundredths: nil, bps: nil, pbrHundredths: nil, dps: commonDividend,
                dividendYieldHundredths: Fixed.ratio(commonDividend * 10_000, day.close))
        }
        let eps: Int64? = loss || earnings <= 0 ? nil : earnings
        // Capital impairment: no BPS (about one company in fifty; estimate).
        let bps: Int64? = book > 0 && Hash.unit(stock.key, 0xF6, fiscalYear) >= 0.02 ? book : nil
        return StockValuation(
            close: day.close, eps: eps, perHundredths: eps.map { Fixed.ratio(day.close * 100, $0) }, bps: bps,
            pbrHundredths: bps.map { Fixed.ratio(day.close * 100, $0) }, dps: dps,
            dividendYieldHundredths: Fixed.ratio(dps * 10_000, day.close))
    }

    func limitPercent(_ stock: SimStock, session t: Int) -> Int64 {
        let date = t >= 0 && t < calendar.sessions.count ? calendar.session(t) : calendar.lastDay
        return Self.limitPercent(market: stock.market, date: date)
    }

    /// The daily price limit: ±30% since 2015-06-15, ±15% from 1998-12-07, ±12% before; KONEX ±15%.
    static func limitPercent(market: SimMarket, date: SimDate) -> Int64 {
        if market == .konex { return 15 }
        if date >= Calibration.limit30Since { return 30 }
        if date >= Calibration.limit15Since { return 15 }
        return 12
    }

    func upperLimit(_ previous: Int64, percent: Int64, _ ticks: TickTable) -> Int64 {
        min(Calibration.maximumPrice, ticks.floor(previous * (100 + percent) / 100))
    }
    func lowerLimit(_ previous: Int64, percent: Int64, _ ticks: TickTable) -> Int64 {
        ticks.ceil((previous * (100 - percent) + 99) / 100)
    }

    private func shockIndex(_ stock: SimStock, _ t: Int) -> Int? {
        stock.shockSessions.firstIndex(of: Int32(t))
    }

    private func level(_ stock: SimStock, _ t: Int) -> Double {
        shifted(stock, stock.logBase + walk(stock.key, Self.octaves, daily: 0.02, t), t)
    }

    /// `value` plus the limit moves up to t, less the split.
    private func shifted(_ stock: SimStock, _ value: Double, _ t: Int) -> Double {
        var value = value
        var last = -1
        for (i, s) in stock.shockSessions.enumerated() {
            if Int(s) > t { break }
            last = i
        }
        if last >= 0 { value += stock.shockShifts[last] }
        if stock.splitSession >= 0 && t >= stock.splitSession { value -= stock.logSplit }
        return value
    }

    /// `(close(t - 1), close(t))` when both are plain walk days (no halt at t - 1, no limit move, no split), else nil.
    private func plainCloses(_ stock: SimStock, _ t: Int) -> (Int64, Int64)? {
        guard t != stock.splitSession, shockIndex(stock, t) == nil, shockIndex(stock, t - 1) == nil,
            !isHalted(stock, t - 1)
        else { return nil }
        let (before, now) = walkPair(stock.key, Self.octaves, daily: 0.02, t)
        return (
            ticks(stock, t - 1).round(exp(shifted(stock, stock.logBase + before, t - 1))),
            ticks(stock, t).round(exp(shifted(stock, stock.logBase + now, t)))
        )
    }

    /// Halted or untraded: by chance, and for the three sessions before a split.
    private func isHalted(_ stock: SimStock, _ t: Int) -> Bool {
        if stock.splitSession >= 0 && t < stock.splitSession && t >= stock.splitSession - 3 { return true }
        return t > stock.listingSession && Hash.unit(stock.key, 0x4A17, t) < stock.haltProbability
    }

    /// The close of session t: halted sessions keep the previous close, limit sessions sit exactly on the limit.
    func close(_ stock: SimStock, _ session: Int) -> Int64 {
        var t = session
        while shockIndex(stock, t) == nil && isHalted(stock, t) { t -= 1 }
        if let i = shockIndex(stock, t) {
            let previous = basePrice(stock, t)
            let percent = limitPercent(stock, session: t)
            let ticks = ticks(stock, t)
            return stock.shockUp[i] ? upperLimit(previous, percent: percent, ticks)
                : lowerLimit(previous, percent: percent, ticks)
        }
        return ticks(stock, t).round(exp(level(stock, t)))
    }

    /// The reference price of session t (기준가): the previous close, divided by the ratio on a split's first session.
    func basePrice(_ stock: SimStock, _ t: Int) -> Int64 {
        let previous = close(stock, t - 1)
        guard t == stock.splitSession else { return previous }
        return ticks(stock, t).round(Double(previous) / Double(stock.splitRatio))
    }

    func stockDay(_ stock: SimStock, session t: Int, date: SimDate) -> StockDay {
        let shares = listedShares(of: stock, on: date)
        let shock = shockIndex(stock, t)
        if shock == nil && isHalted(stock, t) {
            let previous = basePrice(stock, t)
            return StockDay(
                date: date, open: 0, high: 0, low: 0, close: previous, previousClose: previous, volume: 0, value: 0,
                listedShares: shares, fluctuation: .noTrade)
        }
        let (previous, c) = plainCloses(stock, t) ?? (basePrice(stock, t), close(stock, t))
        let percent = limitPercent(stock, session: t)
        let ticks = ticks(stock, t)
        let upper = upperLimit(previous, percent: percent, ticks)
        let lower = lowerLimit(previous, percent: percent, ticks)
        let h1 = Hash.unit(stock.key, 0x0A, t)
        let h2 = Hash.unit(stock.key, 0x0B, t)
        let h3 = Hash.unit(stock.key, 0x0C, t)
        let h4 = Hash.unit(stock.key, 0x0D, t)
        var open = min(upper, max(lower, ticks.round(Double(previous) * (1 + (h1 - 0.5) * 0.03))))
        var high: Int64
        var low: Int64
        let code: FluctuationCode
        if let shock {
            if stock.shockUp[shock] {
                code = .upperLimit
                open = min(c, ticks.round(Double(previous) * (1 + h1 * 0.2)))
                high = c
                low = max(lower, min(open, ticks.floor(Int64(Double(previous) * (1 - h3 * 0.02)))))
            } else {
                code = .lowerLimit
                open = max(c, ticks.round(Double(previous) * (1 - h1 * 0.2)))
                low = c
                high = min(upper, max(open, ticks.ceil(Int64(Double(previous) * (1 + h2 * 0.02)))))
            }
        } else {
            code = c > previous ? .up : c < previous ? .down : .unchanged
            high = min(upper, ticks.ceil(Int64(Double(max(open, c)) * (1 + h2 * 0.02))))
            low = max(lower, ticks.floor(Int64(Double(min(open, c)) * (1 - h3 * 0.02))))
        }
        high = max(high, open, c)
        low = min(low, open, c)
        let average = Double(open + high + low + c) / 4
        let volume = Self.volume(
            shares: shares, turnover: stock.turnover, average: average, h4, Hash.unit(stock.key, 0x0D1, t),
            spike: shock == nil ? 1 : 4)
        return StockDay(
            date: date, open: open, high: high, low: low, close: c, previousClose: previous, volume: volume,
            value: Int64(Double(volume) * average), listedShares: shares, fluctuation: code)
    }

    /// A day's volume: the median turnover × a log-uniform day factor (×0.45…×2.2), a spike on one day in 70 and on
    /// limit days, bounded by the turnover, value and volume ceilings real KRX issues stay under.
    static func volume(
        shares: Int64, turnover: Double, average: Double, _ h: Double, _ h2: Double, spike: Double
    ) -> Int64 {
        let factor = exp((h - 0.5) * 1.6) * (h2 > 0.985 ? 5 : 1) * spike
        var volume = Double(shares) * min(turnover * factor, Calibration.maximumTurnover)
        volume = min(volume, Calibration.maximumValue / max(1, average), Double(Calibration.maximumVolume))
        return max(1, Int64(volume))
    }

    // MARK: ETFs

    /// The ETF's session on `date`; nil when not a trading day or not listed.
    public func day(of etf: SimETF, on date: SimDate) -> ETFDay? {
        guard calendar.isTradingDay(date), etf.isListed(on: date), let t = calendar.sessionIndex(onOrBefore: date)
        else { return nil }
        return etfDay(etf, session: t, date: date)
    }

    /// Listed units of `etf` in `date`'s year (creations/redemptions move it year to year).
    public func listedShares(of etf: SimETF, on date: SimDate) -> Int64 {
        let factor = 0.7 + 0.9 * Hash.unit(etf.key, 0x5B, date.year)
        return max(10_000, Int64(Double(etf.baseShares) * factor) / 10_000 * 10_000)
    }

    private func etfHalted(_ etf: SimETF, _ t: Int) -> Bool {
        t > etf.listingSession && Hash.unit(etf.key, 0x4A18, t) < 0.002
    }

    private func navHundredths(_ etf: SimETF, _ t: Int) -> Int64 {
        let move = walk(etf.key, Self.etfOctaves, daily: 0.012, t) * etf.volatility
        return Int64((exp(etf.logBase + move) * 100).rounded())
    }

    private func etfClose(_ etf: SimETF, _ session: Int) -> Int64 {
        var t = session
        while etfHalted(etf, t) { t -= 1 }
        return etfPrice(etf, navHundredths(etf, t), t)
    }

    /// The traded price of session t around its NAV.
    private func etfPrice(_ etf: SimETF, _ navHundredths: Int64, _ t: Int) -> Int64 {
        TickTable.fund.round(Double(navHundredths) / 100 * (1 + 0.004 * (Hash.unit(etf.key, 0x0E, t) - 0.5)))
    }

    func etfDay(_ etf: SimETF, session t: Int, date: SimDate) -> ETFDay {
        // NAV and index at t - 1 and t in one pass each (see walkPair); halts fall back to the general path.
        let (navBefore, navNow) = walkPair(etf.key, Self.etfOctaves, daily: 0.012, t)
        func hundredths(_ move: Double) -> Int64 { Int64((exp(etf.logBase + move * etf.volatility) * 100).rounded()) }
        let nav = hundredths(navNow)
        let previous = etfHalted(etf, t - 1) ? etfClose(etf, t - 1) : etfPrice(etf, hundredths(navBefore), t - 1)
        let shares = listedShares(of: etf, on: date)
        let netAssets = Hash.unit(etf.key, 0x0F, t) < 0.003 ? 0 : nav * shares / 100
        var index: Int64? = nil
        var indexPrevious: Int64? = nil
        if etf.indexPublished {
            let (before, now) = walkPair(etf.indexKey, Self.indexOctaves, daily: 0.01, t)
            index = Int64((exp(etf.indexLogBase + now) * 100).rounded())
            indexPrevious = Int64((exp(etf.indexLogBase + before) * 100).rounded())
        }
        if etfHalted(etf, t) {
            return ETFDay(
                date: date, open: 0, high: 0, low: 0, close: previous, previousClose: previous, navHundredths: nav,
                volume: 0, value: 0, listedShares: shares, netAssets: netAssets, fluctuation: .noTrade,
                indexCloseHundredths: index, indexPreviousCloseHundredths: indexPrevious)
        }
        let c = etfPrice(etf, nav, t)
        let ticks = TickTable.fund
        let spread = 0.008 * etf.volatility
        let open = ticks.round(Double(previous) * (1 + (Hash.unit(etf.key, 0x1A, t) - 0.5) * 0.01 * etf.volatility))
        let high = max(open, c, ticks.round(Double(max(open, c)) * (1 + Hash.unit(etf.key, 0x1B, t) * spread)))
        let low = min(open, c, ticks.round(Double(min(open, c)) * (1 - Hash.unit(etf.key, 0x1C, t) * spread)))
        let average = Double(open + high + low + c) / 4
        let volume = Self.volume(
            shares: shares, turnover: etf.turnover, average: average, Hash.unit(etf.key, 0x1D, t),
            Hash.unit(etf.key, 0x1E, t), spike: 1)
        return ETFDay(
            date: date, open: open, high: high, low: low, close: c, previousClose: previous, navHundredths: nav,
            volume: volume, value: Int64(Double(volume) * average), listedShares: shares,
            netAssets: netAssets, fluctuation: c > previous ? .up : c < previous ? .down : .unchanged,
            indexCloseHundredths: index, indexPreviousCloseHundredths: indexPrevious)
    }

    // MARK: Indices

    /// Sessions of the index `code` (`IND_TP_CD` + `IDX_IND_CD`, e.g. `"1001"` for KOSPI) in `from...to`, newest
    /// first as MDCSTAT00301 lists them.
    public func indexDays(code: String, from: SimDate, through to: SimDate) -> [IndexDay] {
        let index = SimIndex.find(code)
        return calendar.tradingDays(from: from, through: to).reversed().compactMap { indexDay(index, on: $0) }
    }

    /// One session of `index`; nil on a closed day.
    func indexDay(_ index: SimIndex, on date: SimDate) -> IndexDay? {
        guard calendar.isTradingDay(date), let t = calendar.sessionIndex(onOrBefore: date) else { return nil }
        let key = Hash.combine(seed, Hash.string("INDEX" + index.code))
        let base = log(index.level)
        func close(_ t: Int) -> Int64 {
            Int64((exp(base + walk(key, Self.indexOctaves, daily: 0.012, t)) * 100).rounded())
        }
        let c = close(t)
        let previous = close(t - 1)
        let open = Int64(Double(previous) * (1 + (Hash.unit(key, 0x2A, t) - 0.5) * 0.01))
        let high = max(open, c) + Int64(Double(c) * 0.006 * Hash.unit(key, 0x2B, t))
        let low = min(open, c) - Int64(Double(c) * 0.006 * Hash.unit(key, 0x2C, t))
        let volume = Int64(index.volume * exp(Hash.unit(key, 0x2D, t) - 0.5))
        let level = Double(c) / 100 / index.level
        return IndexDay(
            date: date, openHundredths: open, highHundredths: high, lowHundredths: low, closeHundredths: c,
            previousCloseHundredths: previous, volume: volume, value: Int64(Double(volume) * index.averagePrice),
            marketCap: Int64(index.marketCap * level))
    }

    /// `(walk(t - 1), walk(t))`, bit for bit, at about half the cost of two calls: neighbouring sessions share
    /// their spline knots in every octave but the shortest now and then, and every row needs the previous close.
    private func walkPair(
        _ key: UInt64, _ octaves: [(period: Int, amplitude: Double)], daily: Double, _ t: Int
    ) -> (Double, Double) {
        var before = 0.0
        var now = 0.0
        for (octave, (period, amplitude)) in octaves.enumerated() {
            let purpose = UInt64(octave + 1) &* 0x1000
            let knot = t >= 0 ? t / period : (t - period + 1) / period
            let a = Hash.unit(key, purpose, knot) * 2 - 1
            let b = Hash.unit(key, purpose, knot + 1) * 2 - 1
            let fraction = Double(t - knot * period) / Double(period)
            let s = fraction * fraction * (3 - 2 * fraction)
            now += amplitude * (a + (b - a) * s)
            let u = t - 1
            let knotBefore = u >= 0 ? u / period : (u - period + 1) / period
            if knotBefore == knot {
                let f = Double(u - knot * period) / Double(period)
                let s = f * f * (3 - 2 * f)
                before += amplitude * (a + (b - a) * s)
            } else {
                let a0 = Hash.unit(key, purpose, knotBefore) * 2 - 1
                let f = Double(u - knotBefore * period) / Double(period)
                let s = f * f * (3 - 2 * f)
                before += amplitude * (a0 + (a - a0) * s)
            }
        }
        return (before + daily * (Hash.unit(key, 0x77, t - 1) - 0.5), now + daily * (Hash.unit(key, 0x77, t) - 0.5))
    }

    private func walk(_ key: UInt64, _ octaves: [(period: Int, amplitude: Double)], daily: Double, _ t: Int) -> Double {
        var sum = 0.0
        for (octave, (period, amplitude)) in octaves.enumerated() {
            let purpose = UInt64(octave + 1) &* 0x1000
            let knot = t >= 0 ? t / period : (t - period + 1) / period
            let fraction = Double(t - knot * period) / Double(period)
            let a = Hash.unit(key, purpose, knot) * 2 - 1
            let b = Hash.unit(key, purpose, knot + 1) * 2 - 1
            let s = fraction * fraction * (3 - 2 * fraction)
            sum += amplitude * (a + (b - a) * s)
        }
        return sum + daily * (Hash.unit(key, 0x77, t) - 0.5)
    }
}
