import GalaxyCore
import GalaxySystemd
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct JournalLogHandlerTests {
    final class Lines: Sendable {
        let value = Mutex<[String]>([])
        func append(_ line: String) { value.withLock { $0.append(line) } }
    }

    @Test func journalLinesCarryPriorityPrefixesAndMetadata() {
        let lines = Lines()
        var logger = Logger(label: "galaxyd") {
            JournalLogHandler(label: $0, level: .debug, format: .priorityPrefixed, output: lines.append)
        }
        logger[metadataKey: "run"] = "42"
        logger.error("collector failed", metadata: ["collector": "price", "range": "2024-01-02"])
        logger.info("multi\nline")
        logger.debug("detail")
        #expect(lines.value.withLock { $0 } == [
            "<3>galaxyd: collector failed collector=price range=2024-01-02 run=42\n",
            "<6>galaxyd: multi ⏎ line run=42\n",
            "<7>galaxyd: detail run=42\n",
        ])
    }

    @Test func plainLinesHaveATimestampAndRespectTheLevel() throws {
        let lines = Lines()
        let logger = Logger(label: "krx") { JournalLogHandler(label: $0, level: .info, format: .plain, output: lines.append) }
        logger.debug("hidden")
        logger.warning("shown")
        let all = lines.value.withLock { $0 }
        #expect(all.count == 1)
        let line = try #require(all.first)
        #expect(line.hasSuffix(" warning krx: shown\n"))
        #expect(line.hasPrefix("20"))  // RFC 3339 timestamp first
    }
}

@Suite struct JournalFieldTests {
    @Test func metadataBecomesJournalFields() {
        let fields = JournalLogHandler.journalFields(
            label: "galaxyd", level: .warning, message: "run partial\nsecond line",
            metadata: [
                "run": "42", "task": "7", "collector": "price", "date": "2024-03-14", "peak_rss_kib": "900",
                "message_id": "\(LogMessageID.runFinished)", "peer-pid": "12", "_private": "x", "1st": "y",
                "message": "shadow", "password": "\(Secret("hunter2"))",
            ])
        #expect(fields == [
            "MESSAGE=run partial\nsecond line 1st=y _private=x collector=price date=2024-03-14 message=shadow "
                + "password=<redacted> peak_rss_kib=900 peer-pid=12 run=42 task=7",
            "PRIORITY=4", "SYSLOG_IDENTIFIER=galaxyd",
            "DATASET=price", "GALAXY_MESSAGE=shadow", "MESSAGE_ID=\(LogMessageID.runFinished)", "PASSWORD=<redacted>",
            "PEAK_RSS_KIB=900", "PEER_PID=12", "PRIVATE=x", "RUN_ID=42", "ST=y", "TASK_ID=7", "TRADE_DATE=2024-03-14",
        ])
    }

    @Test func aMessageIDThatIsNoneOfOursIsDropped() {
        let fields = JournalLogHandler.journalFields(
            label: "galaxyd", level: .info, message: "m", metadata: ["message_id": "not-an-id"])
        #expect(fields == ["MESSAGE=m", "PRIORITY=6", "SYSLOG_IDENTIFIER=galaxyd"])
    }

    @Test func plainLinesNeverShowTheMessageID() {
        let lines = JournalLogHandlerTests.Lines()
        let logger = Logger(label: "galaxyd") {
            JournalLogHandler(label: $0, level: .info, format: .priorityPrefixed, output: lines.append)
        }
        logger.notice("run started", metadata: ["run": "1", "message_id": "\(LogMessageID.runStarted)"])
        #expect(lines.value.withLock { $0 } == ["<5>galaxyd: run started run=1\n"])
    }

    @Test func journalStreamCountsOnlyForTheDescriptorItNames() throws {
        let path = "/tmp/galaxy-journal-stream-\(getpid())"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        var status = stat()
        #expect(fstat(fd, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(JournalStream.isJournal(fd, environment: ["JOURNAL_STREAM": matching]))
        #expect(!JournalStream.isJournal(fd, environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"]))
        #expect(!JournalStream.isJournal(fd, environment: ["JOURNAL_STREAM": "garbage"]))
        #expect(!JournalStream.isJournal(fd, environment: [:]))
        // Set but naming another file (stderr redirected under systemd): plain lines, not journal entries.
        #expect(JournalLogHandler.Format.detect(environment: ["JOURNAL_STREAM": "1:1"]) == .plain)
        #expect(JournalLogHandler.Format.detect(environment: ["GALAXY_LOG_FORMAT": "journal"]) == .priorityPrefixed)
        #expect(JournalLogHandler.Format.detect(environment: ["GALAXY_LOG_FORMAT": "native"]) == .native)
    }
}
