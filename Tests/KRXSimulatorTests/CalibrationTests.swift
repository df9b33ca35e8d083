import Foundation
import KRXSimulator
import Testing

/// The generated market against KRX's published magnitudes (docs/krx-sim.md): every session of every listing inside
/// the ranges real KRX data shows, and the listing counts of each year near the published ones.
@Suite struct CalibrationTests {
    /// A tenth of the market (290 listings today): every trading day of 32 years stays affordable.
    static let small = SimulatedMarket(seed: 3, stockCount: 290, etfCount: 110)
    static let full = SimulatedMarket(seed: 1)

    /// KRX tick sizes, written from KRX's notices independently of the simulator's table.
    static func tick(_ price: Int64, kospi: Bool, date: SimDate) -> Int64 {
        if date >= SimDate.on("2023-01-25") {
            let bands: [(Int64, Int64)] = [(2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500)]
            return bands.first { price < $0.0 }?.1 ?? 1_000
        }
        let bands: [(Int64, Int64)] = [(1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50)]
        if let band = bands.first(where: { price < $0.0 }) { return band.1 }
        if !kospi { return 100 }
        return price < 100_000 ? 100 : price < 500_000 ? 500 : 1_000
    }

    static func limit(_ market: SimMarket, _ date: SimDate) -> Int64 {
        market == .konex ? 15 : date >= SimDate.on("2015-06-15") ? 30 : date >= SimDate.on("1998-12-07") ? 15 : 12
    }

    @Test("every session of every stock and ETF is a session KRX could have printed", arguments: 1995...2026)
    func everyGeneratedDayIsInsideKRXsRanges(year: Int) throws {
        let market = Self.small
        let days = market.calendar.tradingDays(from: SimDate.on("\(year)-01-01"), through: SimDate.on("\(year)-12-31"))
        #expect(days.count > 200)
        var checked = 0
        for stock in market.allStocks where stock.listed.year <= year && (stock.delisted?.year ?? 9_999) >= year {
            var previous: StockDay? = nil
            for date in days {
                guard let day = market.day(of: stock, on: date) else {
                    previous = nil
                    continue
                }
                checked += 1
                let context = "\(stock.ticker) \(date)"
                #expect(day.listedShares > 0 && day.volume < day.listedShares, "\(context)")
                #expect(day.volume <= 1_000_000_000 && day.close <= 5_000_000 && day.high <= Int64(Int32.max), "\(context)")
                #expect(day.marketCap > 0 && day.marketCap <= 1_000_000_000_000_000, "\(context)")
                if let previous {
                    if date == stock.splitDate {
                        // The split's base price: yesterday's close divided by the ratio, on the tick grid.
                        let exact = Double(previous.close) / Double(stock.splitRatio)
                        #expect(abs(Double(day.previousClose) - exact) <= Double(Self.tick(day.previousClose, kospi: true, date: date)), "\(context)")
                    } else {
                        #expect(day.previousClose == previous.close, "\(context)")
                    }
                }
                if day.isHalted {
                    #expect(day.open == 0 && day.high == 0 && day.low == 0 && day.volume == 0 && day.value == 0)
                    #expect(day.close == day.previousClose && day.close > 0, "\(context)")
                } else {
                    #expect(day.low >= 1 && day.low <= min(day.open, day.close), "\(context)")
                    #expect(day.high >= max(day.open, day.close), "\(context)")
                    #expect(day.volume > 0, "\(context)")
                    // volume × price ≈ value: the average price lies within the day's range.
                    let average = Double(day.value) / Double(day.volume)
                    #expect(average >= Double(day.low) * 0.999 && average <= Double(day.high) * 1.001, "\(context)")
                    // |change| and the range within the day's limit (±30% since 2015-06-15, ±15% before; KONEX 15%).
                    let bound = Double(day.previousClose) * Double(Self.limit(stock.market, date)) / 100
                    #expect(Double(abs(day.change)) <= bound, "\(context) change \(day.change)")
                    #expect(Double(day.high - day.previousClose) <= bound && Double(day.previousClose - day.low) <= bound, "\(context)")
                    let kospi = stock.market == .kospi
                    #expect(day.close % Self.tick(day.close, kospi: kospi, date: date) == 0 || day.close == 5_000_000, "\(context) close \(day.close)")
                }
                previous = day
            }
        }
        for etf in market.allETFs where etf.listed.year <= year && (etf.delisted?.year ?? 9_999) >= year {
            for date in days {
                guard let day = market.day(of: etf, on: date) else { continue }
                checked += 1
                #expect(day.volume < day.listedShares && day.volume <= 1_000_000_000, "\(etf.ticker) \(date)")
                #expect(day.close % 5 == 0 && day.close > 0 && day.close <= 5_000_000, "\(etf.ticker) \(date)")
                if day.fluctuation != .noTrade {
                    #expect(day.low <= min(day.open, day.close) && day.high >= max(day.open, day.close))
                    let average = Double(day.value) / Double(day.volume)
                    #expect(average >= Double(day.low) * 0.999 && average <= Double(day.high) * 1.001)
                }
            }
        }
        #expect(checked > 10_000)
    }

    /// Year-end listed companies (common shares) as KRX published them, and the tolerance the generator keeps.
    static let published: [(market: SimMarket, year: Int, companies: Int)] = [
        (.kospi, 1997, 776), (.kospi, 2011, 791), (.kospi, 2012, 784), (.kospi, 2013, 777), (.kospi, 2014, 773),
        (.kospi, 2015, 770), (.kospi, 2016, 779), (.kospi, 2023, 839),
        (.kosdaq, 1997, 359), (.kosdaq, 2007, 1_023), (.kosdaq, 2013, 1_009), (.kosdaq, 2014, 1_061),
        (.kosdaq, 2015, 1_152), (.kosdaq, 2016, 1_208), (.kosdaq, 2019, 1_399), (.kosdaq, 2023, 1_700),
        (.konex, 2019, 151), (.konex, 2022, 127),
    ]

    @Test func listingCountsPerYearFollowThePublishedOnes() {
        for market in [Self.full, Self.small] {
            let scale = Double(market === Self.full ? 2_900 : 290) / 2_900
            for entry in Self.published {
                let yearEnd = SimDate.on("\(entry.year)-12-31")
                let count = market.stocks(on: yearEnd, market: entry.market).filter { !$0.isPreferred }.count
                let expected = Double(entry.companies) * scale
                // 2% of the published count (rounding and the few days between a count's date and the year's end),
                // and one listing for the scaled market.
                #expect(abs(Double(count) - expected) <= expected * 0.02 + 1, "\(entry) got \(count)")
            }
        }
        // Rows of the whole-market screen (preferreds included) on days whose real row counts are on record.
        let rows: [(String, SimMarket, Int)] = [
            ("2020-12-30", .kospi, 917), ("2020-12-30", .kosdaq, 1_471), ("2020-12-30", .konex, 143),
            ("2024-01-05", .kospi, 953), ("2024-01-05", .kosdaq, 1_703), ("2024-01-05", .konex, 129),
        ]
        for (day, segment, count) in rows {
            let got = Self.full.stocks(on: SimDate.on(day), market: segment).count
            #expect(abs(got - count) <= count / 20, "\(day) \(segment): \(got) rows, KRX \(count)")
        }
        // ETFs: 4 at the start (2002-10-14), 467 rows on 2021-03-25, 812 on 2024-01-05, 1,066 on 2026-01-25.
        #expect(Self.full.etfs(on: SimDate.on("2002-10-14")).count == 4)
        for (day, count) in [("2021-03-25", 467), ("2024-01-05", 812), ("2026-01-25", 1_066)] {
            let got = Self.full.etfs(on: SimDate.on(day)).count
            #expect(abs(got - count) <= count * 8 / 100, "\(day): \(got) ETFs, KRX \(count)")
        }
        // Far fewer listings in 2000 than today.
        #expect(Self.full.stocks(on: SimDate.on("2000-06-30")).count < Self.full.stocks(on: SimDate.on("2026-06-30")).count * 6 / 10)
    }

    /// Prices, sizes and valuations spread as KRX's do: a few listings under 1,000 won, about one in ten above 50,000
    /// (277 of ~2,300 in early 2018), heavy-tailed market caps, "-" for losses, dividends of 0 for non-payers.
    @Test func distributionsLookLikeKRXs() throws {
        let market = Self.full
        let date = SimDate.on("2024-03-15")
        let days = market.stocks(on: date).compactMap { market.day(of: $0, on: date) }
        #expect(days.count > 2_500)
        let closes = days.map(\.close).sorted()
        let cheap = Double(closes.filter { $0 < 1_000 }.count) / Double(closes.count)
        let dear = Double(closes.filter { $0 >= 50_000 }.count) / Double(closes.count)
        #expect(cheap > 0.01 && cheap < 0.12, "under 1,000 won: \(cheap)")
        #expect(dear > 0.06 && dear < 0.2, "50,000 won and more: \(dear)")
        #expect((3_000...20_000).contains(closes[closes.count / 2]))
        let caps = days.map(\.marketCap).sorted()
        #expect(caps.last! > 30_000_000_000_000 && caps[caps.count / 2] < 500_000_000_000)
        let volumes = days.map(\.volume)
        #expect(volumes.allSatisfy { $0 <= Int64(Int32.max) })
        let values = market.stocks(on: date).compactMap { market.valuation(of: $0, on: date) }
        let losses = Double(values.filter { $0.eps == nil }.count) / Double(values.count)
        #expect(losses > 0.15 && losses < 0.6, "EPS \"-\": \(losses)")
        #expect(values.contains { $0.dps == 0 } && values.contains { $0.dps > 0 })
        #expect(values.allSatisfy { ($0.perHundredths ?? 1) > 0 && ($0.pbrHundredths ?? 1) > 0 })
        // Splits happened, with their three halted sessions before.
        let split = try #require(market.allStocks.first { ($0.splitDate ?? .on("2100-01-01")) < date })
        let before = market.calendar.tradingDay(before: split.splitDate!)!
        #expect(market.day(of: split, on: before)?.isHalted == true)
        let after = try #require(market.day(of: split, on: split.splitDate!))
        #expect(after.listedShares == market.listedShares(of: split, on: before) * split.splitRatio)
        #expect(split.parValue != split.parValueBeforeSplit)
    }
}
