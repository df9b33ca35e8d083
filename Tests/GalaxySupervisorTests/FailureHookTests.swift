import Foundation
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
@testable import GalaxySupervisor
import GalaxySystemd
import GalaxyTestSupport
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `GALAXY_ON_FAILURE` against a real galaxyd and real hook processes: what the hook is told, and that a hook that
/// hangs, floods its output or piles up never holds galaxyd up.
@Suite(.serialized) struct FailureHookTests {
    /// A hook that writes its stdin and environment into the directory named by its first argument.
    static func recordingHook(in directory: TemporaryDirectory) throws -> String {
        try directory.script("record-event", """
            #!/bin/sh
            n=$(date +%s%N)
            cat > "$1/event-$n.tmp" && mv "$1/event-$n.tmp" "$1/event-$n.json"
            env > "$1/env-$n.txt"
            """)
    }

    static func files(in directory: TemporaryDirectory, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(suffix) }.sorted()
            .map(directory.file)
    }

    @Test func aFailedRunTellsTheHookOnceWithTheRunAsJSON() async throws {
        let events = try TemporaryDirectory(prefix: "hook")
        defer { events.remove() }
        // The directory is one word though it is quoted: the command is split like ExecStart=, never by a shell.
        let hook = try Self.recordingHook(in: events)
        let daemon = try await DaemonHarness(
            behaviours: ["stock": .ok], default: .exit1,
            environment: ["GALAXY_ON_FAILURE": "\(hook) \"\(events.path)\""])
        defer { daemon.finish() }

        let id = try await daemon.runDaily(date: "2026-03-06")
        let run = try await daemon.waitForRun(id)
        #expect(run.state == "partial")
        try await waitUntil("the hook's exit is logged", timeout: .seconds(20)) {
            daemon.output.all.contains { $0.contains("failure hook exited with status 0") }
        }
        let files = try Self.files(in: events, suffix: ".json")
        try #require(files.count == 1, "one event for one run: \(files)\n\(daemon.output.tail)")
        let text = try String(contentsOfFile: files[0], encoding: .utf8)
        let json = try JSONValue(parsing: text)
        #expect(json["kind"]?.stringValue == "run_partial")
        #expect(json["runId"]?.integerValue == id)
        #expect(json["runKind"]?.stringValue == "daily")
        #expect(json["outcome"]?.stringValue == "partial")
        #expect(json["summary"]?.stringValue?.contains("daily run \(id) partial") == true)
        #expect(json["time"]?.stringValue?.hasPrefix("20") == true)
        #expect(json["galaxyd"]?["pid"]?.integerValue == Int64(daemon.process.pid))
        let datasets = json["datasets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(datasets == ["stock", "sector", "price", "valuation", "etf", "etf_price"])
        let failed = json["failedDatasets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Set(failed) == Set(["sector", "price", "valuation", "etf", "etf_price"]))
        #expect(json["run"]?["id"]?.integerValue == id)
        #expect(json["run"]?["tasks"]?.arrayValue?.count == 6)
        #expect(json["breaker"] == nil && json["schedule"] == nil)
        let event = try JSONDecoder().decode(FailureEvent.self, from: Data(text.utf8))
        #expect(event.run?.state == "partial")

        let environment = try String(contentsOfFile: try #require(try Self.files(in: events, suffix: ".txt").first),
                                     encoding: .utf8)
        #expect(environment.contains("GALAXY_EVENT=run_partial"))
        #expect(!environment.contains("GALAXY_DATABASE_URL"), "the hook gets no configuration, no secrets")
    }

    @Test func aHookThatHangsIsStoppedAtItsTimeoutWhileGalaxydAnswers() async throws {
        let events = try TemporaryDirectory(prefix: "hook")
        defer { events.remove() }
        // The first call hangs with a child of its own; later calls return at once.
        let hook = try events.script("hang", """
            #!/bin/sh
            if [ -e "$1/hook.pid" ]; then echo second >> "$1/later"; exit 0; fi
            sleep 1000 &
            echo $! > "$1/sleep.pid"
            echo $$ > "$1/hook.pid"
            wait
            """)
        let daemon = try await DaemonHarness(
            default: .exit1, extraArguments: ["--hook-timeout", "3"],
            environment: ["GALAXY_ON_FAILURE": "\(hook) \(events.path)"])
        defer { daemon.finish() }

        let first = try await daemon.runDaily(date: "2026-03-05")
        #expect(try await daemon.waitForRun(first).state == "failed")
        try await waitUntil("the hook runs", timeout: .seconds(10)) {
            FileManager.default.fileExists(atPath: events.file("hook.pid"))
        }
        // While the hook hangs: status answers at once, and another run starts, fails and queues its event.
        var slowest = Duration.zero
        for _ in 0..<10 {
            let start = ContinuousClock.now
            _ = try await daemon.status()
            slowest = max(slowest, .now - start)
        }
        #expect(slowest < .seconds(1), "status took \(slowest) while the hook hung")
        let second = try await daemon.runDaily(date: "2026-03-06")
        #expect(try await daemon.waitForRun(second).state == "failed")

        try await waitUntil("the hook is stopped", timeout: .seconds(15)) {
            daemon.output.all.contains { $0.contains("failure hook timed out, killed by signal") }
        }
        let sleeper = try #require(Int32(String(contentsOfFile: events.file("sleep.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        try await waitUntil("the hook's own child is gone too", timeout: .seconds(5)) { !Self.isRunning(sleeper) }
        try await waitUntil("the queued event runs next", timeout: .seconds(10)) {
            FileManager.default.fileExists(atPath: events.file("later"))
        }
        #expect(daemon.process.exit == nil)
    }

    @Test func aBreakerOpeningIsReportedOnce() async throws {
        let events = try TemporaryDirectory(prefix: "hook")
        defer { events.remove() }
        let hook = try Self.recordingHook(in: events)
        let daemon = try await DaemonHarness(environment: ["GALAXY_ON_FAILURE": "\(hook) \(events.path)"])
        defer { daemon.finish() }
        // What a collector that met a block page writes (GalaxyPostgres' BreakerStore), seen on galaxyd's status beat.
        let connection = try daemon.database.connect()
        defer { connection.close() }
        _ = try connection.query(
            "INSERT INTO source_breakers (source, opened_at, open_until, reason) "
                + "VALUES ('portal', now(), now() + interval '24 hours', 'block page (test)')")
        try await waitUntil("the breaker event", timeout: .seconds(15)) {
            try !Self.files(in: events, suffix: ".json").isEmpty
        }
        try await Task.sleep(for: .seconds(2.5))  // another status beat: the same opening is not reported again
        let files = try Self.files(in: events, suffix: ".json")
        #expect(files.count == 1)
        let json = try JSONValue(parsing: try String(contentsOfFile: files[0], encoding: .utf8))
        #expect(json["kind"]?.stringValue == "breaker_opened")
        #expect(json["breaker"]?["source"]?.stringValue == "portal")
        #expect(json["breaker"]?["reason"]?.stringValue == "block page (test)")
        #expect(daemon.output.all.contains { $0.contains("KRX circuit breaker opened") })
    }

    /// Alive and not a zombie waiting for its reaper.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// In process: events pile up behind a hook that floods its output and hangs. Queuing returns at once, eight
    /// wait, the rest are dropped with a log line, and the flood costs a counter.
    @Test func eventsBeyondTheQueueAreDroppedAndAFloodIsNotLogged() async throws {
        let directory = try TemporaryDirectory(prefix: "hook")
        defer { directory.remove() }
        let hook = try directory.script("flood", """
            #!/bin/sh
            echo run >> "\(directory.path)/runs"
            head -c 4000000 /dev/zero | tr '\\0' 'x' | fold -w 100
            exec sleep 1000
            """)
        let configuration = try GalaxyConfiguration(environment: ["GALAXY_ON_FAILURE": hook])
        var settings = SupervisorSettings(
            configuration: configuration, collectorPath: "/bin/false", runtimeDirectory: directory.path)
        settings.hookTimeout = .milliseconds(300)
        settings.terminationGrace = .milliseconds(200)
        let lines = Lines()
        let logger = Logger(label: "galaxyd") {
            JournalLogHandler(label: $0, level: .debug, format: .plain, output: lines.append)
        }
        let hooks = FailureHooks(settings: settings, inherited: [:], logger: logger)
        let start = ContinuousClock.now
        for number in 0..<12 {
            hooks.runMissed(
                job: "daily", scheduledAt: Date(), date: try #require(TradeDate("2026-03-06")), runId: Int64(number),
                reason: "test")
        }
        #expect(ContinuousClock.now - start < .milliseconds(200))
        try await waitUntil("the queue drains", timeout: .seconds(20)) {
            lines.all.filter { $0.contains("failure hook timed out") }.count == 9
        }
        let all = lines.all
        // One running, eight waiting: three of twelve dropped.
        #expect(all.filter { $0.contains("events already waiting; dropped") }.count == 3)
        #expect(try String(contentsOfFile: directory.file("runs"), encoding: .utf8).split(separator: "\n").count == 9)
        #expect(all.filter { $0.contains("failure hook: xxx") }.count <= 9 * FailureHooks.loggedLines)
        #expect(all.contains { $0.contains("output_lines_not_logged=") && !$0.contains("output_lines_not_logged=0") })
    }

    final class Lines: Sendable {
        private let value = Mutex<[String]>([])
        func append(_ line: String) { value.withLock { $0.append(line) } }
        var all: [String] { value.withLock { $0 } }
    }
}
