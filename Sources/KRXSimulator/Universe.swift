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

/// One listed share (common, preferred or class share) over its whole life on the exchange. A class: screens pass
/// thousands of them around per request, and a reference costs one retain where a struct of strings costs a dozen.
public final class SimStock: Sendable {
    /// `ISU_SRT_CD`: six characters, alphanumeric (`00104K`, `37550L`); never an integer.
    public let ticker: String
    /// `ISU_CD`: the ISIN (`KR7…`, or `US…`/`KY…`/`HK…` for foreign listings).
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
    /// `KIND_STKCERT_TP_NM`: 보통주, 구형우선주, 신형우선주 or 종류주권.
    public let kind: String
    /// `PARVAL` today, as the portal writes it (`"1,000"`, `"0.25"`, `"무액면"`).
    public let parValue: String
    /// `PARVAL` before the stock's split (the same as `parValue` without one).
    public let parValueBeforeSplit: String
    /// `IDX_IND_NM`: the KRX index industry (sector screen).
    public let industry: String
    public let isPreferred: Bool
    /// First listed day.
    public let listed: SimDate
    /// First day no longer listed (nil while listed).
    public let delisted: SimDate?
    /// The first session after a split (액면분할), when the price is divided and the shares multiplied by
    /// `splitRatio`; the three sessions before it are halted, as KRX halts a splitting stock.
    public let splitDate: SimDate?
    public let splitRatio: Int64

    let key: UInt64
    let listingSession: Int
    let splitSession: Int
    let logSplit: Double
    let logBase: Double
    let baseShares: Int64
    /// Median share of the listed shares that trades on a day.
    let turnover: Double
    /// Sessions with a limit move, sorted, and the cumulative log shift after each.
    let shockSessions: [Int32]
    let shockUp: [Bool]
    /// Cumulative log shift of the price level after each limit move (so a day's level needs no logarithms).
    let shockShifts: [Double]
    /// Listed shares per year from 1990 (index 0) to 2040 before any split: occasional issues at year boundaries.
    let sharesByYear: [Int64]
    /// Chance of a session without trades (a halt, or on KONEX often just no trade).
    let haltProbability: Double
    let lossProbability: Double
    let perTarget: Double
    let pbrTarget: Double
    let payout: Double

    /// True when the stock is listed on `date`.
    public func isListed(on date: SimDate) -> Bool {
        listed <= date && (delisted.map { date < $0 } ?? true)
    }

    /// `PARVAL` on `date` (a split divides it).
    public func parValue(on date: SimDate) -> String {
        splitDate.map { date >= $0 } ?? true ? parValue : parValueBeforeSplit
    }

    init(_ identity: StockIdentity, _ model: StockModel) {
        ticker = identity.ticker
        isin = identity.isin
        name = identity.name
        abbreviation = identity.abbreviation
        englishName = identity.englishName
        market = identity.market
        isKosdaqGlobal = identity.isKosdaqGlobal
        tier = identity.tier
        securityGroup = identity.securityGroup
        kind = identity.kind
        parValue = identity.parValue
        parValueBeforeSplit = identity.parValueBeforeSplit
        industry = identity.industry
        isPreferred = identity.isPreferred
        listed = identity.listed
        delisted = identity.delisted
        splitDate = model.splitDate
        splitRatio = model.splitRatio
        key = model.key
        listingSession = model.listingSession
        splitSession = model.splitSession
        logSplit = log(Double(model.splitRatio))
        logBase = model.logBase
        baseShares = model.baseShares
        turnover = model.turnover
        shockSessions = model.shockSessions
        shockUp = model.shockUp
        shockShifts = model.shockShifts
        sharesByYear = model.sharesByYear
        haltProbability = model.haltProbability
        lossProbability = model.lossProbability
        perTarget = model.perTarget
        pbrTarget = model.pbrTarget
        payout = model.payout
    }
}

/// What a listing says about itself (the master screens' fields).
struct StockIdentity {
    var ticker: String
    var isin: String
    var name: String
    var abbreviation: String
    var englishName: String
    var market: SimMarket
    var isKosdaqGlobal: Bool
    var tier: String
    var securityGroup: String
    var kind: String
    var parValue: String
    var parValueBeforeSplit: String
    var industry: String
    var isPreferred: Bool
    var listed: SimDate
    var delisted: SimDate?
}

/// How a listing's prices and volumes are generated.
struct StockModel {
    var key: UInt64
    var listingSession: Int
    var splitDate: SimDate?
    var splitSession: Int
    var splitRatio: Int64
    var logBase: Double
    var baseShares: Int64
    var turnover: Double
    var shockSessions: [Int32]
    var shockUp: [Bool]
    var shockShifts: [Double]
    var sharesByYear: [Int64]
    var haltProbability: Double
    var lossProbability: Double
    var perTarget: Double
    var pbrTarget: Double
    var payout: Double
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
    /// Median share of the listed units that trades on a day.
    let turnover: Double
    /// 1 for plain ETFs, 2 for the 2X ones: scales the NAV's moves.
    let volatility: Double

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
        turnover: Double,
        volatility: Double
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
        self.turnover = turnover
        self.volatility = volatility
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
