import Foundation
import GalaxyCore
import Testing

@testable import GalaxyKRX

private func temporaryPath(_ name: String) throws -> (path: String, cleanup: () -> Void) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("krx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return (directory.appendingPathComponent(name).path, { try? FileManager.default.removeItem(at: directory) })
}

/// Runs `body` on `count` real threads at once and waits for all of them.
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

@Suite("Rate limiter")
struct RateLimiterTests {
    @Test("requests in one process go at the limit on average, jittered within their slots, never a burst")
    func inProcess() throws {
        let limiter = RateLimiter(rate: 50, jitter: 0.5)
        let times = try (0..<41).map { _ in try limiter.acquire() }
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { $0 > 0.01 })  // at least (1 - jitter) / rate apart
        let achieved = Double(gaps.count) / (times.last! - times.first!)
        #expect(abs(achieved - 50) / 50 < 0.02)  // the limit itself, not a jitter-lowered fraction of it
        #expect(gaps.max()! - gaps.min()! > 0.002)  // not a metronome
    }

    @Test("rate 0 is unlimited")
    func unlimited() throws {
        let limiter = RateLimiter(rate: 0)
        let started = wallClock()
        for _ in 0..<100 { try limiter.acquire() }
        #expect(wallClock() - started < 0.5)
    }

    @Test("two limiters on one shared file (separate descriptors, separate threads) share one budget")
    func sharedFileAcrossInstances() throws {
        let (path, cleanup) = try temporaryPath("rate")
        defer { cleanup() }
        let rate = 40.0
        let times = LockedValue<[Double]>([])
        onThreads(2) { _ in
            let limiter = RateLimiter(rate: rate, jitter: 0.1, sharedStatePath: path)
            for _ in 0..<8 {
                guard let sent = try? limiter.acquire() else { return }
                times.withLock { $0.append(sent) }
            }
        }
        let sorted = times.withLock { $0 }.sorted()
        #expect(sorted.count == 16)
        let gaps = zip(sorted, sorted.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { $0 >= 0.9 / rate - 1e-6 })  // (1 - jitter) / rate
        #expect(Double(gaps.count) / (sorted.last! - sorted.first!) < rate * 1.02)
        // The file holds the last slot, which the last request went out within.
        let stored = Double(GalaxyConfiguration.readSmallFile(path)?.krxTrimmed ?? "") ?? 0
        #expect(stored <= sorted.last! + 1e-5 && stored >= sorted.last! - 0.1 / rate - 1e-5)
    }

    @Test("two processes share the budget through the file (a python child taking slots under flock)")
    func sharedFileAcrossProcesses() throws {
        let (path, cleanup) = try temporaryPath("rate")
        defer { cleanup() }
        // The child follows the file protocol without jitter: lock, read the last slot, sleep until one interval
        // after it, write its own slot (the moment it woke), unlock, send.
        let script = """
            import fcntl, os, sys, time
            path, interval, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
            for _ in range(n):
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                text = os.pread(fd, 64, 0).decode().strip()
                last = float(text) if text else 0.0
                time.sleep(max(0, last + interval - time.time()))
                sent = time.time()
                os.ftruncate(fd, 0)
                os.pwrite(fd, ("%.6f\\n" % sent).encode(), 0)
                os.close(fd)
                print("%.6f" % sent, flush=True)
            """
        let rate = 40.0
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        child.arguments = ["-c", script, path, "\(1 / rate)", "8"]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let limiter = RateLimiter(rate: rate, jitter: 0, sharedStatePath: path)
        var ours: [Double] = []
        for _ in 0..<8 { ours.append(try limiter.acquire()) }
        let theirs = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").compactMap { Double($0) }
        child.waitUntilExit()
        #expect(theirs.count == 8)
        let all = (ours + theirs).sorted()
        let gaps = zip(all, all.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { $0 >= 1 / rate - 2e-6 })  // send times as written, to the microsecond
        #expect(all.last! - all.first! >= 15 / rate - 1e-4)
    }

    @Test("a last time far in the future (clock stepped back, corrupt file) is not honoured")
    func clampsFuture() {
        #expect(RateLimiter.slot(now: 1000, last: 1_000_000, interval: 2) == 1000)
        #expect(RateLimiter.slot(now: 1000, last: 999, interval: 2) == 1001)
        #expect(RateLimiter.slot(now: 1000, last: .nan, interval: 2) == 1000)
        #expect(RateLimiter.slot(now: 1000, last: 900, interval: 2) == 1000)  // idle time is not saved up
    }

    @Test("GALAXY_RATE_FILE selects the shared file")
    func environment() {
        #expect(RateLimiter.fromEnvironment(rate: 0.5, environment: ["GALAXY_RATE_FILE": "/run/x"]).sharedStatePath == "/run/x")
        #expect(RateLimiter.fromEnvironment(rate: 0.5, environment: [:]).sharedStatePath == nil)
        #expect(RateLimiter(rate: 0.5).interval == 2)
    }
}

@Suite("Circuit breaker and stores")
struct BreakerTests {
    @Test("open, expire, clear")
    func lifecycle() throws {
        let store = InMemoryBreakerStore()
        let breaker = CircuitBreaker(source: .portal, store: store, openDuration: 60)
        try breaker.check()
        let now = Date()
        let error = breaker.trip(reason: "block page", now: now)
        guard case .blocked(let until, _) = error else {
            Issue.record("trip must report blocked")
            return
        }
        #expect(until == now.addingTimeInterval(60))
        #expect(throws: KRXError.self) { try breaker.check(now: now.addingTimeInterval(59)) }
        try breaker.check(now: now.addingTimeInterval(61))
        #expect(try breaker.state(now: now.addingTimeInterval(61)) == nil)
        // A fresh breaker over the same store (another process) sees the state.
        let other = CircuitBreaker(source: .portal, store: store)
        #expect(throws: KRXError.self) { try other.check(now: now) }
        let openapi = CircuitBreaker(source: .openapi, store: store)
        try openapi.check(now: now)
        try store.clear(source: "portal")
        try CircuitBreaker(source: .portal, store: store).check(now: now)
    }

    @Test("the file store survives a new instance and keeps the later deadline")
    func fileStore() throws {
        let (path, cleanup) = try temporaryPath("breaker.json")
        defer { cleanup() }
        let store = FileBreakerStore(path: path)
        #expect(try store.load(source: "portal") == nil)
        let later = Date().addingTimeInterval(7200)
        try store.open(source: "portal", until: later, reason: "403 block")
        try store.open(source: "portal", until: Date().addingTimeInterval(60), reason: "earlier")
        let loaded = try #require(try FileBreakerStore(path: path).load(source: "portal"))
        #expect(loaded.reason == "403 block")
        #expect(abs(loaded.openUntil.timeIntervalSince(later)) < 0.001)
    }

    @Test("the blocked error names the deadline in UTC")
    func message() {
        let error = KRXError.blocked(until: Date(timeIntervalSince1970: 1_780_000_000), reason: "block page")
        #expect(error.description.contains("2026-05-28T20:26:40Z"))
    }
}

@Suite("Open API client over real HTTP")
struct OpenAPIClientTests {
    let day = TradeDate(year: 2024, month: 1, day: 5)!

    private func client(
        _ fake: FakeKRX, key: String? = "open-api-key-42", quota: OpenAPIQuota = OpenAPIQuota(),
        today: TradeDate = TradeDate(year: 2024, month: 1, day: 8)!
    ) throws -> KRXOpenAPIClient {
        let configuration = testConfiguration(
            fake, credentials: KRXCredentials(authKey: key.map(Secret.init)), today: today)
        let (logger, _) = RecordingLogHandler.logger()
        let transport = KRXTransport(
            http: try CurlHTTPClient(configuration: configuration.http), limiter: RateLimiter(rate: 0),
            breaker: CircuitBreaker(source: .openapi, store: InMemoryBreakerStore()), retry: configuration.retry,
            logger: logger)
        return KRXOpenAPIClient(configuration: configuration, transport: transport, quota: quota, logger: logger)
    }

    @Test("prices: three markets with AUTH_KEY, KONEX may be empty")
    func prices() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let api = try client(fake)
        guard case .rows(.prices(let rows)) = try api.fetch(.price, on: day) else {
            Issue.record("expected prices")
            return
        }
        #expect(rows.count == 6)
        #expect(Set(rows.compactMap(\.market)) == ["STK", "KSQ"])
        #expect(fake.openAPIRequests.map(\.uri) == [
            "/svc/apis/sto/stk_bydd_trd?basDd=20240105", "/svc/apis/sto/ksq_bydd_trd?basDd=20240105",
            "/svc/apis/sto/knx_bydd_trd?basDd=20240105",
        ])
        #expect(fake.openAPIRequests.allSatisfy { $0.method == "GET" && $0.header("AUTH_KEY") == "open-api-key-42" })
    }

    @Test("an all-empty day is no_session; ETF prices parse")
    func closedAndETF() throws {
        let fake = try FakeKRX.start {
            for api in ["sto/stk_bydd_trd", "sto/ksq_bydd_trd"] { $0.bodies[api] = #"{"OutBlock_1":[]}"# }
        }
        defer { fake.shutdown() }
        let api = try client(fake)
        guard case .noSession = try api.fetch(.price, on: day) else {
            Issue.record("expected no session")
            return
        }
        guard case .rows(.etfPrices(let etfs)) = try api.fetch(.etfPrice, on: day) else {
            Issue.record("expected ETF prices")
            return
        }
        #expect(etfs.map(\.ticker) == ["069500", "265690"])
    }

    @Test("T-1: today is not asked for; unsupported datasets and a missing key are clear errors")
    func refusals() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let api = try client(fake, today: day)
        #expect(throws: KRXError.notYetPublished(date: day, firstDate: day.next)) { try api.fetch(.price, on: day) }
        #expect(throws: KRXError.unsupported(dataset: .valuation, source: .openapi)) {
            try api.fetch(.valuation, on: day.previous)
        }
        #expect(throws: KRXError.missingCredentials(variable: "KRX_AUTH_KEY")) {
            try client(fake, key: nil).fetch(.price, on: day)
        }
        #expect(fake.openAPIRequests.isEmpty)
    }

    @Test("401 Unauthorized Key is an authentication error that says how to fix it, without the key")
    func unauthorized() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        do {
            _ = try client(fake, key: "wrong-key-123").fetch(.price, on: day)
            Issue.record("must fail")
        } catch let error as KRXError {
            guard case .authenticationFailed(let code, let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == "401" && message.contains("Unauthorized Key") && message.contains("KRX_AUTH_KEY"))
            #expect(!error.description.contains("wrong-key-123"))
        }
        #expect(fake.openAPIRequests.count == 1)
    }

    @Test("KRX's 429 with a Retry-After until midnight is the quota, not a wait")
    func serverQuota() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        fake.fault(TestHTTPServer.Response(
            status: 429, headers: [("Retry-After", "40000")],
            body: #"{"respMsg":"Daily call limit exceeded","respCode":"429"}"#))
        let started = Date()
        #expect(throws: KRXError.quotaExhausted(limit: 10_000)) { try client(fake).fetch(.etfPrice, on: day) }
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(fake.openAPIRequests.count == 1)
    }

    @Test("the daily quota stops calls before KRX sees them, shared through a file")
    func quota() throws {
        let fake = try FakeKRX.start()
        defer { fake.shutdown() }
        let (path, cleanup) = try temporaryPath("quota")
        defer { cleanup() }
        let api = try client(fake, quota: OpenAPIQuota(limit: 4, path: path))
        _ = try api.fetch(.price, on: day)  // 3 calls
        #expect(throws: KRXError.quotaExhausted(limit: 4)) { try api.fetch(.price, on: day) }  // 1 more, then spent
        #expect(fake.openAPIRequests.count == 4)
        let other = OpenAPIQuota(limit: 4, path: path)
        #expect(other.used() == 4)
        #expect(throws: KRXError.quotaExhausted(limit: 4)) { try other.consume() }
        // The next day in Seoul starts from zero.
        try other.consume(now: wallClock() + 86_400)
        #expect(other.used(now: wallClock() + 86_400) == 1)
    }
}

@Suite("Wiring from galaxy's configuration")
struct WiringTests {
    @Test("KRXSources.make picks the source per dataset, with credentials files and the shared files galaxyd sets")
    func make() throws {
        let (directory, cleanup) = try temporaryPath("credentials")
        defer { cleanup() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "member-from-file\n".write(toFile: directory + "/krx-id", atomically: true, encoding: .utf8)
        try "pw-from-file\n".write(toFile: directory + "/krx-pw", atomically: true, encoding: .utf8)
        try "key-from-file\n".write(toFile: directory + "/krx-auth-key", atomically: true, encoding: .utf8)
        let environment = [
            "GALAXY_SOURCE": "portal", "GALAXY_SOURCE_PRICE": "openapi", "GALAXY_PORTAL_URL": "http://127.0.0.1:9/",
            "GALAXY_OPENAPI_URL": "http://127.0.0.1:9", "GALAXY_RATE": "2", "CREDENTIALS_DIRECTORY": directory,
            "KRX_ID": "member-from-env", "GALAXY_RATE_FILE": directory + "/rate",
            "GALAXY_OPENAPI_QUOTA_FILE": directory + "/quota", "GALAXY_SESSION_FILE": directory + "/session",
        ]
        let configuration = try GalaxyConfiguration(environment: environment)
        let (logger, _) = RecordingLogHandler.logger()
        let store = InMemoryBreakerStore()
        let price = try KRXSources.make(
            for: .price, configuration: configuration, breakerStore: store, logger: logger, environment: environment)
        let valuation = try KRXSources.make(
            for: .valuation, configuration: configuration, breakerStore: store, logger: logger,
            environment: environment)
        let api = try #require(price as? KRXOpenAPIClient)
        let web = try #require(valuation as? KRXPortalClient)
        #expect(api.kind == .openapi && web.kind == .portal)
        #expect(api.quota.path == directory + "/quota")
        #expect(api.transport.limiter.sharedStatePath == directory + "/rate" && api.transport.limiter.rate == 2)
        #expect(web.configuration.portalURL == "http://127.0.0.1:9")
        #expect(web.configuration.sessionFile == directory + "/session")
        #expect(web.configuration.credentials.memberID == "member-from-file")  // the credential file wins
        #expect(web.configuration.credentials.memberPassword?.revealed == "pw-from-file")
        #expect(api.configuration.credentials.authKey?.revealed == "key-from-file")
        #expect(web.configuration.http.verifyTLS)
        #expect(!api.datasets.contains(.valuation) && web.datasets.count == 6)
    }
}
