import GalaxyCore

// The result of `status`, shared by galaxyd (which builds it) and galaxyctl (which shows it). The shape is the
// contract in protocol/galaxyd.openrpc.json (`#/components/schemas/Status`); optionals encode as JSON null so that
// every documented member is always present.

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

    public init(
        version: String, pid: Int32, startedAt: String, uptimeSeconds: Double, ready: Bool, leader: Bool,
        socket: String, database: String
    ) {
        self.version = version
        self.pid = pid
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.ready = ready
        self.leader = leader
        self.socket = socket
        self.database = database
    }
}

public struct ScheduleStatus: Codable, Sendable, Equatable {
    /// `daily` or `snapshot`.
    public var job: String
    public var cron: String
    public var timeZone: String
    public var nextFire: String?
    public var lastFire: String?
    public var lastRunId: Int64?

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

    enum CodingKeys: String, CodingKey { case job, cron, timeZone, nextFire, lastFire, lastRunId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(job, forKey: .job)
        try container.encode(cron, forKey: .cron)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(nextFire, forKey: .nextFire)
        try container.encode(lastFire, forKey: .lastFire)
        try container.encode(lastRunId, forKey: .lastRunId)
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
    public var lastHeartbeat: String?
    public var status: String?
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

    enum CodingKeys: String, CodingKey {
        case runId, taskId, collector, rangeStart, rangeEnd, pid, state, startedAt, runtimeSeconds, lastHeartbeat,
            status, restarts
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runId, forKey: .runId)
        try container.encode(taskId, forKey: .taskId)
        try container.encode(collector, forKey: .collector)
        try container.encode(rangeStart, forKey: .rangeStart)
        try container.encode(rangeEnd, forKey: .rangeEnd)
        try container.encode(pid, forKey: .pid)
        try container.encode(state, forKey: .state)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(runtimeSeconds, forKey: .runtimeSeconds)
        try container.encode(lastHeartbeat, forKey: .lastHeartbeat)
        try container.encode(status, forKey: .status)
        try container.encode(restarts, forKey: .restarts)
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
    public var etaSeconds: Double?
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

    enum CodingKeys: String, CodingKey {
        case daysDone, daysFailed, daysTotal, rows, requests, requestsPerSecond, etaSeconds, perDataset
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(daysDone, forKey: .daysDone)
        try container.encode(daysFailed, forKey: .daysFailed)
        try container.encode(daysTotal, forKey: .daysTotal)
        try container.encode(rows, forKey: .rows)
        try container.encode(requests, forKey: .requests)
        try container.encode(requestsPerSecond, forKey: .requestsPerSecond)
        try container.encode(etaSeconds, forKey: .etaSeconds)
        try container.encode(perDataset, forKey: .perDataset)
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
    public var pid: Int32?
    public var exitCode: Int32?
    public var signal: Int32?
    public var runtimeSeconds: Double?
    public var peakRssKiB: Int?
    public var error: String?

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

    enum CodingKeys: String, CodingKey {
        case id, collector, rangeStart, rangeEnd, state, attempts, rows, pid, exitCode, signal, runtimeSeconds,
            peakRssKiB, error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(collector, forKey: .collector)
        try container.encode(rangeStart, forKey: .rangeStart)
        try container.encode(rangeEnd, forKey: .rangeEnd)
        try container.encode(state, forKey: .state)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(rows, forKey: .rows)
        try container.encode(pid, forKey: .pid)
        try container.encode(exitCode, forKey: .exitCode)
        try container.encode(signal, forKey: .signal)
        try container.encode(runtimeSeconds, forKey: .runtimeSeconds)
        try container.encode(peakRssKiB, forKey: .peakRssKiB)
        try container.encode(error, forKey: .error)
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
    public var startedAt: String?
    public var finishedAt: String?
    public var progress: RunProgress
    public var tasks: [TaskStatus]
    public var error: String?

    public init(
        id: Int64, kind: String, state: String, params: JSONValue, requestedBy: String, createdAt: String,
        startedAt: String?, finishedAt: String?, progress: RunProgress, tasks: [TaskStatus], error: String?
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
    }

    /// Whether the run has reached a final state.
    public var isFinished: Bool { ["succeeded", "partial", "failed", "cancelled", "interrupted"].contains(state) }

    enum CodingKeys: String, CodingKey {
        case id, kind, state, params, requestedBy, createdAt, startedAt, finishedAt, progress, tasks, error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(state, forKey: .state)
        try container.encode(params, forKey: .params)
        try container.encode(requestedBy, forKey: .requestedBy)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(progress, forKey: .progress)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(error, forKey: .error)
    }
}

public struct BreakerStatus: Codable, Sendable, Equatable {
    /// `closed` or `open`.
    public var state: String
    public var openUntil: String?
    public var reason: String?

    public init(state: String, openUntil: String?, reason: String?) {
        self.state = state
        self.openUntil = openUntil
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case state, openUntil, reason }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state, forKey: .state)
        try container.encode(openUntil, forKey: .openUntil)
        try container.encode(reason, forKey: .reason)
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
