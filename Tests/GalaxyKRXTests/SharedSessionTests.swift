import Foundation
import GalaxyCore
import KRXSimulator
import Testing

@testable import GalaxyKRX

/// KRX allows one member session per account. galaxyd's collectors share theirs through `GALAXY_SESSION_FILE`; two
/// clients logging in separately would end each other's sessions on every turn.
@Suite struct SharedSessionTests {
    let account = SimulatorAccount(id: "shared", password: "shared-password")
    let day = TradeDate(year: 2024, month: 3, day: 14)!

    func client(_ sim: KRXSimulator, sessionFile: String?) throws -> KRXPortalClient {
        try KRXPortalClient(
            configuration: KRXClientConfiguration(
                portalURL: sim.baseURL, openAPIURL: sim.baseURL,
                credentials: KRXCredentials(memberID: account.id, memberPassword: Secret(account.password)),
                http: HTTPClientConfiguration(connectTimeout: 2, totalTimeout: 5),
                retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.01, maxDelay: 0.05, maxRetryAfter: 5),
                sessionFile: sessionFile, today: { TradeDate(year: 2024, month: 3, day: 15)! }),
            limiter: RateLimiter(rate: 0), breakerStore: InMemoryBreakerStore(),
            logger: RecordingLogHandler.logger().0)
    }

    func simulator() async throws -> KRXSimulator {
        try await KRXSimulator.start(SimulatorConfiguration(
            seed: 5, requireLogin: true, accounts: [account], clock: .fixed(SimDate(year: 2024, month: 3, day: 15)!),
            stockCount: 60, etfCount: 10, threads: 1))
    }

    /// Alternating requests of two clients, as two collector processes of one galaxyd make them.
    func alternate(_ a: KRXPortalClient, _ b: KRXPortalClient) async throws {
        let day = self.day
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                continuation.resume(with: Result {
                    for _ in 0..<3 {
                        _ = try a.fetch(.price, on: day)
                        _ = try b.fetch(.etfPrice, on: day)
                    }
                })
            }.start()
        }
    }

    @Test func clientsSharingTheSessionFileLogInOnce() async throws {
        let sim = try await simulator()
        defer { Task { try? await sim.shutdown() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("session-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("portal.session").path
        let (a, b) = (try client(sim, sessionFile: file), try client(sim, sessionFile: file))
        try await alternate(a, b)
        #expect(sim.stats().count("login/MDCCOMS001D1") == 1, "one login for both clients")
        #expect(sim.stats().count("portal/MDCSTAT01501") == 3, "no LOGOUT cost a retry")
        // The file holds the session: private to galaxyd's user.
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // Logging out one client leaves the shared session alone.
        a.logout()
        _ = try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try b.fetch(.price, on: self.day) }) }.start()
        }
        #expect(sim.stats().count("login/MDCCOMS001D1") == 1)
    }

    @Test func clientsWithSessionsOfTheirOwnEndEachOthers() async throws {
        let sim = try await simulator()
        defer { Task { try? await sim.shutdown() } }
        let (a, b) = (try client(sim, sessionFile: nil), try client(sim, sessionFile: nil))
        try await alternate(a, b)
        // Every turn meets LOGOUT and logs in again: the storm the shared file prevents.
        #expect(sim.stats().count("login/MDCCOMS001D1") >= 5)
    }
}
