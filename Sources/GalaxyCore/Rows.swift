import FoundationEssentials

// Typed rows of the six datasets: what the KRX parsers produce and what the PostgreSQL write path stores.
// Every optional is NULL in the database: KRX's "-" and "" mean "no value", never 0 (a loss-maker has no PER, a
// closed day has no close). Amounts (won, shares) are Int64 because volumes and market caps exceed 2^31; ratios and
// NAV are Decimal so no binary rounding creeps in. Tickers are text: `00104K` is a real ticker.

/// One listed share from the stock master (`MDCSTAT01901`, or the Open API's `*_isu_base_info`).
public struct StockRow: Sendable, Hashable {
    public var ticker: String
    public var isin: String
    public var name: String
    public var shortName: String?
    public var englishName: String?
    public var listedOn: TradeDate?
    /// `KOSPI`, `KOSDAQ`, `KOSDAQ GLOBAL`, `KONEX`.
    public var market: String
    /// 주권, 외국주권, 부동산투자회사, …
    public var securityGroup: String?
    /// KOSDAQ/KONEX section (소속부); nil for KOSPI.
    public var section: String?
    /// 보통주, 구형우선주, 신형우선주, 종류주권.
    public var shareKind: String?
    /// Par value in won; nil for no-par shares (무액면).
    public var parValue: Decimal?
    public var shares: Int64?

    public init(
        ticker: String, isin: String, name: String, shortName: String? = nil, englishName: String? = nil,
        listedOn: TradeDate? = nil, market: String, securityGroup: String? = nil, section: String? = nil,
        shareKind: String? = nil, parValue: Decimal? = nil, shares: Int64? = nil
    ) {
        self.ticker = ticker
        self.isin = isin
        self.name = name
        self.shortName = shortName
        self.englishName = englishName
        self.listedOn = listedOn
        self.market = market
        self.securityGroup = securityGroup
        self.section = section
        self.shareKind = shareKind
        self.parValue = parValue
        self.shares = shares
    }
}

/// A stock's KRX industry classification on one day (`MDCSTAT03901`).
public struct SectorRow: Sendable, Hashable {
    public var ticker: String
    public var name: String
    public var market: String
    /// KRX index industry (서비스업, 전기전자, …).
    public var industry: String?
    public var close: Int64?
    public var marketCap: Int64?

    public init(
        ticker: String, name: String, market: String, industry: String?, close: Int64? = nil, marketCap: Int64? = nil
    ) {
        self.ticker = ticker
        self.name = name
        self.market = market
        self.industry = industry
        self.close = close
        self.marketCap = marketCap
    }
}

/// One stock's trading day (`MDCSTAT01501`, or the Open API's `*_bydd_trd`). A halted stock has 0 open/high/low
/// and volume with its last close kept — that is data, not a closed day.
public struct PriceRow: Sendable, Hashable {
    public var ticker: String
    /// ISIN; nil from the Open API, which does not send it.
    public var isin: String?
    public var name: String?
    /// `STK`, `KSQ` or `KNX`.
    public var market: String?
    public var open: Int64?
    public var high: Int64?
    public var low: Int64?
    public var close: Int64?
    /// Change against the previous trading day's close, in won.
    public var change: Int64?
    public var changeRate: Decimal?
    /// `FLUC_TP_CD`: 1 up, 2 down, 3 unchanged, 4 upper limit, 5 lower limit, 0 no trade; nil from the Open API.
    public var changeCode: String?
    public var volume: Int64?
    /// Traded value in won.
    public var value: Int64?
    public var marketCap: Int64?
    public var shares: Int64?

    public init(
        ticker: String, isin: String? = nil, name: String? = nil, market: String? = nil, open: Int64? = nil,
        high: Int64? = nil, low: Int64? = nil, close: Int64? = nil, change: Int64? = nil, changeRate: Decimal? = nil,
        changeCode: String? = nil, volume: Int64? = nil, value: Int64? = nil, marketCap: Int64? = nil,
        shares: Int64? = nil
    ) {
        self.ticker = ticker
        self.isin = isin
        self.name = name
        self.market = market
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.change = change
        self.changeRate = changeRate
        self.changeCode = changeCode
        self.volume = volume
        self.value = value
        self.marketCap = marketCap
        self.shares = shares
    }
}

/// One stock's valuation on a day (`MDCSTAT03501`). EPS/PER are nil for loss-makers, BPS/PBR for preferreds.
public struct ValuationRow: Sendable, Hashable {
    public var ticker: String
    public var close: Int64?
    public var eps: Int64?
    public var per: Decimal?
    public var bps: Int64?
    public var pbr: Decimal?
    public var dps: Int64?
    public var dividendYield: Decimal?

    public init(
        ticker: String, close: Int64? = nil, eps: Int64? = nil, per: Decimal? = nil, bps: Int64? = nil,
        pbr: Decimal? = nil, dps: Int64? = nil, dividendYield: Decimal? = nil
    ) {
        self.ticker = ticker
        self.close = close
        self.eps = eps
        self.per = per
        self.bps = bps
        self.pbr = pbr
        self.dps = dps
        self.dividendYield = dividendYield
    }
}

/// One ETF from the ETF master (`MDCSTAT04601`).
public struct ETFRow: Sendable, Hashable {
    public var ticker: String
    public var isin: String
    public var name: String
    public var shortName: String?
    public var englishName: String?
    public var listedOn: TradeDate?
    /// The index the ETF tracks (`ETF_OBJ_IDX_NM`).
    public var baseIndex: String?
    public var indexProvider: String?
    /// 일반, 2X 레버리지, 1X 인버스, 2X 인버스.
    public var leverage: String?
    public var replication: String?
    public var marketClass: String?
    public var assetClass: String?
    public var shares: Int64?
    public var manager: String?
    public var creationUnit: Int64?
    /// Total fee in percent (`0.100000`).
    public var totalFee: Decimal?
    public var taxType: String?

    public init(
        ticker: String, isin: String, name: String, shortName: String? = nil, englishName: String? = nil,
        listedOn: TradeDate? = nil, baseIndex: String? = nil, indexProvider: String? = nil, leverage: String? = nil,
        replication: String? = nil, marketClass: String? = nil, assetClass: String? = nil, shares: Int64? = nil,
        manager: String? = nil, creationUnit: Int64? = nil, totalFee: Decimal? = nil, taxType: String? = nil
    ) {
        self.ticker = ticker
        self.isin = isin
        self.name = name
        self.shortName = shortName
        self.englishName = englishName
        self.listedOn = listedOn
        self.baseIndex = baseIndex
        self.indexProvider = indexProvider
        self.leverage = leverage
        self.replication = replication
        self.marketClass = marketClass
        self.assetClass = assetClass
        self.shares = shares
        self.manager = manager
        self.creationUnit = creationUnit
        self.totalFee = totalFee
        self.taxType = taxType
    }
}

/// One ETF's trading day (`MDCSTAT04301`, or the Open API's `etf_bydd_trd`). The base-index fields are nil when
/// KRX does not publish the index.
public struct ETFPriceRow: Sendable, Hashable {
    public var ticker: String
    public var isin: String?
    public var name: String?
    public var open: Int64?
    public var high: Int64?
    public var low: Int64?
    public var close: Int64?
    public var change: Int64?
    public var changeRate: Decimal?
    public var changeCode: String?
    public var nav: Decimal?
    public var volume: Int64?
    public var value: Int64?
    public var marketCap: Int64?
    public var netAssets: Int64?
    public var shares: Int64?
    public var baseIndexName: String?
    public var baseIndexClose: Decimal?
    public var baseIndexChange: Decimal?
    public var baseIndexChangeRate: Decimal?

    public init(
        ticker: String, isin: String? = nil, name: String? = nil, open: Int64? = nil, high: Int64? = nil,
        low: Int64? = nil, close: Int64? = nil, change: Int64? = nil, changeRate: Decimal? = nil,
        changeCode: String? = nil, nav: Decimal? = nil, volume: Int64? = nil, value: Int64? = nil,
        marketCap: Int64? = nil, netAssets: Int64? = nil, shares: Int64? = nil, baseIndexName: String? = nil,
        baseIndexClose: Decimal? = nil, baseIndexChange: Decimal? = nil, baseIndexChangeRate: Decimal? = nil
    ) {
        self.ticker = ticker
        self.isin = isin
        self.name = name
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.change = change
        self.changeRate = changeRate
        self.changeCode = changeCode
        self.nav = nav
        self.volume = volume
        self.value = value
        self.marketCap = marketCap
        self.netAssets = netAssets
        self.shares = shares
        self.baseIndexName = baseIndexName
        self.baseIndexClose = baseIndexClose
        self.baseIndexChange = baseIndexChange
        self.baseIndexChangeRate = baseIndexChangeRate
    }
}

/// What one fetch of one (dataset, day) produced: the rows, or the source's word that the market did not trade.
public enum DayRows: Sendable {
    case stocks([StockRow])
    case sectors([SectorRow])
    case prices([PriceRow])
    case valuations([ValuationRow])
    case etfs([ETFRow])
    case etfPrices([ETFPriceRow])

    public var count: Int {
        switch self {
        case .stocks(let rows): rows.count
        case .sectors(let rows): rows.count
        case .prices(let rows): rows.count
        case .valuations(let rows): rows.count
        case .etfs(let rows): rows.count
        case .etfPrices(let rows): rows.count
        }
    }

    public var dataset: Dataset {
        switch self {
        case .stocks: .stock
        case .sectors: .sector
        case .prices: .price
        case .valuations: .valuation
        case .etfs: .etf
        case .etfPrices: .etfPrice
        }
    }
}
