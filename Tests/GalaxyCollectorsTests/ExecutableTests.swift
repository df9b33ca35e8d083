import Foundation
import GalaxyCollectors
import GalaxyCore
import GalaxyPostgres
import GalaxySystemd
import GalaxyTestSupport
import KRXSimulator
import Synchronization
import Testing

/// The real `galaxy-collector` executable as galaxyd spawns it: a notify socket for READY/STATUS/progress/WATCHDOG,
/// stdin as the supervisor's lifeline, exit statuses as the contract.
@Suite("galaxy-collector executable")
struct ExecutableTests {
    @Test("reports READY, STATUS with X_GALAXY_PROGRESS per day and WATCHDOG while a slow request runs; exit 0")
    func notifyProtocol() async throws {
        try await withFixture { fixture in
            // Each day's request takes 0.6 s; the heartbeat (WATCHDOG_USEC/2 = 0.1 s) must keep going meanwhile.
            fixture.simulator.faults.add(FaultRule(route: "portal/MDCSTAT01501", fault: .latency(milliseconds: 600)))
            let run = try await CollectorProcess.run(
                ["price", "--from", "2024-03-13", "--to", tradingDay.iso],
                environment: fixture.environment(["WATCHDOG_USEC": "200000"]))
            #expect(run.status == 0, "stderr: \(run.standardError)")

            let messages = run.messages
            let first = try #require(messages.first)
            #expect(first.isReady, "READY=1 comes first: \(first)")
            #expect(first[CollectorProgress.key] == "0/0/0/0/0", "READY before the plan")
            let progress = messages.compactMap { message -> CollectorProgress? in
                guard message.status != nil, !message.isReady, !message.isStopping else { return nil }
                return message[CollectorProgress.key].flatMap { CollectorProgress(value: $0) }
            }
            let expectedRows = [TradeDate("2024-03-13")!, tradingDay].map {
                fixture.simulator.market.stocks(on: $0.sim).count
            }
            #expect(progress.map(\.daysDone) == [0, 1, 2], "the plan, then one report per day")
            #expect(progress.map(\.rows) == [0, expectedRows[0], expectedRows[0] + expectedRows[1]])
            // One trading-day calendar request (MDCSTAT00301) for the range, then one request per day.
            #expect(progress.map(\.requests) == [0, 2, 3])
            #expect(progress.allSatisfy { $0.daysTotal == 2 && $0.daysFailed == 0 })
            #expect(messages.contains { $0.status?.contains("2024-03-13: collected") == true })
            let heartbeats = messages.filter { $0.isWatchdog && $0.assignments.count == 1 }
            #expect(heartbeats.count >= 5, "WATCHDOG=1 every 0.1 s during 1.2 s of requests: \(heartbeats.count)")
            let last = try #require(messages.last)
            #expect(last.isStopping)
            #expect(last.status?.hasPrefix("done") == true)
        }
    }

    @Test(
        "under the journal: one entry per message with the run, task, dataset and trade date as fields",
        .enabled(if: FakeJournal.isAvailable))
    func journalEntries() async throws {
        try await withFixture { fixture in
            let journal = try FakeJournal()
            defer { journal.close() }
            // galaxyd tags its collectors' entries with the run and task they work for.
            let run = try await CollectorProcess.run(
                ["price", "--date", tradingDay.iso],
                environment: fixture.environment(["GALAXY_RUN_ID": "42", "GALAXY_TASK_ID": "7"]),
                launcher: journal.launcher)
            #expect(run.status == 0, "stderr: \(run.standardError)")
            #expect(!run.standardError.contains("day stored"), "entries go to the journal, not stderr as well")
            let stored = try #require(journal.entries.first { $0["MESSAGE"]?.hasPrefix("day stored") == true })
            #expect(stored["SYSLOG_IDENTIFIER"] == "galaxy-collector")
            #expect(stored["PRIORITY"] == "6")
            #expect(stored["RUN_ID"] == "42" && stored["TASK_ID"] == "7")
            #expect(stored["DATASET"] == "price")
            #expect(stored["TRADE_DATE"] == tradingDay.iso)
            #expect(journal.entries.allSatisfy { $0["RUN_ID"] == "42" })
        }
    }

    @Test("--supervised: stdin EOF (the supervisor died) ends the process promptly with 75, nothing written")
    func supervisedStdinEOF() async throws {
        try await withFixture { fixture in
            fixture.simulator.faults.add(FaultRule(route: "portal/MDCSTAT01501", fault: .hang))
            let run = try await CollectorProcess.run(
                ["price", "--date", tradingDay.iso, "--supervised"], environment: fixture.environment(),
                afterReady: { process in process.closeStandardInput() })
            #expect(run.status == CollectorExitCode.temporaryFailure.rawValue, "stderr: \(run.standardError)")
            #expect(run.secondsAfterReady < 5, "exits promptly, not after the request would time out")
            #expect(run.standardError.contains("stdin closed"))
            let connection = try fixture.connect()
            defer { connection.close() }
            #expect(try scalarInt(connection, "SELECT count(*) FROM collection_days") == 0)
        }
    }

    @Test("SIGTERM during a fetch abandons the day (nothing half-written) and exits 1 with days undone")
    func sigtermAbandonsTheDay() async throws {
        try await withFixture { fixture in
            fixture.simulator.faults.add(FaultRule(route: "portal/MDCSTAT01501", fault: .hang))
            let run = try await CollectorProcess.run(
                ["price", "--date", tradingDay.iso], environment: fixture.environment(),
                afterReady: { process in process.signal(SIGTERM) })
            #expect(run.status == CollectorExitCode.partialFailure.rawValue, "stderr: \(run.standardError)")
            #expect(run.secondsAfterReady < 5)
            #expect(run.messages.last?.isStopping == true)
            #expect(run.messages.last?.status?.contains("cancelled") == true)
            let connection = try fixture.connect()
            defer { connection.close() }
            #expect(try scalarInt(connection, "SELECT count(*) FROM collection_days") == 0)
            #expect(try scalarInt(connection, "SELECT count(*) FROM prices") == 0)
        }
    }

    @Test("bad configuration → 78 with one line naming the variable; bad arguments → 64; --help documents exits")
    func configurationAndUsage() async throws {
        try await withFixture { fixture in
            let badRate = try await CollectorProcess.run(
                ["price", "--date", tradingDay.iso], environment: fixture.environment(["GALAXY_RATE": "fast"]))
            #expect(badRate.status == CollectorExitCode.configuration.rawValue)
            let lines = badRate.standardError.split(separator: "\n")
            #expect(lines.count == 1, "\(badRate.standardError)")
            #expect(badRate.standardError.contains("GALAXY_RATE"))
            #expect(badRate.messages.isEmpty, "no READY before the configuration is good")

            let secret = try await CollectorProcess.run(
                ["price", "--date", tradingDay.iso],
                environment: fixture.environment(["GALAXY_SOURCE": "openapi", "KRX_ID": "demo", "KRX_PW": "hunter2"]))
            #expect(secret.status == CollectorExitCode.configuration.rawValue)
            #expect(secret.standardError.contains("KRX_AUTH_KEY"))
            #expect(!secret.standardError.contains("hunter2"))

            let usage = try await CollectorProcess.run(["prices", "--date", tradingDay.iso], environment: [:])
            #expect(usage.status == CollectorExitCode.usage.rawValue)
            let range = try await CollectorProcess.run(["price", "--from", "2024-03-14"], environment: [:])
            #expect(range.status == CollectorExitCode.usage.rawValue)

            let help = try await CollectorProcess.run(["--help"], environment: [:])
            #expect(help.status == 0)
            for code in CollectorExitCode.allCases {
                #expect(help.standardOutput.contains("  \(code.rawValue) "), "--help documents exit \(code.rawValue)")
            }
            #expect(fixture.simulator.stats().requests.isEmpty)
        }
    }
}

/// Spawns `.build/<config>/galaxy-collector` (next to the test bundle) with a `NotifyListener` as its supervisor.
struct CollectorProcess {
    var status: Int32
    var messages: [NotifyMessage]
    var standardOutput: String
    var standardError: String
    /// Seconds from the READY datagram (or the start, without one) to the exit.
    var secondsAfterReady: Double

    /// The running child, for `afterReady`.
    struct Handle: Sendable {
        let process: Process
        let input: Pipe

        func closeStandardInput() { try? input.fileHandleForWriting.close() }
        func signal(_ number: Int32) { kill(process.processIdentifier, number) }
    }

    static var executable: String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var directory = bundle
        // `…/debug/galaxyPackageTests.xctest` is a file on Linux; on other layouts walk up to the build directory.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("galaxy-collector").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return bundle.appendingPathComponent("galaxy-collector").path
    }

    static func run(
        _ arguments: [String], environment: [String: String], launcher: [String] = [],
        afterReady: (@Sendable (Handle) -> Void)? = nil
    ) async throws -> CollectorProcess {
        let socketPath = "/tmp/galaxy-collector-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = try NotifyListener(address: socketPath)
        defer { listener.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher.first ?? executable)
        process.arguments = launcher.isEmpty ? arguments : launcher.dropFirst() + [executable] + arguments
        var childEnvironment = environment
        childEnvironment["NOTIFY_SOCKET"] = socketPath
        childEnvironment["PATH"] = "/usr/bin:/bin"
        process.environment = childEnvironment
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        let started = ContinuousClock.now
        try process.run()
        let handle = Handle(process: process, input: input)

        // Drain stdout/stderr on threads so a chatty child never blocks on a full pipe.
        let standardOutput = Task {
            await onThread { String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        }
        let standardError = Task {
            await onThread { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        }
        let collector = Task { () -> ([NotifyMessage], ContinuousClock.Instant?) in
            var collected: [NotifyMessage] = []
            var readyTime: ContinuousClock.Instant?
            for await message in listener.messages {
                if message["X_TEST_END"] != nil { break }
                collected.append(message)
                if message.isReady, readyTime == nil {
                    readyTime = .now
                    afterReady?(handle)
                }
            }
            return (collected, readyTime)
        }
        var status: Int32 = -1
        for await code in exited.stream { status = code }
        let outText = await standardOutput.value
        let errText = await standardError.value
        // Datagrams the child sent are queued in the socket in order: one of our own marks the end of them.
        _ = try? ServiceNotifier(socket: socketPath).notify(.custom(key: "X_TEST_END", value: "1"))
        let (messages, readyAt) = await collector.value
        let ended = ContinuousClock.now
        let reference = readyAt ?? started
        return CollectorProcess(
            status: status, messages: messages, standardOutput: outText, standardError: errText,
            secondsAfterReady: seconds(ended - reference))
    }
}

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
