import Foundation
import GalaxyCore
import GalaxyTestSupport
import Testing

/// galaxyd under a (fake) journal: structured entries through sd_journal_sendv, so one run is one filter away.
@Suite(.serialized) struct JournalEntryTests {
    @Test(.enabled(if: FakeJournal.isAvailable))
    func underTheJournalARunsEntriesCarryItsIdsAndMessageIDs() async throws {
        let journal = try FakeJournal()
        defer { journal.close() }
        let daemon = try await DaemonHarness(behaviours: ["price": .exit1], launcher: journal.launcher)
        defer { daemon.finish() }

        let id = try await daemon.runDaily(date: "2026-03-06")
        #expect(try await daemon.waitForRun(id).state == "partial")
        try await waitUntil("the run's end is in the journal", timeout: .seconds(10)) {
            journal.entries.contains {
                $0["MESSAGE_ID"] == LogMessageID.runFinished.rawValue && $0["RUN_ID"] == "\(id)"
            }
        }
        let entries = journal.entries
        let run = entries.filter { $0["RUN_ID"] == "\(id)" }
        let started = try #require(run.first { $0["MESSAGE_ID"] == LogMessageID.runStarted.rawValue })
        #expect(started["MESSAGE"]?.hasPrefix("run started") == true)
        #expect(started["PRIORITY"] == "5")
        #expect(started["SYSLOG_IDENTIFIER"] == "galaxyd")
        // The collector's own line, forwarded with the task it belongs to.
        let line = try #require(run.first { $0["MESSAGE"]?.hasPrefix("fake collector price mode exit1") == true })
        #expect(line["DATASET"] == "price")
        #expect(line["TASK_ID"].flatMap(Int.init) != nil)
        #expect(run.filter { $0["DATASET"] == "stock" }.count >= 2, "stock's start, line and end")
        let names = Set(entries.flatMap(\.keys))
        #expect(names.allSatisfy { $0.first!.isLetter && $0.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" } },
                "journal field names: \(names.sorted())")
        #expect(!entries.contains { $0.values.contains { $0.contains(daemon.database.url) } })

        // Nothing went to stderr as well, and the collectors were told to write to the journal themselves.
        #expect(!daemon.output.all.contains { $0.contains("run started") }, "\(daemon.output.tail)")
        let environment = try String(contentsOfFile: daemon.directory.file("env-price.txt"), encoding: .utf8)
            .split(separator: "\n")
        #expect(environment.contains("GALAXY_LOG_FORMAT=native"))
        #expect(environment.contains("GALAXY_RUN_ID=\(id)"))
        #expect(environment.contains { $0.hasPrefix("GALAXY_TASK_ID=") })
    }
}
