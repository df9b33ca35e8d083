import Foundation

/// The magnitudes the synthetic market is calibrated to: KRX's published listing counts and new listings, the tick
/// tables, and estimated distributions of prices, sizes and turnover. `docs/krx-sim.md` cites every figure and says
/// which are estimates; change a number here and there together.
public enum Calibration {
    /// A yearly series given by anchors, linear between them and flat outside.
    struct Curve: Sendable {
        let anchors: [(year: Int, value: Double)]

        func value(_ year: Int) -> Double {
            guard let first = anchors.first, let last = anchors.last else { return 0 }
            if year <= first.year { return first.value }
            if year >= last.year { return last.value }
            for (a, b) in zip(anchors, anchors.dropFirst()) where year <= b.year {
                return a.value + (b.value - a.value) * Double(year - a.year) / Double(b.year - a.year)
            }
            return last.value
        }
    }

    /// The last year with listings; later years keep its universe.
    static let lastYear = 2026

    /// Listed companies (common shares; preferreds come on top) at year-end.
    static func companies(_ market: SimMarket) -> Curve {
        switch market {
        case .kospi:
            Curve(anchors: [
                (1994, 699), (1995, 721), (1996, 760), (1997, 776), (1998, 748), (2000, 704), (2001, 689),
                (2003, 684), (2007, 746), (2011, 791), (2012, 784), (2013, 777), (2014, 773), (2015, 770),
                (2016, 779), (2019, 799), (2023, 839), (2026, 850),
            ])
        case .kosdaq:
            Curve(anchors: [
                (1996, 343), (1997, 359), (1998, 331), (1999, 453), (2000, 604), (2001, 721), (2003, 879),
                (2006, 960), (2007, 1_023), (2010, 1_029), (2013, 1_009), (2014, 1_061), (2015, 1_152),
                (2016, 1_208), (2019, 1_405), (2020, 1_468), (2021, 1_532), (2023, 1_700), (2026, 1_820),
            ])
        case .konex:
            Curve(anchors: [(2013, 45), (2016, 140), (2019, 151), (2020, 141), (2022, 127), (2023, 129), (2026, 110)])
        }
    }

    /// The day a market opened and the companies it opened with; KOSPI's history starts before the data (1995).
    static func opening(_ market: SimMarket) -> (date: SimDate, companies: Double)? {
        switch market {
        case .kospi: nil
        case .kosdaq: (SimDate(year: 1996, month: 7, day: 1)!, 343)
        case .konex: (SimDate(year: 2013, month: 7, day: 1)!, 21)
        }
    }

    /// Published new listings per year; other years list `newListingRate` × last year-end's count.
    static func newListings(_ market: SimMarket, year: Int) -> Double? {
        switch market {
        case .kospi: nil
        case .kosdaq: [1999: 164, 2000: 250, 2001: 158, 2015: 122, 2018: 101, 2019: 108][year]
        case .konex: [2016: 50, 2017: 29, 2018: 21, 2019: 17, 2021: 7, 2022: 14][year]
        }
    }

    static func newListingRate(_ market: SimMarket) -> Double {
        switch market {
        case .kospi: 0.035
        case .kosdaq: 0.075
        case .konex: 0.15
        }
    }

    /// At least this share of last year-end's companies leaves each year (delistings, mergers, transfers).
    static let minimumDelistingRate = 0.012

    /// Companies with a listed preferred share (KOSPI: 953 rows for 839 companies on 2024-01-05).
    static func preferredShare(_ market: SimMarket) -> Double {
        switch market {
        case .kospi: 0.14
        case .kosdaq: 0.004
        case .konex: 0
        }
    }

    /// Listed ETFs at year-end (4 at the start in 2002-10; 1,066 on 2026-01-25).
    static let etfs = Curve(anchors: [
        (2002, 4), (2005, 12), (2008, 37), (2010, 64), (2013, 146), (2016, 256), (2020, 468), (2021, 533),
        (2023, 812), (2025, 1_040), (2026, 1_100),
    ])
    static let etfDelistingRate = 0.03

    /// Listed ETNs at year-end (the market opened on 2014-11-17 with 10).
    static let etns = Curve(anchors: [
        (2014, 10), (2015, 82), (2016, 132), (2018, 213), (2020, 185), (2022, 330), (2024, 380), (2026, 390),
    ])

    /// ELWs issued per month (on the whole market; scaled like the stocks).
    static let elwsPerMonth = 250.0

    /// The default universe: listed issues (rows of MDCSTAT01501) at the end of `lastYear`, and listed ETFs.
    public static let defaultStocks = 2_900
    public static let defaultETFs = 1_100

    /// Price-limit start dates: ±30% since 2015-06-15, ±15% from 1998-12-07, ±12% before; KONEX ±15%.
    static let limit30Since = SimDate(year: 2015, month: 6, day: 15)!
    static let limit15Since = SimDate(year: 1998, month: 12, day: 7)!

    /// One table of tick sizes for all markets since 2023-01-25; before, KOSPI and KOSDAQ differed above 50,000.
    static let unifiedTicksSince = SimDate(year: 2023, month: 1, day: 25)!

    /// Highest price the model produces (SK Telecom traded above 5 million won in 2000; estimate).
    static let maximumPrice: Int64 = 5_000_000
    /// Highest daily volume of one issue (estimate: no common stock has traded 2^31 shares in a day).
    static let maximumVolume: Int64 = 1_000_000_000
    /// Highest daily trading value of one issue (estimate: Samsung's record days are below 10 trillion won).
    static let maximumValue: Double = 1.5e13
    /// Highest share of the listed shares that trades in one day (estimate).
    static let maximumTurnover = 0.45
}

/// KRX tick sizes (호가가격단위) by price band.
enum TickTable: Sendable {
    case kospiBefore2023
    case kosdaqBefore2023
    case unified
    /// ETFs, ETNs and ELWs: 5 won at every price.
    case fund

    func tick(_ price: Int64) -> Int64 {
        switch self {
        case .fund: return 5
        case .unified:
            switch price {
            case ..<2_000: return 1
            case ..<5_000: return 5
            case ..<20_000: return 10
            case ..<50_000: return 50
            case ..<200_000: return 100
            case ..<500_000: return 500
            default: return 1_000
            }
        case .kospiBefore2023, .kosdaqBefore2023:
            switch price {
            case ..<1_000: return 1
            case ..<5_000: return 5
            case ..<10_000: return 10
            case ..<50_000: return 50
            default: break
            }
            if self == .kosdaqBefore2023 { return 100 }
            return price < 100_000 ? 100 : price < 500_000 ? 500 : 1_000
        }
    }

    /// The nearest price on the grid, within 1 … `Calibration.maximumPrice`.
    func round(_ price: Double) -> Int64 {
        let p = Int64(max(1, min(price, Double(Calibration.maximumPrice))).rounded())
        let t = tick(p)
        return max(t, (p + t / 2) / t * t)
    }

    func floor(_ p: Int64) -> Int64 { max(tick(p), p / tick(p) * tick(p)) }
    func ceil(_ p: Int64) -> Int64 { (p + tick(p) - 1) / tick(p) * tick(p) }
}
