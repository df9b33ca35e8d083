import Foundation
import KRXSimulator
import Testing

/// Determinism, price consistency across days, the calendar and the holiday screen.
@Suite struct DataModelTests {
    @Test func sameSeedAndRequestGiveByteIdenticalBodies() async throws {
        let configuration = SimulatorConfiguration(seed: 21, today: SimDate.on("2021-01-25"))
        let requests = [
            form("MDCSTAT01501", "mktId=ALL&trdDd=20210122"), form("MDCSTAT03501", "mktId=KSQ&trdDd=20210122"),
            form("MDCSTAT04301", "trdDd=20210122"), form("MDCSTAT01901", "mktId=ALL"),
        ]
        func bodies() async throws -> [[UInt8]] {
            try await withSimulator(configuration) { sim in
                var result: [[UInt8]] = []
                for request in requests { result.append(try await Curl.portal(sim, request).body) }
                return result
            }
        }
        let first = try await bodies()
        let second = try await bodies()
        #expect(first == second)
        #expect(first.allSatisfy { $0.count > 1_000 })
        // Another seed is another market (a separately built one: not the cache).
        let other = SimulatedMarket(seed: 22)
        let market = SimulatedMarket(seed: 21)
        #expect(other.allStocks.map(\.ticker) != market.allStocks.map(\.ticker))
        #expect(SimulatedMarket(seed: 21).allStocks.map(\.isin) == market.allStocks.map(\.isin))
    }

    @Test func previousCloseIsThePreviousSessionsClose() throws {
        let market = SimulatedMarket(seed: 4)
        let days = market.calendar.tradingDays(from: SimDate.on("2015-05-01"), through: SimDate.on("2015-08-31"))
        #expect(days.count > 70)
        var limitDays = 0
        var haltedDays = 0
        for stock in market.stocks(on: days[0]).prefix(400) {
            var previous: StockDay? = nil
            for date in days {
                guard let day = market.day(of: stock, on: date) else {
                    previous = nil
                    continue
                }
                if let previous, date != stock.splitDate {
                    #expect(day.previousClose == previous.close, "\(stock.ticker) \(date)")
                }
                #expect(day.low <= day.high)
                if day.isHalted {
                    haltedDays += 1
                    #expect(day.open == 0 && day.volume == 0 && day.close == day.previousClose)
                } else {
                    #expect(day.low <= min(day.open, day.close) && day.high >= max(day.open, day.close))
                    #expect(day.volume > 0)
                }
                if day.fluctuation == .upperLimit || day.fluctuation == .lowerLimit {
                    limitDays += 1
                    // ±15% before 2015-06-15, ±30% after (KOSPI/KOSDAQ); KONEX 15%.
                    let percent = abs(Double(day.change) / Double(day.previousClose) * 100)
                    #expect(percent > 10 && percent <= 30.01)
                } else if !day.isHalted {
                    #expect(abs(Double(day.change) / Double(day.previousClose)) < 0.15)
                }
                previous = day
            }
        }
        #expect(limitDays > 0)
        #expect(haltedDays > 0)
    }

    @Test func calendarFollowsKRX() {
        let market = SimulatedMarket(seed: 1)
        #expect(!market.isTradingDay(SimDate.on("2026-02-17")))  // 설날
        #expect(!market.isTradingDay(SimDate.on("2026-12-31")))  // 연말휴장일
        #expect(!market.isTradingDay(SimDate.on("2024-03-16")))  // Saturday
        #expect(market.isTradingDay(SimDate.on("1998-11-28")))  // Saturday session
        #expect(!market.isTradingDay(SimDate.on("1998-12-12")))  // Saturdays ended 1998-12-05
        #expect(market.isTradingDay(SimDate.on("2026-02-19")))
        #expect(market.calendar.tradingDay(before: SimDate.on("2026-02-19")) == SimDate.on("2026-02-13"))
        #expect(market.calendar.tradingDays(from: SimDate.on("2026-02-14"), through: SimDate.on("2026-02-18")).isEmpty)
    }

    @Test func universeHasTheFeaturesCollectorsMustSurvive() {
        let market = SimulatedMarket(seed: 1)
        let stocks = market.allStocks
        #expect(stocks.contains { $0.ticker.contains { $0.isLetter } })  // alphanumeric tickers
        #expect(stocks.contains { $0.delisted != nil })
        #expect(stocks.contains { $0.listed > SimDate.on("2020-01-01") })
        #expect(Set(stocks.map(\.ticker)).count == stocks.count)
        #expect(stocks.allSatisfy { $0.ticker.count == 6 && $0.isin.count == 12 })
        let recent = market.stocks(on: SimDate.on("2024-03-15"))
        #expect((2_600...3_000).contains(recent.count))
        #expect(market.etfs(on: SimDate.on("2024-03-15")).count > 700)
        // Prices and volumes fit 32 bits, as real KRX's do (a client that stores them as Int32 must not crash).
        let days = recent.compactMap { market.day(of: $0, on: SimDate.on("2024-03-15")) }
        #expect(days.allSatisfy { $0.volume < Int64(Int32.max) && $0.high < Int64(Int32.max) })
        #expect(days.contains { $0.volume > 10_000_000 })
    }

    @Test func holidayScreenNeedsAnOTPAndListsWeekdayClosures() async throws {
        try await withSimulator(SimulatorConfiguration(seed: 1, today: SimDate.on("2026-03-01"))) { sim in
            let otp = try await Curl.get(
                sim.baseURL + "/contents/COM/GenerateOTP.jspx?bld=MKD/01/0110/01100305/mkd01100305_01&name=form&_=1")
            #expect(otp.status == 200 && otp.text.count > 20)
            let fields = "search_bas_yy=2026&gridTp=KRX&pagePath=/contents/MKD/01/0110/01100305/MKD01100305.jsp&code=\(otp.text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&pageFirstCall=Y"
            let response = try await Curl.run(["--data", fields, sim.baseURL + "/contents/OPN/99/OPN99000001.jspx"])
            let rows = try #require(response.rows("block1"))
            #expect(rows.count == 17)
            #expect(rows.first == ["calnd_dd": "2026-01-01", "dy_tp_cd": "THU", "calnd_dd_dy": "2026-01-01", "kr_dy_tp": "목요일", "holdy_nm": "신정"])
            #expect(rows.last?["holdy_nm"] == "연말휴장일")
            #expect(response.firstRowFieldOrder() == ["calnd_dd", "dy_tp_cd", "calnd_dd_dy", "kr_dy_tp", "holdy_nm"])
            let withoutOTP = try await Curl.run(["--data", "search_bas_yy=2026&code=made-up", sim.baseURL + "/contents/OPN/99/OPN99000001.jspx"])
            #expect(withoutOTP.status == 400)
        }
    }

    /// The whole market in one compressed answer. How fast is measured by `scripts/bench.sh`, not here: a timed
    /// test on a loaded 2-core machine only measures the load.
    @Test func aWholeMarketDayIsServedInOneCompressedAnswer() async throws {
        try await withSimulator(SimulatorConfiguration(seed: 1, today: SimDate.on("2024-03-15"))) { sim in
            let response = try await Curl.portal(sim, form("MDCSTAT01501", "mktId=ALL&trdDd=20240315"), extra: ["--compressed"])
            #expect(response.rows("OutBlock_1")?.count ?? 0 > 2_000)
        }
    }
}
