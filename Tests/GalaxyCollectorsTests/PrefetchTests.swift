import Foundation
import GalaxyCore
import GalaxyKRX
import GalaxyPostgres
import KRXSimulator
import Synchronization
import Testing

@testable import GalaxyCollectors

/// The real portal client, except that fetching `blockOn` first makes the simulator answer with its block page:
/// a block in the middle of a range, through real HTTP, the real breaker and the real collector.
private final class BlockMidRange: KRXSource, TradingDaysSource, @unchecked Sendable {
    let client: KRXPortalClient
    let simulator: KRXSimulator
    let blockOn: TradeDate
    let fetched = Mutex<[TradeDate]>([])

    init(client: KRXPortalClient, simulator: KRXSimulator, blockOn: TradeDate) {
        self.client = client
        self.simulator = simulator
        self.blockOn = blockOn
    }

    var kind: SourceKind { client.kind }
    var datasets: Set<Dataset> { client.datasets }
    var requestsSent: Int { client.requestsSent }
    var requestErrors: [RequestErrorKind: Int] { client.requestErrors }
    func breakerState() throws -> BreakerState? { try client.breakerState() }
    func tradingDays(in range: DateRange) throws -> [TradeDate] { try client.tradingDays(in: range) }

    func fetch(_ dataset: Dataset, on date: TradeDate) throws -> DayFetch {
        fetched.withLock { $0.append(date) }
        if date == blockOn {
            simulator.faults.inject(.blockPage(status: 403), route: "portal/MDCSTAT01501", next: 1)
        }
        return try client.fetch(dataset, on: date)
    }
}

@Suite("Prefetching collector")
struct PrefetchTests {
    @Test("a range is stored day by day in date order; a block mid-range: that day failed, later days untouched")
    func blockMidRange() async throws {
        try await withFixture { fixture in
            // 2024-03-04 … 03-14: nine trading days (the calendar settles the weekend without a request).
            let range = DateRange(TradeDate("2024-03-04")!, tradingDay)!
            let blockOn = TradeDate("2024-03-07")!
            let configuration = try fixture.configuration()
            let simulator = fixture.simulator
            let source = Mutex<BlockMidRange?>(nil)
            let factory: KRXSourceFactory = { dataset, configuration, store, logger in
                let client = try #require(
                    try fastSource(today: simToday)(dataset, configuration, store, logger) as? KRXPortalClient)
                let wrapped = BlockMidRange(client: client, simulator: simulator, blockOn: blockOn)
                source.withLock { $0 = wrapped }
                return wrapped
            }
            let request = CollectorRequest(job: .dataset(.price), days: .range(range, mode: .unsettled))
            let outcome = await onThread {
                CollectorRun(request: request, configuration: configuration, logger: testLogger, makeSource: factory)
                    .run()
            }
            #expect(outcome.exitCode == .sourceBlocked, "\(outcome)")
            let fetched = try #require(source.withLock { $0 }).fetched.withLock { $0 }
            #expect(fetched.map(\.iso) == ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"],
                    "no day after the block is even asked for")
            #expect(simulator.stats().count("portal/MDCSTAT01501") == 4)

            let connection = try fixture.connect()
            defer { connection.close() }
            let ledger = try rows(
                connection, "SELECT trade_date::text AS day, status FROM collection_days ORDER BY created_at, trade_date")
            #expect(ledger.map { $0["day"] ?? nil } == ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"],
                    "one transaction per day, in date order")
            #expect(ledger.map { $0["status"] ?? nil } == ["collected", "collected", "collected", "failed"])
            let stored = try rows(connection, "SELECT DISTINCT date::text AS day FROM prices ORDER BY 1")
            #expect(stored.map { $0["day"] ?? nil } == ["2024-03-04", "2024-03-05", "2024-03-06"])
            let perDay = try scalarInt(connection, "SELECT count(*) FROM prices WHERE date = '2024-03-05'")
            #expect(perDay == fixture.simulator.market.stocks(on: TradeDate("2024-03-05")!.sim).count)
        }
    }

    @Test("the prefetcher hands days over in order, stays within its depth, and stops promptly")
    func handOff() async throws {
        let days = (0..<12).map { TradeDate("2024-03-01")!.adding(days: $0) }
        let state = Mutex<(fetched: [TradeDate], consumed: Int, maxAhead: Int)>(([], 0, 0))
        let prefetcher = DayPrefetcher(
            days: days, depth: 2, isCancelled: { false }, isFinal: { _ in false },
            requestCount: { state.withLock { $0.fetched.count } },
            fetch: { date in
                state.withLock { s in
                    s.fetched.append(date)
                    s.maxAhead = max(s.maxAhead, s.fetched.count - s.consumed)
                }
                return .noSession
            })
        prefetcher.start()
        let taken = await onThread { () -> [TradeDate] in
            var taken: [TradeDate] = []
            for _ in 0..<5 {
                guard let next = prefetcher.next() else { break }
                state.withLock { $0.consumed += 1 }
                taken.append(next.date)
                #expect(next.requests >= taken.count, "the request count is read after the day's fetch")
                Thread.sleep(forTimeInterval: 0.01)  // a store that takes a while: the producer must wait
            }
            prefetcher.stop()
            return taken
        }
        #expect(taken == Array(days.prefix(5)))
        let (fetched, _, maxAhead) = state.withLock { $0 }
        #expect(fetched == Array(days.prefix(fetched.count)), "fetched in date order")
        // Ahead of the writer: the `depth` waiting days plus the one being fetched.
        #expect(maxAhead <= 3, "bounded: \(maxAhead)")
        #expect(fetched.count <= 5 + 3, "stop() ends fetching: \(fetched.count) of 12")
        let after = fetched.count
        try await Task.sleep(for: .milliseconds(50))
        #expect(state.withLock { $0.fetched.count } == after, "nothing is fetched after stop() returned")
    }

    @Test("a final error is handed over and ends fetching; cancellation ends it too")
    func finalErrorAndCancellation() async throws {
        struct Blocked: Error {}
        let days = (0..<10).map { TradeDate("2024-03-01")!.adding(days: $0) }
        let calls = Mutex(0)
        let prefetcher = DayPrefetcher(
            days: days, depth: 1, isCancelled: { false }, isFinal: { $0 is Blocked },
            requestCount: { calls.withLock { $0 } },
            fetch: { date in
                calls.withLock { $0 += 1 }
                if date == days[2] { throw Blocked() }
                return .noSession
            })
        prefetcher.start()
        let results = await onThread { () -> [Bool] in
            var results: [Bool] = []
            while let next = prefetcher.next() {
                if case .success = next.result { results.append(true) } else { results.append(false) }
            }
            prefetcher.stop()
            return results
        }
        #expect(results == [true, true, false], "two days, then the final error, then nothing")
        #expect(calls.withLock { $0 } == 3)

        let cancelled = Mutex(false)
        let fetchedBeforeCancel = Mutex(0)
        let cancelling = DayPrefetcher(
            days: days, depth: 1, isCancelled: { cancelled.withLock { $0 } }, isFinal: { _ in false },
            requestCount: { 0 },
            fetch: { _ in
                fetchedBeforeCancel.withLock { $0 += 1 }
                return .noSession
            })
        cancelling.start()
        let count = await onThread { () -> Int in
            var count = 0
            while cancelling.next() != nil {
                count += 1
                if count == 2 { cancelled.withLock { $0 = true } }
            }
            cancelling.stop()
            return count
        }
        #expect(count <= 4, "cancellation is seen before the next fetch: \(count)")
        #expect(fetchedBeforeCancel.withLock { $0 } == count, "every fetched day was handed over")
    }
}
