import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A configuration value that cannot be used. The message names the variable and says what would work, because the
/// operator reading it is looking at an `EnvironmentFile=` and not at our source.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let variable: String
    public let problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable): \(problem)" }
}

/// Where galaxy's collectors fetch from (DESIGN §7).
public enum SourceKind: String, Sendable, Codable, CaseIterable {
    /// data.krx.co.kr `getJsonData.cmd`; every dataset; member login since 2026-02.
    case portal
    /// data-dbg.krx.co.kr with `AUTH_KEY`; prices, stock master and ETF prices only; T-1.
    case openapi
}

/// The KRX credentials, from the environment or from systemd credentials (`LoadCredential=`).
public struct KRXCredentials: Sendable, Equatable {
    public var memberID: String?
    public var memberPassword: Secret?
    public var authKey: Secret?

    public init(memberID: String? = nil, memberPassword: Secret? = nil, authKey: Secret? = nil) {
        self.memberID = memberID
        self.memberPassword = memberPassword
        self.authKey = authKey
    }
}

/// Everything DESIGN §8 lets an operator set, parsed and checked in one place so that every executable fails the
/// same way: one line naming the variable, before anything has started.
public struct GalaxyConfiguration: Sendable {
    public var databaseURL: String?
    public var socketPath: String
    public var adminGroup: String
    public var source: SourceKind
    /// Per-dataset overrides of `source` (`GALAXY_SOURCE_PRICE=openapi`, …).
    public var sourceOverrides: [Dataset: SourceKind]
    public var portalURL: String
    public var openAPIURL: String
    public var credentials: KRXCredentials
    /// Requests per second to the source, all children together. 0 disables the limit (benchmarks, tests).
    public var rate: Double
    public var timeZoneIdentifier: String
    public var dailyCron: String
    public var snapshotCron: String
    public var collectorPath: String?
    public var maxChildren: Int
    /// `GALAXY_ON_FAILURE`: run with the event on stdin when a run fails, the breaker opens or a fire is missed.
    public var onFailure: HookCommand?
    /// `GALAXY_METRICS_FILE`: where galaxyd keeps its metrics for node_exporter's textfile collector (a `.prom` file
    /// in its `--collector.textfile.directory`).
    public var metricsFile: String?

    public static let defaultSocketPath = "/run/galaxyd/control.sock"

    /// Reads the configuration from an environment block. `credentialsDirectory` files (`krx-id`, `krx-pw`,
    /// `krx-auth-key`) win over the variables, as systemd's `LoadCredential=` is the way secrets should arrive.
    public init(environment: [String: String], readFile: (String) -> String? = Self.readSmallFile) throws {
        func value(_ name: String) -> String? {
            guard let raw = environment[name] else { return nil }
            let trimmed = raw.trimmingWhitespace
            return trimmed.isEmpty ? nil : trimmed
        }
        databaseURL = value("GALAXY_DATABASE_URL")
        socketPath = value("GALAXY_SOCKET") ?? Self.defaultSocketPath
        guard socketPath.hasPrefix("/") else {
            throw ConfigurationError(variable: "GALAXY_SOCKET", problem: "'\(socketPath)' is not an absolute path")
        }
        guard socketPath.utf8.count < 108 else {
            throw ConfigurationError(
                variable: "GALAXY_SOCKET", problem: "path is longer than a Unix socket address allows (107 bytes)")
        }
        adminGroup = value("GALAXY_ADMIN_GROUP") ?? "galaxy-admin"

        func sourceKind(_ name: String) throws -> SourceKind? {
            guard let text = value(name) else { return nil }
            guard let kind = SourceKind(rawValue: text.lowercased()) else {
                throw ConfigurationError(variable: name, problem: "'\(text)' is not a source; use portal or openapi")
            }
            return kind
        }
        source = try sourceKind("GALAXY_SOURCE") ?? .portal
        var overrides: [Dataset: SourceKind] = [:]
        for dataset in Dataset.allCases {
            if let kind = try sourceKind("GALAXY_SOURCE_\(dataset.rawValue.uppercased())") {
                overrides[dataset] = kind
            }
        }
        sourceOverrides = overrides

        func url(_ name: String, default fallback: String) throws -> String {
            let text = value(name) ?? fallback
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                throw ConfigurationError(variable: name, problem: "'\(text)' is not an http(s) URL")
            }
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        portalURL = try url("GALAXY_PORTAL_URL", default: "https://data.krx.co.kr")
        openAPIURL = try url("GALAXY_OPENAPI_URL", default: "https://data-dbg.krx.co.kr")

        var credentials = KRXCredentials(
            memberID: value("KRX_ID"),
            memberPassword: value("KRX_PW").map(Secret.init),
            authKey: value("KRX_AUTH_KEY").map(Secret.init)
        )
        if let directory = value("CREDENTIALS_DIRECTORY") {
            func credential(_ file: String) -> String? {
                readFile(directory + "/" + file).map(\.trimmingWhitespace).flatMap { $0.isEmpty ? nil : $0 }
            }
            if let id = credential("krx-id") { credentials.memberID = id }
            if let password = credential("krx-pw") { credentials.memberPassword = Secret(password) }
            if let key = credential("krx-auth-key") { credentials.authKey = Secret(key) }
        }
        self.credentials = credentials

        if let text = value("GALAXY_RATE") {
            guard let rate = Double(text), rate >= 0, rate.isFinite else {
                throw ConfigurationError(
                    variable: "GALAXY_RATE",
                    problem: "'\(text)' is not a rate; give requests per second as a number ≥ 0 (0 = unlimited)")
            }
            self.rate = rate
        } else {
            rate = 0.5
        }

        timeZoneIdentifier = value("GALAXY_TZ") ?? "Asia/Seoul"
        guard let zone = TimeZoneRules(identifier: timeZoneIdentifier) else {
            throw ConfigurationError(
                variable: "GALAXY_TZ",
                problem: "'\(timeZoneIdentifier)' is not a time zone of this host's tz database (the tzdata package, "
                    + "/usr/share/zoneinfo); use an IANA name such as Asia/Seoul")
        }
        dailyCron = value("GALAXY_DAILY_CRON") ?? "0 18 * * mon-fri"
        snapshotCron = value("GALAXY_SNAPSHOT_CRON") ?? "30 18 * * mon-fri"
        for (variable, expression) in [("GALAXY_DAILY_CRON", dailyCron), ("GALAXY_SNAPSHOT_CRON", snapshotCron)] {
            do {
                _ = try CronSchedule(expression, timeZone: zone)
            } catch let error as CronSchedule.ParseError {
                throw ConfigurationError(variable: variable, problem: error.reason + " in '\(expression)'")
            }
        }
        collectorPath = value("GALAXY_COLLECTOR")

        if let text = value("GALAXY_MAX_CHILDREN") {
            guard let count = Int(text), (1...64).contains(count) else {
                throw ConfigurationError(
                    variable: "GALAXY_MAX_CHILDREN", problem: "'\(text)' is not a whole number from 1 to 64")
            }
            maxChildren = count
        } else {
            maxChildren = 2
        }
        onFailure = try value("GALAXY_ON_FAILURE").map { text throws(ConfigurationError) in
            try HookCommand(parsing: text, variable: "GALAXY_ON_FAILURE")
        }
        metricsFile = value("GALAXY_METRICS_FILE")
        if let metricsFile {
            guard metricsFile.hasPrefix("/"), !metricsFile.hasSuffix("/") else {
                throw ConfigurationError(
                    variable: "GALAXY_METRICS_FILE",
                    problem: "'\(metricsFile)' is not an absolute file path (e.g. "
                        + "/var/lib/node_exporter/textfile_collector/galaxy.prom)")
            }
        }
    }

    /// The source a dataset is fetched from, after per-dataset overrides.
    public func source(for dataset: Dataset) -> SourceKind { sourceOverrides[dataset] ?? source }

    /// Reads a credential file of at most 64 KiB; nil when it is missing or unreadable.
    public static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65_536 {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    /// The string without leading and trailing white space, `\r\n` included (a credential file written on
    /// Windows must not carry its line ending into the password).
    public var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
