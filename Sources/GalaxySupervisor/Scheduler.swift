import FoundationEssentials
import GalaxyCore
import GalaxyRPC
import Logging

/// Fires the daily collection and the snapshot on their cron schedules, only while this daemon is the leader.
///
/// Work is derived from the ledger and the run history, never from the scheduler's memory: when the daemon starts or
/// becomes leader, and the latest scheduled run of a job has not happened (the host was down at 18:00), it runs now,
/// once. A job is never started twice for one date at the same time (the engine returns the running run instead).
public actor Scheduler {
    public enum Job: String, Sendable, CaseIterable {
        case daily
        case snapshot
    }

    private let engine: JobEngine
    private let store: SupervisorDatabase
    private let clock: any SchedulerClock
    private let schedules: [Job: CronSchedule]
    private let logger: Logger
    private var lastRunIDs: [Job: Int64] = [:]
    /// How far back a missed fire is still caught up (older misses are a backfill's business).
    private let catchUpWindow: TimeInterval = 4 * 24 * 3600

    init(engine: JobEngine, store: SupervisorDatabase, clock: any SchedulerClock, daily: CronSchedule, snapshot: CronSchedule,
         logger: Logger) {
        self.engine = engine
        self.store = store
        self.clock = clock
        self.schedules = [.daily: daily, .snapshot: snapshot]
        self.logger = logger
    }

    /// Today on the exchange's calendar.
    public nonisolated var today: TradeDate {
        TradeDate.today(in: timeZone, at: clock.now)
    }

    /// The exchange's time zone (`GALAXY_TZ`).
    nonisolated var timeZone: TimeZoneRules { schedules[.daily]!.timeZone }

    /// The scheduler's time (`galaxyd --now` shifts it).
    nonisolated var now: Date { clock.now }

    /// Runs every job whose latest scheduled fire has no run yet. Called when this daemon becomes leader.
    public func catchUp() async {
        for job in Job.allCases {
            let schedule = schedules[job]!
            let now = clock.now
            guard let previous = schedule.previousFire(atOrBefore: now),
                now.timeIntervalSince(previous) < catchUpWindow
            else { continue }
            let date = schedule.civilDate(of: previous)
            do {
                let states = try await store.runStates(kind: job.rawValue, for: date)
                // A run that finished in any way counts (a failed one is the daily run's self-healing business, a
                // cancelled one was an operator's decision); only "never ran" or "interrupted" is caught up.
                guard states.allSatisfy({ $0 == "interrupted" }) else { continue }
                logger.notice("catching up a missed run", metadata: ["job": "\(job)", "date": "\(date)"])
                await fire(job, date: date, requestedBy: "scheduler (catch-up)", scheduledAt: previous, catchUp: true)
            } catch {
                logger.error("cannot check for missed runs: \(error)", metadata: ["job": "\(job)"])
            }
        }
    }

    /// Sleeps until each next fire and fires it while `isLeader()` says so. Returns when cancelled.
    public func run(isLeader: @Sendable () async -> Bool) async {
        var after = clock.now
        while !Task.isCancelled {
            let upcoming = Job.allCases.compactMap { job in schedules[job]!.nextFire(after: after).map { (job, $0) } }
            guard let next = upcoming.min(by: { $0.1 < $1.1 }) else { return }
            do {
                try await clock.sleep(until: next.1)
            } catch {
                return
            }
            after = next.1
            guard await isLeader() else {
                logger.info("standby: not firing", metadata: ["job": "\(next.0)"])
                continue
            }
            let (job, at) = next
            await fire(job, date: schedules[job]!.civilDate(of: at), requestedBy: "scheduler", scheduledAt: at)
        }
    }

    /// Starts `job`'s run for the fire at `scheduledAt`. A catch-up (the fire was missed) and a fire that cannot start
    /// are failure events for `GALAXY_ON_FAILURE`.
    private func fire(_ job: Job, date: TradeDate, requestedBy: String, scheduledAt: Date, catchUp: Bool = false)
        async
    {
        do {
            switch job {
            case .daily:
                lastRunIDs[job] = try await engine.runDaily(date: date, requestedBy: requestedBy).runId
            case .snapshot:
                lastRunIDs[job] = try await engine.snapshot(date: date, requestedBy: requestedBy)
            }
            if catchUp {
                engine.hooks.runMissed(
                    job: job.rawValue, scheduledAt: scheduledAt, date: date, runId: lastRunIDs[job],
                    reason: "no run at the scheduled time (galaxyd was stopped or not the leader); caught up now")
            }
        } catch {
            logger.error("scheduled run could not start: \(error)", metadata: ["job": "\(job)", "date": "\(date)"])
            engine.hooks.runMissed(
                job: job.rawValue, scheduledAt: scheduledAt, date: date, runId: nil,
                reason: "the scheduled run could not start: \(error)")
        }
    }

    public func status() -> [ScheduleStatus] {
        let now = clock.now
        return Job.allCases.map { job in
            let schedule = schedules[job]!
            let fires = fires(of: job, at: now)
            return ScheduleStatus(
                job: job.rawValue, cron: schedule.expression, timeZone: schedule.timeZone.identifier,
                nextFire: fires.next, lastFire: fires.last, lastRunId: lastRunIDs[job])
        }
    }

    /// The last and next fire of `job` around `now`, as the API writes them. They stay the same from one fire to the
    /// next, so they are worked out once per fire rather than on every `status` call (a cron that never fires walks
    /// eight years of days each time).
    private func fires(of job: Job, at now: Date) -> (last: String?, next: String?) {
        let fires = cachedFires(of: job, at: now)
        return (fires.last, fires.next)
    }

    /// The exchange date of the daily schedule's latest fire at or before now (the day the metrics count as due).
    var lastDailyFireDate: TradeDate? {
        cachedFires(of: .daily, at: clock.now).lastDate.map(schedules[.daily]!.civilDate(of:))
    }

    private func cachedFires(of job: Job, at now: Date) -> CachedFires {
        if let cached = fireCache[job], cached.lastDate.map({ $0 <= now }) ?? true,
            cached.nextDate.map({ now < $0 }) ?? true
        {
            return cached
        }
        let schedule = schedules[job]!
        let last = schedule.previousFire(atOrBefore: now)
        let next = schedule.nextFire(after: now)
        let fires = CachedFires(
            lastDate: last, nextDate: next, last: last.map(Timestamps.rfc3339), next: next.map(Timestamps.rfc3339))
        fireCache[job] = fires
        return fires
    }

    private struct CachedFires {
        var lastDate: Date?
        var nextDate: Date?
        var last: String?
        var next: String?
    }
    private var fireCache: [Job: CachedFires] = [:]
}
