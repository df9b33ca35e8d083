import GalaxyCore

/// Params of a method, decoded by name from a JSON object with errors that name the field.
///
/// Conformers list their member names so an unknown member (a typo such as `"dte"`) is an invalid-params error
/// instead of being silently ignored.
public protocol RPCParams: Codable, Sendable {
    /// Every member name the method accepts.
    static var parameterNames: Set<String> { get }
}

extension RPCParams {
    /// Decodes params as received (absent params are an empty object, so methods whose members are all optional may
    /// be called without params).
    ///
    /// - Throws: `JSONRPCError.invalidParams` naming the field: `params.date: expected YYYY-MM-DD`,
    ///   `params.runId: missing`, `params.dte: unknown parameter`, `params: expected an object`.
    public static func decode(from params: JSONValue?) throws(JSONRPCError) -> Self {
        let value = params ?? .object([:])
        guard case .object(let members) = value else {
            throw .invalidParams("params: expected an object (by-name params), got \(value.kindDescription)")
        }
        if let unknown = members.keys.sorted().first(where: { !parameterNames.contains($0) }) {
            throw .invalidParams("params.\(unknown): unknown parameter")
        }
        do {
            return try value.decode(as: Self.self)
        } catch let error as DecodingError {
            throw .invalidParams(Self.describe(error))
        } catch {
            throw .invalidParams("params: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = "params"
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += "." + key.stringValue }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(describe(type)), got null"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(describe(type))"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "params: \(error)"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type: return "an integer"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return name
        }
    }
}

/// A date param: ISO `YYYY-MM-DD` (KRX's `YYYYMMDD` also accepted), with the error message the API promises.
public struct RPCDate: Codable, Sendable, Hashable, CustomStringConvertible {
    public var date: TradeDate

    public init(_ date: TradeDate) { self.date = date }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let text = try? container.decode(String.self), let date = TradeDate(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected YYYY-MM-DD")
        }
        self.date = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(date.iso)
    }

    public var description: String { date.iso }
}

/// The id of a run (a `job_runs` row), as the API passes it: a JSON integer.
public typealias RunID = Int64

/// `runDaily {date?}`: collect one trading date (default: today in the exchange's time zone).
public struct RunDailyParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = ["date"]
    public var date: RPCDate?

    public init(date: TradeDate? = nil) { self.date = date.map(RPCDate.init) }
}

/// `backfill {startYear, datasets?, onlyFailed?}`: collect history from `startYear-01-01`.
public struct BackfillParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = ["startYear", "datasets", "onlyFailed"]
    public var startYear: Int
    /// Dataset names (`price`, `etf_price`, …); nil means the default `price` and `etf_price`.
    public var datasets: [Dataset]?
    public var onlyFailed: Bool?

    public init(startYear: Int, datasets: [Dataset]? = nil, onlyFailed: Bool? = nil) {
        self.startYear = startYear
        self.datasets = datasets
        self.onlyFailed = onlyFailed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        startYear = try container.decode(Int.self, forKey: .startYear)
        onlyFailed = try container.decodeIfPresent(Bool.self, forKey: .onlyFailed)
        datasets = try container.decodeDatasets(forKey: .datasets)
    }

    /// The semantic check the original API made: `startYear` within 1990…`currentYear`.
    public func validate(currentYear: Int) throws(JSONRPCError) {
        guard (1990...currentYear).contains(startYear) else {
            throw .invalidParams("params.startYear: expected a year between 1990 and \(currentYear)")
        }
    }
}

extension KeyedDecodingContainer {
    /// A `datasets` member: null or absent is nil; an unknown name is an error naming its index and the known names.
    func decodeDatasets(forKey key: Key) throws -> [Dataset]? {
        guard contains(key), !(try decodeNil(forKey: key)) else { return nil }
        var names = try nestedUnkeyedContainer(forKey: key)
        var datasets: [Dataset] = []
        while !names.isAtEnd {
            let name = try names.decode(String.self)
            guard let dataset = Dataset(rawValue: name) else {
                let known = Dataset.allCases.map(\.rawValue).joined(separator: ", ")
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: names.codingPath + [AnyCodingKey(intValue: names.currentIndex - 1)!],
                        debugDescription: "unknown dataset '\(name)'; expected one of \(known)"))
            }
            datasets.append(dataset)
        }
        return datasets
    }
}

extension Optional<[Dataset]> {
    /// Refuses a `datasets` member that names none: read as "all", a script's empty list would quietly do too much.
    func requireNonEmpty() throws(JSONRPCError) {
        if self?.isEmpty == true { throw .invalidParams("params.datasets: expected at least one dataset") }
    }

    /// The datasets named, each once in the order first named, or `defaults` when none were.
    func uniqued(or defaults: [Dataset]) -> [Dataset] {
        var seen = Set<Dataset>()
        return (self ?? defaults).filter { seen.insert($0).inserted }
    }
}

/// `cancel {runId}`: stop a run between days.
public struct CancelParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = ["runId"]
    public var runId: RunID

    public init(runId: RunID) { self.runId = runId }
}

/// `status {runId?}`: the daemon's state, or one run's.
public struct StatusParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = ["runId"]
    public var runId: RunID?

    public init(runId: RunID? = nil) { self.runId = runId }
}

/// The result of a method that starts long work (`runDaily`, `backfill`): the run's id, returned at once.
public struct RunStartedResult: Codable, Sendable, Hashable {
    public var runId: RunID
    /// True when an equal run was already going and its id is returned instead of starting a duplicate.
    public var alreadyRunning: Bool?

    public init(runId: RunID, alreadyRunning: Bool? = nil) {
        self.runId = runId
        self.alreadyRunning = alreadyRunning
    }
}

/// The result of `cancel`.
public struct CancelResult: Codable, Sendable, Hashable {
    public var runId: RunID
    /// The run's state after the request (`cancelling`, or its final state when it had already finished).
    public var state: String

    public init(runId: RunID, state: String) {
        self.runId = runId
        self.state = state
    }
}

/// The params of a method that takes none (`metrics`): absent or an empty object; any member is an unknown parameter.
public struct NoParams: RPCParams, Hashable {
    public static let parameterNames: Set<String> = []

    public init() {}
}

/// The method names of galaxyd's control API, shared by galaxyd and galaxyctl.
public enum GalaxyMethod {
    public static let runDaily = "runDaily"
    public static let backfill = "backfill"
    public static let status = "status"
    public static let cancel = "cancel"
    public static let discover = "rpc.discover"
    public static let coverage = "coverage"
    public static let check = "check"
    public static let metrics = "metrics"
}
