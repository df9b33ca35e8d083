import CGalaxyProcess
import FoundationEssentials
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import GalaxySystemd
import Logging
import UnixSignals
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Everything galaxyd needs to start, decided by the executable from flags, environment and systemd.
public struct DaemonOptions: Sendable {
    public var settings: SupervisorSettings
    /// What systemd handed over (notify socket, watchdog, listen fds), already removed from the environment.
    public var systemd: SystemdEnvironment
    /// The daemon's environment without the systemd variables: what children may inherit from.
    public var environment: [String: String]
    public var rpc = RPCServerConfiguration()
    public var clock: any SchedulerClock = SystemSchedulerClock()
    /// Who may call mutating methods besides root and the daemon's own uid.
    public var adminGroupID: UInt32?
    /// How long to keep retrying an unreachable database at start before giving up.
    public var startupTimeout: Duration = .seconds(50)

    public init(settings: SupervisorSettings, systemd: SystemdEnvironment, environment: [String: String]) {
        self.settings = settings
        self.systemd = systemd
        self.environment = environment
    }
}

/// Why galaxyd could not start; printed as one line, the exit status tells systemd whether restarting can help.
public struct DaemonStartError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// 78 (EX_CONFIG) for configuration, 1 otherwise.
    public let exitCode: Int32
}

/// galaxyd: migrations, leadership, the control socket, the scheduler, the watchdog, and an orderly stop.
///
/// Start-up order matters to systemd: `READY=1` is sent only once migrations ran and the socket is listening, so
/// `systemctl start` returning means galaxyd answers. On SIGTERM or SIGINT it stops accepting, stops its children
/// (TERM, grace, KILL), records their tasks as interrupted for the next daemon to resume, and returns.
public enum GalaxyDaemon {
    public static func run(_ options: DaemonOptions, logger: Logger) async throws {
        let settings = options.settings
        let notifier: ServiceNotifier
        do {
            notifier = try ServiceNotifier(socket: options.systemd.notifySocket)
        } catch {
            throw DaemonStartError(description: "NOTIFY_SOCKET: \(error)", exitCode: 78)
        }
        let cron: (daily: CronSchedule, snapshot: CronSchedule)
        do {
            cron = (
                try CronSchedule(settings.configuration.dailyCron, timeZoneIdentifier: settings.configuration.timeZoneIdentifier),
                try CronSchedule(settings.configuration.snapshotCron, timeZoneIdentifier: settings.configuration.timeZoneIdentifier)
            )
        } catch {
            throw DaemonStartError(description: "GALAXY_DAILY_CRON/GALAXY_SNAPSHOT_CRON/GALAXY_TZ: \(error)", exitCode: 78)
        }

        let database = DatabaseWorker(url: settings.configuration.databaseURL, name: "galaxy-db")
        defer { database.shutdown() }
        let store = SupervisorDatabase(database: database)
        try await migrate(store, notifier: notifier, timeout: options.startupTimeout, logger: logger)

        try prepareRuntimeDirectory(settings.runtimeDirectory)
        unlink(settings.childNotifySocketPath)
        let childListener: NotifyListener
        do {
            childListener = try NotifyListener(address: settings.childNotifySocketPath)
        } catch {
            throw DaemonStartError(description: "cannot listen for collectors at \(settings.childNotifySocketPath): \(error)", exitCode: 1)
        }
        defer {
            childListener.close()
            unlink(settings.childNotifySocketPath)
        }
        let board = ChildHealthBoard()
        let boardTask = Task { await board.consume(childListener) }
        defer { boardTask.cancel() }

        let engine = JobEngine(
            settings: settings, store: store, board: board, environment: options.environment, logger: logger)
        let scheduler = Scheduler(
            engine: engine, store: store, clock: options.clock, daily: cron.daily, snapshot: cron.snapshot,
            logger: logger)

        let leaderLock = LeaderLock(url: settings.configuration.databaseURL)
        try await refuseTransactionPooling(store, leaderLock)
        let leader = SharedFlag()
        let ready = SharedFlag()
        let leadership = Leadership()
        let statusSource = StatusSource(
            engine: engine, scheduler: scheduler, store: store, settings: settings,
            socketDescription: options.systemd.listenFileDescriptors.isEmpty
                ? settings.configuration.socketPath : "socket-activated (fd \(options.systemd.listenFileDescriptors[0].fileDescriptor))",
            ready: { ready.value }, isLeader: { leader.value }, leadership: leadership)
        let monitor = Monitor(engine: engine, scheduler: scheduler, statusSource: statusSource, settings: settings)
        let metricsFile = settings.configuration.metricsFile
        if let metricsFile {
            // A file that cannot be written is a configuration mistake: said at start, not every 10 s in the journal.
            await monitor.refresh()
            do {
                try await monitor.writeMetrics(to: metricsFile)
            } catch {
                throw DaemonStartError(
                    description: "GALAXY_METRICS_FILE: \(error); create the directory (node_exporter's "
                        + "--collector.textfile.directory) and let galaxyd's user write it, or unset the variable",
                    exitCode: 78)
            }
        }
        /// One leadership check: a standby tries to take the lock; a leader confirms it within what is left of its
        /// lease, and fences itself when the lease runs out or another galaxyd holds the lock.
        @Sendable func checkLeadership() async {
            let wasLeader = leader.value
            let now = ContinuousClock.now
            let remaining = leadership.remaining(at: now)
            let (verdict, sentAt) = wasLeader && remaining == .zero
                ? (.unreachable("no time left"), now)
                : await leaderLock.check(within: wasLeader ? remaining : LeaderLock.lease)
            switch verdict {
            case .held(let name):
                statusSource.noteDatabase(reachable: true)
                leadership.confirmed(sentAt: sentAt, identity: name)
                guard !wasLeader else { return }
                leader.set(true)
                logger.notice("leader: this galaxyd runs the schedule", metadata: [
                    "identity": "\(name)", LogMessageID.metadataKey: "\(LogMessageID.leaderChanged)",
                ])
                await engine.recover(end: scheduler.today)
                await scheduler.catchUp()
            case .heldElsewhere(let holder):
                statusSource.noteDatabase(reachable: true)
                let changed = leadership.noteHolder(holder)
                if wasLeader {
                    await fence("another galaxyd holds the leader lock (\(holder ?? "unknown"))")
                } else if changed {
                    logger.info("standby: \(holder ?? "another galaxyd") holds the scheduler lock")
                }
            case .unreachable(let reason):
                statusSource.noteDatabase(reachable: false)
                guard wasLeader else { return }
                let left = leadership.remaining()
                if left == .zero {
                    let lease = LeaderLock.lease.seconds.fixed(0)
                    await fence("the leader lock was not confirmed within its \(lease) s lease: \(reason)")
                } else {
                    logger.warning("cannot confirm the leader lock (\(left.seconds.fixed(1)) s of the lease left): \(reason)")
                }
            }
        }
        /// Demotes this daemon before PostgreSQL can give the lock to another: no scheduling, no new runs, every
        /// collector stopped (TERM, at most 3 s, KILL).
        @Sendable func fence(_ reason: String) async {
            leader.set(false)
            let stamp = Timestamps.rfc3339(Date())
            leadership.fenced("\(stamp): \(reason)")
            logger.critical("fencing: \(reason); stopping every collector and standing by", metadata: [
                LogMessageID.metadataKey: "\(LogMessageID.leaderChanged)"
            ])
            try? notifier.status("standby (fenced: \(reason))")
            let stopped = await engine.fence(reason: reason)
            logger.error("fenced: \(stopped) collector(s) stopped; standing by until the lock can be taken again")
        }
        await checkLeadership()

        let address: RPCListenAddress
        if let inherited = options.systemd.listenFileDescriptors.first {
            address = .adopted(fileDescriptor: inherited.fileDescriptor)
        } else {
            address = .path(settings.configuration.socketPath)
        }
        let api = ControlAPI(
            engine: engine, scheduler: scheduler, statusSource: statusSource, monitor: monitor,
            isLeader: { leader.value })
        let server: RPCServer
        do {
            server = try await RPCServer.bind(
                address, methods: api.registry,
                authorisation: RPCAuthorisationPolicy(daemonUID: geteuid(), adminGroupID: options.adminGroupID),
                configuration: options.rpc, logger: logger)
        } catch {
            throw DaemonStartError(description: "control socket: \(error)", exitCode: 1)
        }

        await statusSource.refresh()
        ready.set(true)
        try? notifier.ready(status: statusLine(leader: leader.value, active: 0))
        logger.notice("galaxyd ready", metadata: [
            "socket": "\(address)", "pid": "\(getpid())", "version": "\(settings.version)",
            "leader": "\(leader.value)",
        ])

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await server.run()
                } catch {
                    logger.error("control socket stopped: \(error)")
                }
            }
            group.addTask { await scheduler.run(isLeader: { leader.value }) }
            group.addTask {
                // Leadership: a standby keeps trying; a leader keeps confirming it still holds the lock, at least
                // four times a lease, so one slow or failed check does not cost it the lease.
                while !Task.isCancelled {
                    var pause = settings.leaderRetryInterval
                    if leader.value { pause = min(pause, LeaderLock.lease / 4) }
                    try? await Task.sleep(for: pause)
                    if Task.isCancelled { break }
                    await checkLeadership()
                }
            }
            group.addTask {
                await watchdogAndStatus(
                    notifier: notifier, watchdog: options.systemd.watchdog, engine: engine,
                    leader: { leader.value }, logger: logger)
            }
            group.addTask {
                // Metrics: the ledger's freshness re-read and GALAXY_METRICS_FILE rewritten every 10 s, a fraction
                // of any scrape interval; a failed write is logged when it starts failing and when it recovers.
                var failing = false
                while !Task.isCancelled {
                    await monitor.refresh()
                    if let metricsFile {
                        do {
                            try await monitor.writeMetrics(to: metricsFile)
                            if failing { logger.notice("GALAXY_METRICS_FILE: writing \(metricsFile) again") }
                            failing = false
                        } catch {
                            if !failing { logger.error("GALAXY_METRICS_FILE: \(error)") }
                            failing = true
                        }
                    }
                    try? await Task.sleep(for: .seconds(10))
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    engine.hooks.breakerSeen(await statusSource.refresh(), isLeader: leader.value)
                    // Hand freed heap pages back to the kernel: a burst of clients (fifty `status` pollers) otherwise
                    // leaves galaxyd's RSS at ~80 MiB long after they are gone, because glibc keeps what it freed.
                    _ = galaxy_malloc_trim()
                    try? await Task.sleep(for: .seconds(2))
                }
            }
            // The first SIGTERM or SIGINT ends the daemon.
            for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                logger.notice("received \(signal): stopping")
                break
            }
            ready.set(false)
            try? notifier.stopping(status: "stopping: collectors are being stopped")
            server.shutdown()
            await engine.shutdown()
            group.cancelAll()
        }
        // A stopped galaxyd leaves no metrics that look alive: node_exporter then serves none (`absent()` alerts),
        // as it would for a crashed one once the file's age shows (`node_textfile_mtime_seconds`).
        if let metricsFile { unlink(metricsFile) }
        await leaderLock.release()
        logger.notice("galaxyd stopped")
    }

    /// Refuses a connection through a transaction-pooling proxy (PgBouncer `pool_mode = transaction` or
    /// `statement`): the leader lock is a session advisory lock and collectors stage rows in per-session tables, and
    /// neither survives the server session changing under a client connection. Seen as two client connections (the
    /// daemon's, idle, and the lock's) served by one server session: a pooler hands the idle one's server session
    /// to the next client, PostgreSQL and session pooling never do.
    private static func refuseTransactionPooling(_ store: SupervisorDatabase, _ lock: LeaderLock) async throws {
        guard let daemonSession = try? await store.backendPID(), let lockSession = await lock.backendPID(),
            daemonSession == lockSession
        else { return }
        throw DaemonStartError(
            description: "GALAXY_DATABASE_URL goes through a transaction-pooling proxy (PgBouncer pool_mode = "
                + "transaction or statement): two connections were served by one server session (pid \(lockSession)). "
                + "galaxy needs session state (the leader's advisory lock, per-session staging tables): connect to "
                + "PostgreSQL directly or through a pool in session mode", exitCode: 78)
    }

    /// Runs migrations, retrying while the database is unreachable (it may start after us) up to `timeout`.
    private static func migrate(_ store: SupervisorDatabase, notifier: ServiceNotifier, timeout: Duration, logger: Logger)
        async throws
    {
        let deadline = ContinuousClock.now + timeout
        var delay = Duration.milliseconds(250)
        while true {
            do {
                let applied = try await store.migrate()
                if !applied.isEmpty { logger.notice("applied migrations \(applied)") }
                return
            } catch let error as PostgresError where error.kind == .connection && ContinuousClock.now < deadline {
                try? notifier.status("waiting for the database: \(error.message)")
                logger.warning("database not reachable yet: \(error)")
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            } catch {
                throw DaemonStartError(description: "cannot prepare the database: \(error)", exitCode: 1)
            }
        }
    }

    private static func prepareRuntimeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw DaemonStartError(
                description: "cannot create runtime directory \(path): \(String(cString: strerror(errno)))", exitCode: 1)
        }
    }

    /// `WATCHDOG=1` every half watchdog interval, sent only after the engine answered: if the engine's executor is
    /// stalled the pings stop and systemd restarts us, while a crashing collector changes nothing here. `STATUS=` is
    /// refreshed on the same beat.
    private static func watchdogAndStatus(
        notifier: ServiceNotifier, watchdog: WatchdogTimer?, engine: JobEngine, leader: @Sendable () -> Bool,
        logger: Logger
    ) async {
        let interval = watchdog?.pingInterval ?? .seconds(5)
        var lastStatus = ""
        while !Task.isCancelled {
            let alive = await engine.ping()
            let active = await engine.activeRunCount
            if alive, watchdog != nil { try? notifier.watchdog() }
            let line = statusLine(leader: leader(), active: active)
            if line != lastStatus {
                try? notifier.status(line)
                lastStatus = line
            }
            try? await Task.sleep(for: interval)
        }
    }

    private static func statusLine(leader: Bool, active: Int) -> String {
        (leader ? "leader" : "standby") + (active == 0 ? ", idle" : ", \(active) run(s) active")
    }
}

/// A Bool that tasks share (the leader and ready flags).
final class SharedFlag: Sendable {
    private let storage = Atomic<Bool>(false)
    var value: Bool { storage.load(ordering: .acquiring) }
    func set(_ newValue: Bool) { storage.store(newValue, ordering: .releasing) }
    /// Sets the flag and returns its previous value.
    func exchange(_ newValue: Bool) -> Bool { storage.exchange(newValue, ordering: .acquiringAndReleasing) }
}

