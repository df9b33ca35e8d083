import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyPostgres
import KRXSimulator
import Testing

/// How the collectors meet what KRX does: sessions, password changes, block pages, outages, garbage, rate limits.
@Suite("Collectors under source faults")
struct SourceFaultTests {
    static let credentials = ["KRX_ID": "demo", "KRX_PW": "demo-password"]

    @Test("LOGOUT in the middle of a run → one fresh login → the day is stored")
    func logoutThenRelogin() async throws {
        try await withFixture(requireLogin: true) { fixture in
            fixture.simulator.faults.inject(.logout, route: "portal/MDCSTAT01501", next: 1)
            let outcome = try await fixture.collect(
                .dataset(.price), .date(tradingDay, heal: 0), environment: Self.credentials)
            #expect(outcome.exitCode == .success, "\(outcome)")
            let stats = fixture.simulator.stats()
            // Two login flows (each starts at the login page): the first, and one after LOGOUT. The second may post
            // the form twice (CD011 "logged in elsewhere" → skipDup=Y), as the old session is still alive.
            #expect(stats.count("login/MDCCOMS001") == 2, "the initial login and exactly one after LOGOUT")
            #expect(stats.count("portal/MDCSTAT01501") == 2)
            let connection = try fixture.connect()
            defer { connection.close() }
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices") == outcome.progress.rows)
            #expect(outcome.progress.rows > 2000)
        }
    }

    @Test("member credentials from $CREDENTIALS_DIRECTORY (systemd LoadCredential=) log in")
    func credentialsDirectory() async throws {
        try await withFixture(requireLogin: true) { fixture in
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("galaxy-credentials-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try "demo\n".write(to: directory.appendingPathComponent("krx-id"), atomically: true, encoding: .utf8)
            try "demo-password\n".write(
                to: directory.appendingPathComponent("krx-pw"), atomically: true, encoding: .utf8)
            let outcome = try await fixture.collect(
                .dataset(.valuation), .date(tradingDay, heal: 0),
                environment: ["CREDENTIALS_DIRECTORY": directory.path, "KRX_PW": "wrong-password"])
            #expect(outcome.exitCode == .success, "the credential files win over the variables: \(outcome)")
            #expect(fixture.simulator.stats().count("login/MDCCOMS001D1") == 1)
        }
    }

    @Test("CD010 (password change due) → exit 77 with a clear message, no retry loop")
    func passwordChangeRequired() async throws {
        let accounts = [SimulatorAccount(id: "demo", password: "demo-password", passwordChangeRequired: true)]
        try await withFixture(requireLogin: true, accounts: accounts) { fixture in
            let outcome = try await fixture.collect(
                .dataset(.price), .date(tradingDay, heal: 0), environment: Self.credentials)
            #expect(outcome.exitCode == .authenticationFailed)
            #expect(outcome.message.contains("CD010"))
            #expect(outcome.message.contains("KRX_PW"), "the message says what to change")
            #expect(fixture.simulator.stats().count("login/MDCCOMS001D1") == 1, "no login loop")
            #expect(fixture.simulator.stats().count("portal/MDCSTAT01501") == 0)
            let connection = try fixture.connect()
            defer { connection.close() }
            let ledger = try rows(connection, "SELECT status, last_error FROM collection_days")
            #expect(ledger.count == 1, "the day records why")
            #expect(ledger.first?["status"] == .some("failed"))
            #expect((ledger.first?["last_error"] ?? nil)?.contains("CD010") == true)
        }
    }

    @Test("a block page opens the breaker: exit 69, persisted, and the simulator sees no further request")
    func blockPageOpensBreaker() async throws {
        try await withFixture { fixture in
            fixture.simulator.faults.add(FaultRule(route: "portal", fault: .blockPage(status: 403)))
            let week = DateRange(TradeDate("2024-03-11")!, tradingDay)!
            let outcome = try await fixture.collect(.dataset(.price), .range(week, mode: .unsettled))
            #expect(outcome.exitCode == .sourceBlocked, "\(outcome)")
            #expect(fixture.simulator.stats().count("portal") == 1, "one request, no retry, no further day")

            let connection = try fixture.connect()
            defer { connection.close() }
            let breaker = try #require(try BreakerStore(connection).openBreaker(for: "portal"))
            #expect(breaker.openUntil.timeIntervalSinceNow > 23 * 3600)
            #expect(breaker.reason.contains("에러페이지"))

            // Every later process stays away before sending anything, for any dataset on that source.
            fixture.simulator.faults.clear()
            fixture.simulator.resetStats()
            let later = try await fixture.collect(.dataset(.valuation), .date(tradingDay, heal: 0))
            #expect(later.exitCode == .sourceBlocked)
            #expect(fixture.simulator.stats().requests.isEmpty)
        }
    }

    @Test("5xx then success → retried, the day is stored")
    func serverErrorsAreRetried() async throws {
        try await withFixture { fixture in
            fixture.simulator.faults.inject(.serverError(status: 503), route: "portal/MDCSTAT01501", next: 2)
            let outcome = try await fixture.collect(.dataset(.price), .date(tradingDay, heal: 0))
            #expect(outcome.exitCode == .success, "\(outcome)")
            #expect(fixture.simulator.stats().count("portal/MDCSTAT01501") == 3)
            #expect(outcome.progress.requests == 3)
            #expect(outcome.progress.rows > 2000)
        }
    }

    @Test("malformed JSON on one day → that day failed with its reason, the others stored, exit 1")
    func malformedDayFailsAlone() async throws {
        try await withFixture { fixture in
            // The client retries garbled bodies (4 attempts): garble all of the first day's.
            fixture.simulator.faults.inject(.malformedJSON, route: "portal/MDCSTAT01501", next: 4)
            let days = DateRange(TradeDate("2024-03-12")!, tradingDay)!
            let outcome = try await fixture.collect(.dataset(.price), .range(days, mode: .unsettled))
            #expect(outcome.exitCode == .partialFailure)
            #expect(outcome.progress.daysFailed == 1)
            #expect(outcome.progress.daysDone == 2)
            #expect(outcome.failures.map(\.date) == [TradeDate("2024-03-12")!])

            let connection = try fixture.connect()
            defer { connection.close() }
            let ledger = try rows(connection, "SELECT trade_date, status, last_error FROM collection_days ORDER BY 1")
            #expect(ledger.map { $0["status"] ?? nil } == ["failed", "collected", "collected"])
            let reason = try #require(ledger.first?["last_error"] ?? nil)
            #expect(reason.contains("JSON") || reason.contains("json"), "\(reason)")
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices WHERE date = '2024-03-12'") == 0)
            #expect(try scalarInt(connection, "SELECT count(DISTINCT date) FROM prices") == 2)

            // The next backfill run picks the failed day up again.
            let retry = try await fixture.collect(.dataset(.price), .range(days, mode: .onlyFailed))
            #expect(retry.exitCode == .success)
            #expect(retry.progress.daysTotal == 1)
        }
    }

    @Test("the configured rate is respected (request timestamps from the simulator)")
    func rateIsRespected() async throws {
        try await withFixture { fixture in
            let days = DateRange(TradeDate("2024-03-11")!, tradingDay)!
            let outcome = try await fixture.collect(
                .dataset(.price), .range(days, mode: .unsettled), environment: ["GALAXY_RATE": "5"])
            #expect(outcome.exitCode == .success)
            let times = fixture.simulator.stats().timestamps("portal/MDCSTAT01501")
            #expect(times.count == 4)
            // Slots 0.2 s apart, each request within the first quarter of its slot: never closer than 0.15 s, and
            // four requests span at least three slots less one jitter.
            for (earlier, later) in zip(times, times.dropFirst()) {
                #expect(later - earlier >= 0.145, "requests \(later - earlier) s apart at 5 requests/s")
            }
            #expect(times.last! - times.first! >= 0.545, "4 requests within \(times.last! - times.first!) s at 5/s")
        }
    }

    @Test("the Open API without a key is bad configuration (78) before any request")
    func missingAuthKey() async throws {
        try await withFixture { fixture in
            let outcome = try await fixture.collect(
                .dataset(.price), .date(tradingDay, heal: 0), environment: ["GALAXY_SOURCE": "openapi"])
            #expect(outcome.exitCode == .configuration)
            #expect(outcome.message.contains("KRX_AUTH_KEY"))
            #expect(fixture.simulator.stats().requests.isEmpty)
        }
    }

    @Test("an unreachable database is a temporary failure (75)")
    func databaseUnreachable() async throws {
        try await withFixture { fixture in
            let outcome = try await fixture.collect(
                .dataset(.price), .date(tradingDay, heal: 0),
                environment: ["GALAXY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"])
            #expect(outcome.exitCode == .temporaryFailure)
            #expect(outcome.message.contains("database"))
            #expect(fixture.simulator.stats().requests.isEmpty)
        }
    }
}
