import CGalaxyProcess
import FoundationEssentials
import GalaxyCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What to run as one isolated child: an executable, its arguments and its whole environment.
///
/// The environment is explicit on purpose: a child never inherits the daemon's `NOTIFY_SOCKET`, `LISTEN_FDS`,
/// `WATCHDOG_*` or anything else the daemon happened to have; it gets what its spec says and nothing more.
public struct ChildSpec: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// The child's `oom_score_adj`, written as soon as it exists; nil keeps the one it inherits from galaxyd.
    public var oomScoreAdjustment: Int?

    public init(
        executable: String, arguments: [String], environment: [String: String], oomScoreAdjustment: Int? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.oomScoreAdjustment = oomScoreAdjustment
    }
}

/// How a child ended, and what it cost.
public struct ChildExit: Sendable, Equatable, CustomStringConvertible {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    public var termination: Termination
    public var runtime: Duration
    /// Peak resident set size in KiB (`ru_maxrss` from wait4).
    public var peakRSSKiB: Int

    public var succeeded: Bool { termination == .exited(0) }

    public var description: String {
        switch termination {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(ChildExit.signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }
}

/// A child's spawn failed before it ran (missing executable, no permission, too many processes).
public struct SpawnError: Error, CustomStringConvertible, Sendable {
    public let executable: String
    public let errno: Int32
    public var description: String {
        "cannot start \(executable): \(String(cString: strerror(errno)))"
            + (errno == ENOENT ? " (check GALAXY_COLLECTOR)" : "")
    }
}

/// One child process in its own session, watched by a dedicated thread.
///
/// Why not Foundation.Process: on Linux it cannot create a session, so signals cannot reach a collector's whole
/// process group, and it gives no rusage. Why a dedicated thread: reading the child's pipes and reaping it are
/// blocking calls, which must not occupy one of the two threads of Swift's cooperative pool. The thread polls the
/// child's stdout, stderr and a pidfd, hands every output line to `onOutput`, and reaps the child with `wait4` once
/// the pidfd says it exited — so a grandchild that keeps a pipe open cannot hide the child's death.
///
/// The child's stdin is a pipe whose write end only this process holds: when the supervisor dies, even by SIGKILL,
/// the kernel closes it and a collector started with `--supervised` sees EOF and exits.
public final class ChildProcess: Sendable {
    public enum Stream: Sendable { case stdout, stderr }

    public let pid: pid_t
    public let startedAt: ContinuousClock.Instant
    private let state: Mutex<State>

    private struct State {
        var exit: ChildExit?
        var waiters: [Int: CheckedContinuation<ChildExit?, Never>] = [:]
        var nextWaiter = 0
        /// Waits that timed out or were cancelled before they were registered.
        var givenUp: Set<Int> = []
        var stdinWriteEnd: Int32
    }

    /// Starts the child. `onOutput` is called on the monitor thread for each complete line (without the newline,
    /// at most 64 KiB; longer lines are split) and must not block.
    ///
    /// - Parameter standardInput: a file the child reads as stdin instead of the supervisor pipe (a failure hook's
    ///   event); the caller keeps and closes its own descriptor.
    public static func spawn(
        _ spec: ChildSpec, standardInput: Int32? = nil, onOutput: @escaping @Sendable (Stream, String) -> Void
    ) throws -> ChildProcess {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        if standardInput == nil, galaxy_pipe_cloexec(&stdinPipe) != 0 {
            throw SpawnError(executable: spec.executable, errno: errno)
        }
        guard galaxy_pipe_cloexec(&stdoutPipe) == 0 else {
            let saved = errno
            closeAll(stdinPipe)
            throw SpawnError(executable: spec.executable, errno: saved)
        }
        guard galaxy_pipe_cloexec(&stderrPipe) == 0 else {
            let saved = errno
            closeAll(stdinPipe + stdoutPipe)
            throw SpawnError(executable: spec.executable, errno: saved)
        }

        let argv = ([spec.executable] + spec.arguments).map { strdup($0) }
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                galaxy_spawn(
                    spec.executable, argvBuffer.baseAddress, envpBuffer.baseAddress, standardInput ?? stdinPipe[0],
                    stdoutPipe[1], stderrPipe[1], &pid)
            }
        }
        // The child has its own copies of these ends (or never started).
        if standardInput == nil { close(stdinPipe[0]) }
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard result == 0 else {
            closeAll([stdinPipe[1], stdoutPipe[0], stderrPipe[0]])
            throw SpawnError(executable: spec.executable, errno: result)
        }
        if let adjustment = spec.oomScoreAdjustment { Self.setOOMScoreAdjustment(adjustment, of: pid) }
        let pidfd = galaxy_pidfd_open(pid)
        let child = ChildProcess(pid: pid, stdinWriteEnd: stdinPipe[1])
        let (stdoutRead, stderrRead) = (stdoutPipe[0], stderrPipe[0])
        DedicatedThread.start(name: "galaxy-child-\(pid)") {
            child.monitor(pidfd: pidfd, stdout: stdoutRead, stderr: stderrRead, onOutput: onOutput)
        }
        return child
    }

    /// Raising a process's `oom_score_adj` needs no privilege when it runs as our user; failure (no /proc, a child
    /// already gone) leaves the inherited value, which is only less precise.
    private static func setOOMScoreAdjustment(_ adjustment: Int, of pid: pid_t) {
        guard let file = fopen("/proc/\(pid)/oom_score_adj", "w") else { return }
        fputs("\(adjustment)\n", file)
        fclose(file)
    }

    private init(pid: pid_t, stdinWriteEnd: Int32) {
        self.pid = pid
        self.startedAt = .now
        self.state = Mutex(State(stdinWriteEnd: stdinWriteEnd))
    }

    /// nil while the child runs.
    public var exit: ChildExit? { state.withLock { $0.exit } }

    /// Waits (without blocking a thread) until the child has exited and been reaped.
    public func wait() async -> ChildExit {
        while true {
            if let exit = await wait(timeout: .seconds(3600)) { return exit }
        }
    }

    /// Waits until the child has exited or `timeout` has passed (nil), whichever comes first. Also returns nil early
    /// when the calling task is cancelled, so a supervisor loop can react to cancellation and deadlines at once.
    public func wait(timeout: Duration) async -> ChildExit? {
        let token: Int = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.giveUp(token)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done: ChildExit?? = state.withLock { state in
                    if let exit = state.exit { return .some(exit) }
                    if state.givenUp.remove(token) != nil { return .some(nil) }
                    state.waiters[token] = continuation
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            timer.cancel()
            giveUp(token)
        }
    }

    /// Ends the wait `token` with nil (a timeout or cancellation), also when it comes before the wait is registered.
    private func giveUp(_ token: Int) {
        let waiter = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: token) else {
                if state.exit == nil { state.givenUp.insert(token) }
                return nil as CheckedContinuation<ChildExit?, Never>?
            }
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Sends `signal` to the child's whole process group. Does nothing once the child has been reaped, so a
    /// recycled pid is never signalled.
    public func signalGroup(_ signal: Int32) {
        state.withLock { state in
            guard state.exit == nil else { return }
            _ = kill(-pid, signal)
        }
    }

    /// SIGTERM to the group, then SIGKILL if the child has not exited within `grace`. Returns how it ended.
    @discardableResult
    public func terminate(grace: Duration) async -> ChildExit {
        signalGroup(SIGTERM)
        let killer = Task {
            try await Task.sleep(for: grace)
            signalGroup(SIGKILL)
        }
        let exit = await wait()
        killer.cancel()
        return exit
    }

    /// Closes the child's stdin, which a `--supervised` collector takes as "the supervisor is gone".
    public func closeStdin() {
        state.withLock { state in
            if state.stdinWriteEnd >= 0 {
                close(state.stdinWriteEnd)
                state.stdinWriteEnd = -1
            }
        }
    }

    private func monitor(
        pidfd: Int32, stdout: Int32, stderr: Int32, onOutput: @Sendable (Stream, String) -> Void
    ) {
        var outputs: [(fd: Int32, stream: Stream, pending: [UInt8])] = [(stdout, .stdout, []), (stderr, .stderr, [])]
        var exited = pidfd < 0  // Without a pidfd (old kernel), EOF on both pipes stands for the exit.
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var exitSeenAt: ContinuousClock.Instant?

        func emit(_ index: Int, flushAll: Bool) {
            while let newline = outputs[index].pending.firstIndex(of: UInt8(ascii: "\n")) {
                onOutput(outputs[index].stream, String(decoding: outputs[index].pending[..<newline], as: UTF8.self))
                outputs[index].pending.removeSubrange(...newline)
            }
            if flushAll || outputs[index].pending.count >= 65_536, !outputs[index].pending.isEmpty {
                onOutput(outputs[index].stream, String(decoding: outputs[index].pending, as: UTF8.self))
                outputs[index].pending.removeAll()
            }
        }

        while !outputs.isEmpty {
            var fds = outputs.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if !exited { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            // After the child exited, drain what is buffered but do not wait for a grandchild holding the pipe.
            let timeout: Int32 = exited ? 100 : -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if !exited, let last = fds.last, last.fd == pidfd, last.revents != 0 {
                exited = true
                exitSeenAt = .now
            }
            if ready == 0, exited { break }
            var finished: [Int] = []
            for index in outputs.indices where fds[index].revents != 0 {
                let count = read(outputs[index].fd, &buffer, buffer.count)
                if count > 0 {
                    outputs[index].pending.append(contentsOf: buffer[0..<count])
                    emit(index, flushAll: false)
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    emit(index, flushAll: true)
                    finished.append(index)
                }
            }
            for index in finished.reversed() {
                close(outputs[index].fd)
                outputs.remove(at: index)
            }
            if let seen = exitSeenAt, ContinuousClock.now - seen > .seconds(1) { break }
        }
        for index in outputs.indices {
            emit(index, flushAll: true)
            close(outputs[index].fd)
        }

        var status: Int32 = 0
        var usage = rusage()
        // Mark the child reaped under the lock so signalGroup can never hit a recycled pid.
        let result = state.withLock { state -> ChildExit in
            _ = galaxy_wait4(pid, &status, &usage)
            let termination: ChildExit.Termination =
                galaxy_wifsignaled(status) != 0
                ? .signaled(galaxy_wtermsig(status)) : .exited(galaxy_wexitstatus(status))
            let exit = ChildExit(termination: termination, runtime: .now - startedAt, peakRSSKiB: usage.ru_maxrss)
            state.exit = exit
            if state.stdinWriteEnd >= 0 {
                close(state.stdinWriteEnd)
                state.stdinWriteEnd = -1
            }
            return exit
        }
        if pidfd >= 0 { close(pidfd) }
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }
}
