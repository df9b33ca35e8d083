import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxySystemd
import KRXSimulator
import Testing

@Suite("Heartbeat")
struct HeartbeatTests {
    @Test("WATCHDOG=1 stops while the day loop is stuck beyond the stall limit, and resumes when it moves again")
    func heartbeatIsGatedOnProgress() async throws {
        try await withFixture { fixture in
            let socketPath = "/tmp/galaxy-heartbeat-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            let listener = try NotifyListener(address: socketPath)
            defer { listener.close() }
            // Pings every 50 ms; the loop counts as stuck after 300 ms in one step; the first day takes 1.5 s.
            let reporter = try CollectorReporter(
                notifySocket: socketPath, watchdogTimeout: .milliseconds(100), stallLimit: .milliseconds(300),
                logger: testLogger)
            fixture.simulator.faults.inject(.latency(milliseconds: 1500), route: "portal/MDCSTAT01501", next: 1)

            let arrivals = Task { () -> [(ContinuousClock.Instant, NotifyMessage)] in
                var received: [(ContinuousClock.Instant, NotifyMessage)] = []
                for await message in listener.messages {
                    if message["X_TEST_END"] != nil { break }
                    received.append((.now, message))
                }
                return received
            }
            let days = DateRange(TradeDate("2024-03-13")!, tradingDay)!
            let outcome = try await fixture.collect(
                .dataset(.price), .range(days, mode: .unsettled), reporter: reporter)
            #expect(outcome.exitCode == .success)
            _ = try? ServiceNotifier(socket: socketPath).notify(.custom(key: "X_TEST_END", value: "1"))
            let received = await arrivals.value

            let pings = received.filter { $0.1.isWatchdog && $0.1.assignments.count == 1 }.map(\.0)
            let gaps = zip(pings, pings.dropFirst()).map { seconds($1 - $0) }
            #expect(pings.count >= 4, "pings before the stall and after it")
            #expect(gaps.contains { $0 >= 1.0 }, "no ping while stuck: largest gap \(gaps.max() ?? 0) s")
            #expect(gaps.filter { $0 < 0.2 }.count >= 2, "regular pings while healthy")
        }
    }
}
