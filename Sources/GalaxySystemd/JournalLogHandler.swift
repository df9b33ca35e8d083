internal import CSystemd
import FoundationEssentials
import GalaxyCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler for a daemon under systemd: structured journal entries when stderr is the journal, one line
/// per message on stderr otherwise.
///
/// In the journal (``Format/native``) every message is one `sd_journal_sendv` entry: `MESSAGE`, `PRIORITY`,
/// `SYSLOG_IDENTIFIER`, and a field per metadata key (``journalFields(label:level:message:metadata:)``), so
/// `journalctl RUN_ID=42` shows one run. Elsewhere lines carry an RFC 3339 timestamp and the level in words
/// (``Format/plain``), or an sd-daemon priority prefix (`<3>` error … `<7>` debug, ``Format/priorityPrefixed``) for
/// a supervisor that reads the lines. Metadata is appended to the text as sorted `key=value` pairs.
public struct JournalLogHandler: LogHandler {
    public enum Format: Sendable, Equatable {
        case plain
        case priorityPrefixed
        case native

        /// `GALAXY_LOG_FORMAT` (`plain`, `journal` for priority-prefixed lines, `native`) if set; else `native` when
        /// stderr is the journal's stream (``JournalStream``), else `plain`.
        public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> Format {
            switch environment["GALAXY_LOG_FORMAT"] {
            case "plain": .plain
            case "journal": .priorityPrefixed
            case "native": .native
            default: JournalStream.isJournal(environment: environment) ? .native : .plain
            }
        }
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: Format
    private let output: @Sendable (String) -> Void

    /// - Parameters:
    ///   - format: by default ``Format/detect(environment:)``.
    ///   - output: where finished lines go; stderr, unbuffered, by default. Also the fallback when the journal
    ///     refuses an entry.
    public init(
        label: String, level: Logger.Level = .info, format: Format? = nil,
        output: @escaping @Sendable (String) -> Void = JournalLogHandler.writeToStandardError
    ) {
        self.label = label
        self.logLevel = level
        self.format = format ?? .detect()
        self.output = output
    }

    /// One `write(2)` per line, so lines from concurrent loggers never interleave mid-line.
    public static func writeToStandardError(_ line: String) {
        line.utf8CString.withUnsafeBufferPointer { buffer in
            _ = write(2, buffer.baseAddress, buffer.count - 1)
        }
    }

    /// Bootstraps swift-log with this handler, at the level named by `GALAXY_LOG_LEVEL` (default info).
    public static func bootstrap(
        label: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        let level = environment["GALAXY_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let format = Format.detect(environment: environment)
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level, format: format) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if format == .native,
            Self.send(
                Self.journalFields(label: label, level: event.level, message: "\(event.message)", metadata: merged))
        {
            return
        }
        merged[LogMessageID.metadataKey] = nil
        let text = "\(event.message)".replacing("\n", with: " ⏎ ")
        let body = merged.isEmpty ? text : "\(text) \(Self.pairs(merged))"
        switch format {
        case .plain:
            output("\(Self.timestamp()) \(event.level) \(label): \(body)\n")
        case .priorityPrefixed, .native:
            output("<\(Self.priority(event.level))>\(label): \(body)\n")
        }
    }

    private static func pairs(_ metadata: Logger.Metadata) -> String {
        metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// The journal entry of one message, as `NAME=value` fields.
    ///
    /// `MESSAGE` is the text with its `key=value` pairs (what `journalctl` shows), `PRIORITY` the sd-daemon level,
    /// `SYSLOG_IDENTIFIER` the logger's label. Each metadata key becomes a field of its own: galaxy's keys for a run
    /// (`run`), a task (`task`), a collector (`collector`) and a trade date (`date`) become `RUN_ID`, `TASK_ID`,
    /// `DATASET` and `TRADE_DATE`; a ``LogMessageID`` under `message_id` becomes `MESSAGE_ID`; any other key is
    /// upper-cased with every character outside `[A-Z0-9_]` made `_` and leading non-letters dropped (journald
    /// rejects names that start with `_` or a digit), at most 64 characters. Values are the text the plain line
    /// shows, so a `Secret` stays `<redacted>`.
    public static func journalFields(
        label: String, level: Logger.Level, message: String, metadata: Logger.Metadata
    ) -> [String] {
        var named: [String: String] = [:]
        for (key, value) in metadata {
            guard let name = fieldName(key) else { continue }
            let text = "\(value)"
            if name == "MESSAGE_ID", LogMessageID(rawValue: text) == nil { continue }
            named[name] = text
        }
        var shown = metadata
        shown[LogMessageID.metadataKey] = nil
        let text = shown.isEmpty ? message : "\(message) \(pairs(shown))"
        return ["MESSAGE=\(text)", "PRIORITY=\(priority(level))", "SYSLOG_IDENTIFIER=\(label)"]
            + named.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    static let aliases = [
        "run": "RUN_ID", "task": "TASK_ID", "collector": "DATASET", "date": "TRADE_DATE",
        LogMessageID.metadataKey: "MESSAGE_ID",
    ]
    /// Fields the handler sets itself; a metadata key that maps to one is prefixed `GALAXY_`.
    static let ownFields: Set<String> = ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"]

    /// The journal field name of a metadata key; nil when nothing usable is left.
    static func fieldName(_ key: String) -> String? {
        if let alias = aliases[key] { return alias }
        var name = String(key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        name = String(name.drop { !($0.isASCII && $0.isLetter) })
        guard !name.isEmpty else { return nil }
        if ownFields.contains(name) { name = "GALAXY_" + name }
        return String(name.prefix(64))
    }

    /// Hands `fields` to journald; false when it refused them (the caller writes a line instead).
    static func send(_ fields: [String]) -> Bool {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        for field in fields {
            bytes.append(contentsOf: field.utf8)
            ends.append(bytes.count)
        }
        return bytes.withUnsafeMutableBytes { buffer in
            var start = 0
            let vectors = ends.map { end in
                defer { start = end }
                return iovec(iov_base: buffer.baseAddress! + start, iov_len: end - start)
            }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) >= 0 }
        }
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
