import Foundation
import GalaxyCore
import GalaxySystemd
import Synchronization

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

    /// Feeds the board from a listener until the listener closes.
    func consume(_ listener: NotifyListener) async {
        for await message in listener.messages { record(message) }
    }
}
