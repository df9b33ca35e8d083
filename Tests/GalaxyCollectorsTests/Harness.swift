import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyKRX
import GalaxyPostgres
import GalaxyTestSupport
import KRXSimulator
import Logging

/// The simulator's "today" in these tests (a Friday, 18:30 KST); the week before it traded Mon–Thu.
let simToday = TradeDate("2024-03-15")!
/// A trading day the portal and the Open API (T-1) both serve.
let tradingDay = TradeDate("2024-03-14")!
/// 삼일절: a weekday holiday.
let holiday = TradeDate("2024-03-01")!

/// A running simulator and a fresh migrated database for one test.
struct CollectorFixture {
    let simulator: KRXSimulator
    let database: TestDatabase

    static func make(requireLogin: Bool = false, accounts: [SimulatorAccount]? = nil) async throws -> CollectorFixture {
        var configuration = SimulatorConfiguration(seed: 7, today: SimDate(simToday.iso)!, requireLogin: requireLogin)
        if let accounts { configuration.accounts = accounts }
        let simulator = try await KRXSimulator.start(configuration)
        do {
            let database = try TestDatabase.create(migrated: true)
            return CollectorFixture(simulator: simulator, database: database)
        } catch {
            try? await simulator.shutdown()
            throw error
        }
    }

    func tearDown() async {
        database.drop()
        try? await simulator.shutdown()
    }

    /// The environment a collector child would get (DESIGN §8 names).
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "GALAXY_DATABASE_URL": database.url,
            "GALAXY_PORTAL_URL": simulator.baseURL,
            "GALAXY_OPENAPI_URL": simulator.baseURL,
            "GALAXY_RATE": "0",
        ]
        environment.merge(extra) { $1 }
        return environment
    }

    func configuration(_ extra: [String: String] = [:]) throws -> GalaxyConfiguration {
        try GalaxyConfiguration(environment: environment(extra))
    }

    /// Runs a collector in-process, on a thread of its own (it blocks on libpq and libcurl).
    /// `today` is the client's today in Asia/Seoul (the Open API's T-1 rule and publication window).
    func collect(
        _ job: CollectorJob, _ days: DaySelection, environment extra: [String: String] = [:],
        reporter: CollectorReporter? = nil, control: CollectorControl = CollectorControl(),
        today: TradeDate = simToday
    ) async throws -> CollectorOutcome {
        let configuration = try configuration(extra)
        let request = CollectorRequest(job: job, days: days)
        return await onThread {
            CollectorRun(
                request: request, configuration: configuration, reporter: reporter, control: control,
                logger: testLogger, makeSource: fastSource(today: today)
            ).run()
        }
    }

    func connect() throws -> Connection { try database.connect() }
}

let testLogger: Logger = {
    var logger = Logger(label: "collector-test")
    logger.logLevel = .warning
    return logger
}()

/// The production client with retries that do not wait seconds, and the simulator's "today" (the Open API's T-1).
func fastSource(today: TradeDate) -> KRXSourceFactory {
    { dataset, configuration, store, logger in
        var client = KRXClientConfiguration(configuration: configuration, environment: [:])
        client.retry = RetryPolicy(maxAttempts: 4, baseDelay: 0.01, maxDelay: 0.05)
        client.today = { today }
        let limiter = RateLimiter(rate: configuration.rate)
        switch configuration.source(for: dataset) {
        case .portal:
            return try KRXPortalClient(configuration: client, limiter: limiter, breakerStore: store, logger: logger)
        case .openapi:
            return try KRXOpenAPIClient(configuration: client, limiter: limiter, breakerStore: store, logger: logger)
        }
    }
}

/// Runs blocking work on a dedicated thread so Swift's cooperative pool (2 threads here) never blocks.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

extension TradeDate {
    var sim: SimDate { SimDate(iso)! }
}

/// Reads a query's rows as text per column name.
func rows(_ connection: Connection, _ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws
    -> [[String: String?]]
{
    let result = try connection.query(sql, parameters)
    return result.rows.map { row in
        var values: [String: String?] = [:]
        for (index, column) in result.columns.enumerated() { values[column] = row.text(index) }
        return values
    }
}

func scalarInt(_ connection: Connection, _ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> Int {
    try connection.query(sql, parameters).scalar(as: Int.self)
}

/// Runs `body` with a fresh simulator and database, and tears both down whatever happens.
func withFixture<T>(
    requireLogin: Bool = false, accounts: [SimulatorAccount]? = nil, _ body: (CollectorFixture) async throws -> T
) async throws -> T {
    let fixture = try await CollectorFixture.make(requireLogin: requireLogin, accounts: accounts)
    do {
        let result = try await body(fixture)
        await fixture.tearDown()
        return result
    } catch {
        await fixture.tearDown()
        throw error
    }
}
