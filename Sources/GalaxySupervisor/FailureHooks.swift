import FoundationEssentials
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What `GALAXY_ON_FAILURE` is told, as one JSON object on its stdin (schema in docs/install.md).
public struct FailureEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case runFailed = "run_failed"
        case runPartial = "run_partial"
        case breakerOpened = "breaker_opened"
        case runMissed = "run_missed"
    }

    public struct Breaker: Codable, Sendable, Equatable {
        public var source: String
        public var openedAt: String
        public var openUntil: String
        public var reason: String
    }

    public struct Schedule: Codable, Sendable, Equatable {
        /// `daily` or `snapshot`.
        public var job: String
        public var scheduledAt: String
        public var date: String
        public var reason: String
    }

    public struct Daemon: Codable, Sendable, Equatable {
        public var host: String
        public var pid: Int32
        public var version: String
    }

    public var kind: Kind
    public var time: String
    /// One line for a mail subject or a chat message.
    public var summary: String
    public var runId: Int64?
    public var runKind: String?
    /// The run's final state: `failed` or `partial`.
    public var outcome: String?
    public var datasets: [String]?
    public var failedDatasets: [String]?
    /// The run as `status` shows it (RunStatus in protocol/galaxyd.openrpc.json).
    public var run: RunStatus?
    public var breaker: Breaker?
    public var schedule: Schedule?
    public var galaxyd: Daemon
}

/// Runs `GALAXY_ON_FAILURE` for each failure event, one hook at a time, each as a supervised child.
///
/// Nothing a hook does reaches the daemon: ``notify(_:)`` only queues (at most ``queueLimit`` events wait; more are
/// dropped with a log line), the hook runs on its own task in its own session with the event in an unlinked file as
/// stdin (no pipe to block on, no SIGPIPE), its output is drained on the child's monitor thread and only its first
/// lines are logged, and after ``timeout`` its process group gets SIGTERM, then SIGKILL. Its exit status and
/// duration are logged.
public final class FailureHooks: Sendable {
    public let command: HookCommand?
    let runtimeDirectory: String
    let environment: [String: String]
    let timeout: Duration
    let grace: Duration
    let version: String
    let logger: Logger
    let queueLimit = 8
    /// Lines of a hook's stdout/stderr that are logged; the rest are counted.
    static let loggedLines = 20

    private struct State {
        /// The running event first, then those waiting.
        var queue: [FailureEvent] = []
        /// `openedAt` of the last breaker opening reported, so one opening is one event.
        var lastBreakerOpening: Date?
    }
    private let state = Mutex(State())
    private let started = Date()

    init(settings: SupervisorSettings, inherited: [String: String], logger: Logger) {
        command = settings.configuration.onFailure
        runtimeDirectory = settings.runtimeDirectory
        timeout = settings.hookTimeout
        grace = min(settings.terminationGrace, .seconds(5))
        version = settings.version
        self.logger = logger
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        for name in ["LANG", "TZ", "HOME"] { environment[name] = inherited[name] }
        self.environment = environment
    }

    /// Queues `event` for the hook; returns at once.
    public func notify(_ event: FailureEvent) {
        guard command != nil else { return }
        let startWorker: Bool? = state.withLock { state in
            guard state.queue.count <= queueLimit else { return nil }
            state.queue.append(event)
            return state.queue.count == 1
        }
        guard let startWorker else {
            logger.warning("failure hook: \(queueLimit) events already waiting; dropped this one",
                           metadata: ["event": "\(event.kind.rawValue)", "summary": "\(event.summary)"])
            return
        }
        if startWorker { Task { await self.drain() } }
    }

    private func drain() async {
        var next = state.withLock { $0.queue.first }
        while let event = next {
            await run(event)
            next = state.withLock { state in
                state.queue.removeFirst()
                return state.queue.first
            }
        }
    }

    private func run(_ event: FailureEvent) async {
        guard let command else { return }
        let logger = logger.with(["event": "\(event.kind.rawValue)"])
        let input: Int32
        do {
            input = try eventFile(event)
        } catch {
            logger.error("failure hook not run: \(error)")
            return
        }
        defer { close(input) }
        let output = HookOutput(logger: logger)
        var spec = ChildSpec(executable: command.executable, arguments: command.arguments, environment: environment)
        spec.environment["GALAXY_EVENT"] = event.kind.rawValue
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(spec, standardInput: input, onOutput: output.line)
        } catch {
            logger.error("failure hook could not start: \(error)")
            return
        }
        var exit = await child.wait(timeout: timeout)
        var timedOut = false
        if exit == nil {
            timedOut = true
            logger.warning("failure hook still running after \(timeout.seconds.fixed(1)) s: stopping it",
                           metadata: ["pid": "\(child.pid)"])
            exit = await child.terminate(grace: grace)
        }
        guard let exit else { return }
        let suppressed = output.suppressed
        let level: Logger.Level = exit.succeeded && !timedOut ? .info : .warning
        logger.log(level: level, "failure hook \(timedOut ? "timed out, " : "")\(exit)", metadata: [
            "pid": "\(child.pid)", "runtime": "\(exit.runtime.seconds.fixed(1))s", "summary": "\(event.summary)",
            "output_lines_not_logged": "\(suppressed)",
        ])
    }

    /// The event's JSON in an unlinked file in the runtime directory, positioned at its start.
    private func eventFile(_ event: FailureEvent) throws -> Int32 {
        let text = try EncodedJSON(encoding: event).text + "\n"
        var template = Array((runtimeDirectory + "/hook-event.XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw HookError("cannot create the event file in \(runtimeDirectory): \(errnoText())") }
        unlink(cString(template))
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard writeFully(fd, text) else {
            let reason = errnoText()
            close(fd)
            throw HookError("cannot write the event file: \(reason)")
        }
        lseek(fd, 0, SEEK_SET)
        return fd
    }

    // MARK: - Events

    /// A run that ended `failed` or `partial`.
    func runEnded(_ run: RunStatus) {
        guard run.state == "failed" || run.state == "partial" else { return }
        let datasets = Self.unique(run.tasks.map(\.collector))
        let failed = Self.unique(run.tasks.filter { $0.state == "failed" }.map(\.collector))
        notify(event(
            run.state == "failed" ? .runFailed : .runPartial,
            summary: "galaxy: \(run.kind) run \(run.id) \(run.state)" + (run.error.map { " (\($0))" } ?? ""),
            configure: { event in
                event.runId = run.id
                event.runKind = run.kind
                event.outcome = run.state
                event.datasets = datasets
                event.failedDatasets = failed
                event.run = run
            }))
    }

    /// The status beat's view of the source's breaker: an opening not reported yet is, if this daemon leads. An
    /// opening from before this daemon started is not reported again.
    func breakerSeen(_ breaker: SourceBreaker?, isLeader: Bool) {
        guard let breaker else { return }
        let new = state.withLock { state in
            defer { state.lastBreakerOpening = breaker.openedAt }
            return state.lastBreakerOpening != breaker.openedAt && breaker.openedAt >= started
        }
        guard new, isLeader else { return }
        logger.critical("KRX circuit breaker opened: no collector calls \(breaker.source) until it expires", metadata: [
            "source": "\(breaker.source)", "open_until": "\(Timestamps.rfc3339(breaker.openUntil))",
            "reason": "\(breaker.reason)", "message_id": "\(LogMessageID.breakerOpened)",
        ])
        notify(event(
            .breakerOpened,
            summary: "galaxy: KRX \(breaker.source) circuit breaker open until "
                + Timestamps.rfc3339(breaker.openUntil),
            configure: { event in
                event.breaker = FailureEvent.Breaker(
                    source: breaker.source, openedAt: Timestamps.rfc3339(breaker.openedAt),
                    openUntil: Timestamps.rfc3339(breaker.openUntil), reason: breaker.reason)
            }))
    }

    /// A scheduled fire that did not start a run on time: caught up later (`runId` set) or refused.
    func runMissed(job: String, scheduledAt: Date, date: TradeDate, runId: Int64?, reason: String) {
        notify(event(
            .runMissed, summary: "galaxy: the \(job) run scheduled for \(Timestamps.rfc3339(scheduledAt)) was missed",
            configure: { event in
                event.runId = runId
                event.runKind = job
                event.schedule = FailureEvent.Schedule(
                    job: job, scheduledAt: Timestamps.rfc3339(scheduledAt), date: date.iso, reason: reason)
            }))
    }

    private func event(
        _ kind: FailureEvent.Kind, summary: String, configure: (inout FailureEvent) -> Void
    ) -> FailureEvent {
        var event = FailureEvent(
            kind: kind, time: Timestamps.rfc3339(Date()), summary: summary,
            galaxyd: FailureEvent.Daemon(host: Self.hostname, pid: getpid(), version: version))
        configure(&event)
        return event
    }

    private static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return cString(buffer)
    }()

    private static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}

extension FailureEvent {
    init(kind: Kind, time: String, summary: String, galaxyd: Daemon) {
        self.kind = kind
        self.time = time
        self.summary = summary
        self.galaxyd = galaxyd
    }
}

/// A hook's stdout and stderr: the first lines are logged (each at most 1,000 characters), the rest only counted,
/// so a hook that writes megabytes costs a counter.
private final class HookOutput: Sendable {
    let logger: Logger
    private let count = Atomic<Int>(0)

    init(logger: Logger) { self.logger = logger }

    var suppressed: Int { max(0, count.load(ordering: .relaxed) - FailureHooks.loggedLines) }

    @Sendable func line(_ stream: ChildProcess.Stream, _ text: String) {
        let number = count.wrappingAdd(1, ordering: .relaxed).oldValue
        guard number < FailureHooks.loggedLines else { return }
        logger.info("failure hook: \(text.prefix(1000))", metadata: ["stream": "\(stream)"])
    }
}

struct HookError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

private func cString(_ characters: [CChar]) -> String {
    String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
