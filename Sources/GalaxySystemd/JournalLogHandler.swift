import FoundationEssentials
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes one line per message to stderr, in the form journald understands.
///
/// Under systemd (`JOURNAL_STREAM` set) each line starts with an sd-daemon priority prefix (`<3>` error … `<7>`
/// debug), so `journalctl -p warning` works and nothing is timestamped twice. Elsewhere lines carry an RFC 3339
/// timestamp and the level in words. Metadata is appended as sorted `key=value` pairs, so every line about a task can
/// name its run id, collector and range.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let journal: Bool
    private let output: @Sendable (String) -> Void

    /// - Parameters:
    ///   - journal: whether stderr is connected to the journal; by default, whether `JOURNAL_STREAM` is set.
    ///   - output: where finished lines go; stderr, unbuffered, by default.
    public init(
        label: String, level: Logger.Level = .info, journal: Bool? = nil,
        output: @escaping @Sendable (String) -> Void = JournalLogHandler.writeToStandardError
    ) {
        self.label = label
        self.logLevel = level
        let environment = ProcessInfo.processInfo.environment
        // GALAXY_LOG_FORMAT=journal: galaxyd reads a collector's stderr and needs each line's priority.
        self.journal = journal ?? (environment["JOURNAL_STREAM"] != nil || environment["GALAXY_LOG_FORMAT"] == "journal")
        self.output = output
    }

    /// One `write(2)` per line, so lines from concurrent loggers never interleave mid-line.
    public static func writeToStandardError(_ line: String) {
        line.utf8CString.withUnsafeBufferPointer { buffer in
            _ = write(2, buffer.baseAddress, buffer.count - 1)
        }
    }

    /// Bootstraps swift-log with this handler, at the level named by `GALAXY_LOG_LEVEL` (default info).
    public static func bootstrap(label: String) {
        let name = ProcessInfo.processInfo.environment["GALAXY_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: name ?? .info) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(event.message)".replacing("\n", with: " ⏎ ")
        let body = pairs.isEmpty ? text : "\(text) \(pairs)"
        let line: String
        if journal {
            line = "<\(Self.priority(event.level))>\(label): \(body)\n"
        } else {
            line = "\(Self.timestamp()) \(event.level) \(label): \(body)\n"
        }
        output(line)
    }

    /// sd-daemon(3) priorities.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    }
}
