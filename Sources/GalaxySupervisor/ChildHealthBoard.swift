import FoundationEssentials
import GalaxyCore
import GalaxySystemd
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the children last said about themselves, by pid.
///
/// Every collector sends its notify datagrams to one socket of galaxyd's; the kernel stamps each with the sender's pid
/// (SO_PASSCRED), which is how a `WATCHDOG=1` finds its task. Anything a child sends counts as a sign of life.
final class ChildHealthBoard: Sendable {
    struct Health: Sendable {
        var ready = false
        var lastSign: ContinuousClock.Instant
        var lastHeartbeat: Date?
        var status: String?
        var progress: CollectorProgress?
    }

    private let entries = Mutex<[Int32: Health]>([:])
    private let barriers = Mutex<(next: Int, waiting: [Int: CheckedContinuation<Void, Never>])>((0, [:]))
    private let ownPID = getpid()
    static let barrierKey = "X_GALAXY_BARRIER"

    func register(_ pid: Int32) {
        entries.withLock { $0[pid] = Health(lastSign: .now) }
    }

    func remove(_ pid: Int32) -> Health? {
        entries.withLock { $0.removeValue(forKey: pid) }
    }

    func health(of pid: Int32) -> Health? { entries.withLock { $0[pid] } }

    /// Applies one datagram. Messages from unknown pids (a grandchild, a stray process) are ignored.
    func record(_ message: NotifyMessage) {
        guard let pid = message.senderPID else { return }
        if pid == ownPID, let token = message[Self.barrierKey].flatMap({ Int($0) }) {
            let waiter = barriers.withLock { $0.waiting.removeValue(forKey: token) }
            waiter?.resume()
            return
        }
        entries.withLock { entries in
            guard var health = entries[pid] else { return }
            health.lastSign = .now
            health.lastHeartbeat = Date()
            if message.isReady { health.ready = true }
            if let status = message.status { health.status = status }
            if let value = message[CollectorProgress.key], let progress = CollectorProgress(value: value) {
                health.progress = progress
            }
            entries[pid] = health
        }
    }

    /// Waits until every datagram already queued on the children's socket has been applied: a child's last
    /// progress report is sent just before it exits, and must not be lost because its exit was seen first. Like
    /// `sd_notify_barrier`, it sends a marker through the same socket (FIFO) and waits for it to come out.
    func barrier(socketPath: String, timeout: Duration = .seconds(2)) async {
        guard let notifier = try? ServiceNotifier(socket: socketPath) else { return }
        let token = barriers.withLock { state -> Int in
            defer { state.next += 1 }
            return state.next
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = barriers.withLock { $0.waiting.removeValue(forKey: token) }
            waiter?.resume()
        }
        await withCheckedContinuation { continuation in
            barriers.withLock { $0.waiting[token] = continuation }
            if (try? notifier.notify(.custom(key: Self.barrierKey, value: String(token)))) != true {
                let waiter = barriers.withLock { $0.waiting.removeValue(forKey: token) }
                waiter?.resume()
            }
        }
        timer.cancel()
    }

    /// Feeds the board from a listener until the listener closes.
    func consume(_ listener: NotifyListener) async {
        for await message in listener.messages { record(message) }
    }
}
