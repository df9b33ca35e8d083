import GalaxyCore

// The result of `status`, shared by galaxyd (which builds it) and galaxyctl (which shows it). The shape is the
// contract in protocol/galaxyd.openrpc.json (`#/components/schemas/Status`); optionals are `@NullEncoded`, so every
// documented member is always present (null when there is no value) and scripts never meet a missing key.

/// Everything `galaxyctl status` shows.
public struct StatusReport: Codable, Sendable, Equatable {
    public var daemon: DaemonStatus
    public var schedule: [ScheduleStatus]
    public var children: [ChildStatus]
    public var runs: [RunStatus]
    public var source: SourceStatus

    public init(
        daemon: DaemonStatus, schedule: [ScheduleStatus], children: [ChildStatus], runs: [RunStatus],
        source: SourceStatus
    ) {
        self.daemon = daemon
        self.schedule = schedule
        self.children = children
        self.runs = runs
        self.source = source
    }
}

public struct DaemonStatus: Codable, Sendable, Equatable {
    public var version: String
    public var pid: Int32
    /// RFC 3339.
    public var startedAt: String
    public var uptimeSeconds: Double
    public var ready: Bool
    /// Whether this daemon holds the scheduler lock (the standby serves status only).
    public var leader: Bool
    public var socket: String
    /// `ok` or `unavailable`.
    public var database: String
    /// Who holds the scheduler lock as this daemon last saw it (`galaxyd HOST pid N at ADDRESS`); null when unknown.
    @NullEncoded public var leaderName: String?
    /// Why and when this daemon last stopped leading (fenced itself); null if it never did or leads again.
    @NullEncoded public var fenced: String?
    /// Configuration problems found at start that leave galaxyd running but work failing (missing KRX
    /// credentials), each naming the fix; empty when there are none.
    public var problems: [String]

    public init(
        version: String, pid: Int32, startedAt: String, uptimeSeconds: Double, ready: Bool, leader: Bool,
        socket: String, database: String, leaderName: String? = nil, fenced: String? = nil, problems: [String] = []
    ) {
        self.version = version
        self.pid = pid
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.ready = ready
        self.leader = leader
        self.socket = socket
        self.database = database
        self.leaderName = leaderName
        self.fenced = fenced
        self.problems = problems
    }
}

public struct ScheduleStatus: Codable, Sendable, Equatable {
    /// `daily` or `snapshot`.
    public var job: String
    public var cron: String
    public var timeZone: String
    @NullEncoded public var nextFire: String?
    @NullEncoded public var lastFire: String?
    @NullEncoded public var lastRunId: Int64?

    public init(
        job: String, cron: String, timeZone: String, nextFire: String?, lastFire: String?, lastRunId: Int64?
    ) {
        self.job = job
        self.cron = cron
        self.timeZone = timeZone
        self.nextFire = nextFire
        self.lastFire = lastFire
        self.lastRunId = lastRunId
    }


}

public struct ChildStatus: Codable, Sendable, Equatable {
    public var runId: Int64
    public var taskId: Int64
    public var collector: String
    public var rangeStart: String
    public var rangeEnd: String
    public var pid: Int32
    /// `starting` (no READY yet), `running`, `stopping`.
    public var state: String
    public var startedAt: String
    public var runtimeSeconds: Double
    @NullEncoded public var lastHeartbeat: String?
    @NullEncoded public var status: String?
    public var restarts: Int

    public init(
        runId: Int64, taskId: Int64, collector: String, rangeStart: String, rangeEnd: String, pid: Int32,
        state: String, startedAt: String, runtimeSeconds: Double, lastHeartbeat: String?, status: String?,
        restarts: Int
    ) {
        self.runId = runId
        self.taskId = taskId
        self.collector = collector
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
        self.pid = pid
        self.state = state
        self.startedAt = startedAt
        self.runtimeSeconds = runtimeSeconds
        self.lastHeartbeat = lastHeartbeat
        self.status = status
        self.restarts = restarts
    }


}

public struct DatasetProgress: Codable, Sendable, Equatable {
    public var daysDone: Int
    public var daysFailed: Int
    public var daysTotal: Int
    public var rows: Int

    public init(daysDone: Int = 0, daysFailed: Int = 0, daysTotal: Int = 0, rows: Int = 0) {
        self.daysDone = daysDone
        self.daysFailed = daysFailed
        self.daysTotal = daysTotal
        self.rows = rows
    }
}

public struct RunProgress: Codable, Sendable, Equatable {
    public var daysDone: Int
    public var daysFailed: Int
    public var daysTotal: Int
    public var rows: Int
    public var requests: Int
    public var requestsPerSecond: Double
    @NullEncoded public var etaSeconds: Double?
    public var perDataset: [String: DatasetProgress]

    public init(
        daysDone: Int = 0, daysFailed: Int = 0, daysTotal: Int = 0, rows: Int = 0, requests: Int = 0,
        requestsPerSecond: Double = 0, etaSeconds: Double? = nil, perDataset: [String: DatasetProgress] = [:]
    ) {
        self.daysDone = daysDone
        self.daysFailed = daysFailed
        self.daysTotal = daysTotal
        self.rows = rows
        self.requests = requests
        self.requestsPerSecond = requestsPerSecond
        self.etaSeconds = etaSeconds
        self.perDataset = perDataset
    }


}

public struct TaskStatus: Codable, Sendable, Equatable {
    public var id: Int64
    public var collector: String
    public var rangeStart: String
    public var rangeEnd: String
    public var state: String
    public var attempts: Int
    public var rows: Int
    @NullEncoded public var pid: Int32?
    @NullEncoded public var exitCode: Int32?
    @NullEncoded public var signal: Int32?
    @NullEncoded public var runtimeSeconds: Double?
    @NullEncoded public var peakRssKiB: Int?
    @NullEncoded public var error: String?

    public init(
        id: Int64, collector: String, rangeStart: String, rangeEnd: String, state: String, attempts: Int, rows: Int,
        pid: Int32? = nil, exitCode: Int32? = nil, signal: Int32? = nil, runtimeSeconds: Double? = nil,
        peakRssKiB: Int? = nil, error: String? = nil
    ) {
        self.id = id
        self.collector = collector
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
        self.state = state
        self.attempts = attempts
        self.rows = rows
        self.pid = pid
        self.exitCode = exitCode
        self.signal = signal
        self.runtimeSeconds = runtimeSeconds
        self.peakRssKiB = peakRssKiB
        self.error = error
    }


}

public struct RunStatus: Codable, Sendable, Equatable {
    public var id: Int64
    /// `daily`, `backfill` or `snapshot`.
    public var kind: String
    public var state: String
    public var params: JSONValue
    public var requestedBy: String
    public var createdAt: String
    @NullEncoded public var startedAt: String?
    @NullEncoded public var finishedAt: String?
    public var progress: RunProgress
    public var tasks: [TaskStatus]
    @NullEncoded public var error: String?
    /// What every day of a finished run was, from the ledger; null while it runs (and for a snapshot).
    @NullEncoded public var days: RunDays?

    public init(
        id: Int64, kind: String, state: String, params: JSONValue, requestedBy: String, createdAt: String,
        startedAt: String?, finishedAt: String?, progress: RunProgress, tasks: [TaskStatus], error: String?,
        days: RunDays? = nil
    ) {
        self.id = id
        self.kind = kind
        self.state = state
        self.params = params
        self.requestedBy = requestedBy
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.progress = progress
        self.tasks = tasks
        self.error = error
        self.days = days
    }

    /// Whether the run has reached a final state.
    public var isFinished: Bool { ["succeeded", "partial", "failed", "cancelled", "interrupted"].contains(state) }


}

/// The days of a finished run's tasks by what they became, read from the ledger when it ends: an operator reads
/// "240 collected, 3 failed, 2 no session", not a percentage.
public struct RunDays: Codable, Sendable, Equatable {
    /// Written by this run with that status.
    public var collected: Int
    public var noSession: Int
    public var failed: Int
    public var pending: Int
    /// Settled (collected or no session) before the run started, and left alone by it.
    public var alreadyHeld: Int
    /// Without a ledger row written by the run (cancelled before them, or not due yet), and not held before.
    public var notFetched: Int

    public init(
        collected: Int = 0, noSession: Int = 0, failed: Int = 0, pending: Int = 0, alreadyHeld: Int = 0,
        notFetched: Int = 0
    ) {
        self.collected = collected
        self.noSession = noSession
        self.failed = failed
        self.pending = pending
        self.alreadyHeld = alreadyHeld
        self.notFetched = notFetched
    }
}

public struct BreakerStatus: Codable, Sendable, Equatable {
    /// `closed` or `open`.
    public var state: String
    @NullEncoded public var openUntil: String?
    @NullEncoded public var reason: String?

    public init(state: String, openUntil: String?, reason: String?) {
        self.state = state
        self.openUntil = openUntil
        self.reason = reason
    }


}

public struct SourceStatus: Codable, Sendable, Equatable {
    public var kind: String
    public var rate: Double
    public var breaker: BreakerStatus

    public init(kind: String, rate: Double, breaker: BreakerStatus) {
        self.kind = kind
        self.rate = rate
        self.breaker = breaker
    }
}

/// An optional that encodes as JSON `null` instead of disappearing, and decodes from `null` or a missing key.
@propertyWrapper
public struct NullEncoded<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    /// A missing key is a nil value, as for a plain optional.
    public func decode<Value>(_ type: NullEncoded<Value>.Type, forKey key: Key) throws -> NullEncoded<Value> {
        try decodeIfPresent(type, forKey: key) ?? NullEncoded(wrappedValue: nil)
    }
}
