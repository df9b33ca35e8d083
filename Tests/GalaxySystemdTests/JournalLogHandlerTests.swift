import GalaxySystemd
import Logging
import Synchronization
import Testing

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
