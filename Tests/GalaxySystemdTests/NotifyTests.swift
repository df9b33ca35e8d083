import GalaxySystemd
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A short private directory under /tmp for socket files (paths must stay under 108 bytes).
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/gsd.XXXXXX".utf8CString)
        path = String(cString: mkdtemp(&template)!)
    }

    func remove() {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

@Suite("sd_notify: sender and fake-systemd listener", .timeLimit(.minutes(1)))
struct NotifyTests {
    @Test("READY=1 and STATUS reach a listener with the sender's pid and uid", arguments: ["path", "abstract"])
    func readyReachesListener(kind: String) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let address =
            kind == "path"
            ? directory.path + "/notify.sock" : "@galaxy-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let listener = try NotifyListener(address: address)
        defer { listener.close() }
        let notifier = try ServiceNotifier(socket: address)
        #expect(notifier.isEnabled)
        try notifier.ready(status: "listening on /run/galaxyd/control.sock")
        var messages = listener.messages.makeAsyncIterator()
        let message = try #require(await messages.next())
        #expect(message.isReady)
        #expect(message.status == "listening on /run/galaxyd/control.sock")
        #expect(message.senderPID == getpid())
        #expect(message.senderUID == geteuid())
        #expect(message.assignments.map(\.key) == ["READY", "STATUS"])
    }

    @Test("WATCHDOG=1 arrives periodically at half the watchdog timeout")
    func periodicWatchdog() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let address = directory.path + "/notify.sock"
        let listener = try NotifyListener(address: address)
        defer { listener.close() }
        let notifier = try ServiceNotifier(socket: address)
        // A supervisor-like loop: ticks often, pings only when the watchdog timer says so.
        var watchdog = WatchdogTimer(timeout: .milliseconds(200))
        #expect(watchdog.pingInterval == .milliseconds(100))
        let loop = Task {
            while !Task.isCancelled {
                if watchdog.isDue() {
                    // The send time travels with the ping, so the check below does not depend on when the
                    // receiving task happens to be scheduled.
                    try notifier.notify([.watchdog, .custom(key: "X_SENT_NS", value: String(monotonicNanoseconds()))])
                    watchdog.recordPing()
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { loop.cancel() }
        var messages = listener.messages.makeAsyncIterator()
        var sentAt: [UInt64] = []
        while sentAt.count < 5 {
            let message = try #require(await messages.next())
            #expect(message.isWatchdog)
            sentAt.append(try #require(UInt64(message["X_SENT_NS"] ?? "")))
        }
        let gapsMS = zip(sentAt.dropFirst(), sentAt).map { ($0 - $1) / 1_000_000 }
        // Never more often than the interval, and not starved either.
        #expect(gapsMS.allSatisfy { $0 >= 100 }, "pings too frequent: \(gapsMS) ms")
        // An upper bound only catches a loop that stopped pinging; the machine may be busy, so it is generous.
        #expect(gapsMS.allSatisfy { $0 < 10_000 }, "pings too rare: \(gapsMS) ms")
    }

    @Test("STOPPING=1, EXTEND_TIMEOUT_USEC, RELOADING with MONOTONIC_USEC, custom X_ keys")
    func otherStates() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let address = directory.path + "/n.sock"
        let listener = try NotifyListener(address: address)
        defer { listener.close() }
        let notifier = try ServiceNotifier(socket: address)
        try notifier.stopping(status: "stopping: 2 children")
        try notifier.extendTimeout(by: .seconds(30))
        try notifier.notify([.reloading])
        try notifier.notify([.custom(key: "X_PROGRESS", value: "12/250 days"), .errno(5)])
        var messages = listener.messages.makeAsyncIterator()
        let stopping = try #require(await messages.next())
        #expect(stopping.isStopping)
        #expect(stopping.status == "stopping: 2 children")
        #expect(try #require(await messages.next())["EXTEND_TIMEOUT_USEC"] == "30000000")
        let reloading = try #require(await messages.next())
        #expect(reloading["RELOADING"] == "1")
        #expect(UInt64(reloading["MONOTONIC_USEC"] ?? "") ?? 0 > 0)
        let custom = try #require(await messages.next())
        #expect(custom["X_PROGRESS"] == "12/250 days")
        #expect(custom["ERRNO"] == "5")
    }

    @Test("the listener's stream ends when it is closed, and a path socket file is removed")
    func listenerClose() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let address = directory.path + "/n.sock"
        let listener = try NotifyListener(address: address)
        var info = stat()
        #expect(lstat(address, &info) == 0)
        listener.close()
        var messages = listener.messages.makeAsyncIterator()
        #expect(await messages.next() == nil)
        #expect(lstat(address, &info) != 0)
        listener.close()  // idempotent
    }

    @Test("STATUS text is one line and cut to a bounded length at a character boundary")
    func statusSanitised() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let address = directory.path + "/n.sock"
        let listener = try NotifyListener(address: address)
        defer { listener.close() }
        let notifier = try ServiceNotifier(socket: address)
        try notifier.status("line one\nline two\tand\u{0}more")
        try notifier.status(String(repeating: "수집", count: 200))
        var messages = listener.messages.makeAsyncIterator()
        let first = try #require(await messages.next())
        #expect(first.status == "line one line two and more")
        #expect(first.assignments.count == 1)
        let second = try #require(await messages.next())
        let long = try #require(second.status)
        #expect(long.utf8.count <= NotifyState.maxStatusBytes)
        #expect(long.hasSuffix("…"))
        #expect(long.hasPrefix("수집수집"))
    }

    @Test("without a notify socket every send is a no-op; with a dead one it is an error")
    func disabledAndDead() throws {
        let disabled = try ServiceNotifier(socket: nil)
        #expect(!disabled.isEnabled)
        #expect(try disabled.notify(.ready) == false)
        let dead = try ServiceNotifier(socket: "/tmp/no-such-dir-galaxy/notify.sock")
        #expect(throws: NotifySocketError.self) { try dead.notify(.ready) }
        #expect(throws: NotifySocketError.self) { try ServiceNotifier(socket: "vsock:2:1234") }
    }

    @Test("notify socket addresses", arguments: [
        ("/run/systemd/notify", true, false),
        ("@/org/freedesktop/systemd1/notify", true, true),
        ("relative/path", false, false),
        ("", false, false),
        ("@", false, false),
        ("vsock:2:1234", false, false),
        ("/" + String(repeating: "x", count: 120), false, false),
    ])
    func addresses(text: String, valid: Bool, abstract: Bool) {
        let address = NotifySocketAddress(text)
        #expect((address != nil) == valid)
        #expect(address?.isAbstract ?? false == abstract)
    }

    @Test("the watchdog timer is due at start and then every half timeout")
    func watchdogTimer() {
        var timer = WatchdogTimer(timeout: .seconds(30))
        let start = ContinuousClock.now
        #expect(timer.pingInterval == .seconds(15))
        #expect(timer.isDue(at: start))
        timer.recordPing(at: start)
        #expect(!timer.isDue(at: start + .seconds(14)))
        #expect(timer.isDue(at: start + .seconds(15)))
        #expect(timer.nextPing(after: start) == start + .seconds(15))
    }
}

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
