import Foundation
import GalaxyCore
import GalaxyRPC
import GalaxyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hostile and broken clients on galaxyd's control socket, while a well-behaved client keeps calling `status`:
/// a seeded fuzzer over the decoder and the framing (random bytes, mutated requests, absurd JSON, oversized lines),
/// thousands of connections, connections beyond the server's limit, and half-open clients that send part of a line
/// and stall. The daemon must keep answering the well-behaved client, and must answer every line it answers at all
/// with a JSON-RPC response.
@Suite(.serialized) struct ControlSocketAbuseTests {
    static let seed = UInt64(ProcessInfo.processInfo.environment["GALAXY_FAULT_SEED"] ?? "") ?? 20_260_313

    func startDaemon() async throws -> (FaultDaemon, KRXSimProcess, TestDatabase) {
        let sim = try await KRXSimProcess.scenario()
        let database = try TestDatabase.create()
        let daemon = try await FaultDaemon(databaseURL: database.url, sim: sim)
        return (daemon, sim, database)
    }

    @Test func fuzzedLinesAndThousandsOfConnectionsNeverStopStatus() async throws {
        let (daemon, sim, database) = try await startDaemon()
        defer {
            daemon.finish()
            database.drop()
            Task { _ = await sim.stop() }
        }
        let watcher = StatusWatcher(socketPath: daemon.socketPath, interval: .milliseconds(20))
        let path = daemon.socketPath

        // 1. The fuzzer: 8 connections at a time, 25 lines each, 4,000 lines in all.
        let lines = FuzzLines.generate(count: 4_000, seed: Self.seed)
        let batches = stride(from: 0, to: lines.count, by: 25).map { Array(lines[$0..<min($0 + 25, lines.count)]) }
        let fuzz = try await onThreads(count: 8, items: batches) { batch in
            RawConnection.exchange(path: path, lines: batch)
        }
        let answers = fuzz.flatMap(\.answers)
        let bad = answers.filter { !FuzzLines.isResponse($0) }
        #expect(bad.isEmpty, "\(bad.count) answers are not JSON-RPC responses, e.g. \(bad.prefix(2)) (seed \(Self.seed))")
        #expect(answers.count > lines.count / 4, "only \(answers.count) answers to \(lines.count) lines")
        #expect(daemon.process.exit == nil, "galaxyd died under the fuzzer (seed \(Self.seed)):\n\(daemon.output.tail)")

        // 2. Thousands of connections, 12 at a time (under the per-uid limit of 16, with room for the well-behaved
        //    client, which runs as the same uid): each asks `status` and closes.
        let connections = 3_000
        let churn = try await onThreads(count: 12, items: Array(0..<connections)) { _ in
            RawConnection.exchange(path: path, lines: [Array(#"{"jsonrpc":"2.0","id":7,"method":"status"}"#.utf8)])
        }
        let served = churn.filter { $0.answers.first.map { $0.contains(#""result":"#) } ?? false }.count
        #expect(served == connections, "\(connections - served) of \(connections) connections got no status")

        // 3. Half-open clients under the limit: a partial line, then silence. Each is closed by the server's line
        //    timeout, and meanwhile nobody else waits for them.
        let stalled = (0..<12).compactMap { _ in RawConnection.open(path: path) }
        for fd in stalled { _ = RawConnection.send(fd, Array(#"{"jsonrpc":"2.0","id":1,"meth"#.utf8)) }
        let closedByServer = try await onThreads(count: 12, items: stalled) { fd in
            RawConnection.waitForClose(fd, timeoutSeconds: 30)
        }
        #expect(closedByServer.allSatisfy { $0 }, "every stalled client was disconnected by the daemon")

        let seen = await watcher.stop()
        #expect(seen.failed.isEmpty, "the well-behaved client's status failed \(seen.failed.count) times: \(seen.failed.prefix(3))")
        #expect(seen.succeeded > 20)
        #expect(daemon.process.exit == nil)
        ScenarioReport.record(
            "control socket: fuzzer, 3,000 connections, half-open clients",
            "\(lines.count) fuzzed lines → \(answers.count) answers, all JSON-RPC; \(served)/\(connections) connections "
                + "served; \(stalled.count) stalled clients closed by the daemon; well-behaved status \(seen.succeeded)/"
                + "\(seen.succeeded + seen.failed.count) succeeded")
    }

    @Test func connectionsBeyondTheLimitAreRefusedWithAnAnswer() async throws {
        let (daemon, sim, database) = try await startDaemon()
        defer {
            daemon.finish()
            database.drop()
            Task { _ = await sim.stop() }
        }
        let path = daemon.socketPath
        // 300 silent connections from one uid (limits: 256 in all, 16 per uid; root is exempt from the latter): the
        // excess ones are told so at once and closed, none hangs.
        let held = (0..<300).compactMap { _ in RawConnection.open(path: path) }
        let outcomes = try await onThreads(count: 300, items: held) { fd in
            RawConnection.readLine(fd, timeoutSeconds: 3)
        }
        let refused = outcomes.compactMap { $0 }.filter { $0.contains(#""error":"#) }
        let admitted = held.count - refused.count
        #expect(admitted >= 1 && admitted <= 256, "\(admitted) of \(held.count) admitted; the limit is 256 (16 per uid)")
        #expect(outcomes.compactMap { $0 }.count == refused.count, "an admitted silent connection got an answer")
        #expect(refused.allSatisfy(FuzzLines.isResponse))
        #expect(refused.allSatisfy { $0.localizedCaseInsensitiveContains("too many connections") })

        // Once they are gone, status works again at once.
        for fd in held { close(fd) }
        let good = RPCClient(socketPath: path, timeout: .seconds(5))
        try await waitUntil("status after the idle clients left", timeout: .seconds(10)) {
            (try? await good.call(method: "status")) != nil
        }
        #expect(daemon.process.exit == nil)
        ScenarioReport.record(
            "control socket: 300 silent connections from one uid",
            "\(admitted) admitted (root is exempt from the per-uid limit of 16), \(refused.count) refused at once with a JSON-RPC error, none hung; "
                + "status works again as soon as they close")
    }
}

extension ControlSocketAbuseTests {
    /// `printf '{"jsonrpc":"2.0","id":1,"method":"status"}\n' | nc -U control.sock`: the request arrives together
    /// with the end of the client's input, and is still owed its answer. (Before GalaxyRPC held lines and
    /// end-of-input until a connection was attached, this was a race the daemon sometimes lost: no answer, and the
    /// connection held until the idle timeout.) Repeated, since it was a race.
    @Test func aRequestFollowedByHalfCloseIsAnswered() async throws {
        let (daemon, sim, database) = try await startDaemon()
        defer {
            daemon.finish()
            database.drop()
            Task { _ = await sim.stop() }
        }
        let path = daemon.socketPath
        let rounds = try await onThreads(count: 4, items: Array(0..<40)) { _ in
            RawConnection.halfClosedExchange(
                path: path, line: Array(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#.utf8), timeoutSeconds: 5)
        }
        let unanswered = rounds.filter { $0.count != 1 }
        #expect(unanswered.isEmpty, "\(unanswered.count) of \(rounds.count) half-closed requests got no single answer")
        let answers = rounds.first ?? []
        #expect(answers.count == 1 && answers.allSatisfy { $0.contains(#""result":"#) },
                "answers to a half-closed request: \(answers)")
        // The daemon itself is unharmed: a normal client is answered.
        _ = try await daemon.client.call(method: "status")
        ScenarioReport.record(
            "control socket: request + half-close (printf … | nc -U)",
            "\(rounds.count - unanswered.count)/\(rounds.count) requests sent with the client's EOF were answered")
    }
}

/// Runs blocking socket work on plain threads (never on the cooperative pool), `count` at a time.
func onThreads<Item: Sendable, Output: Sendable>(
    count: Int, items: [Item], _ body: @escaping @Sendable (Item) -> Output
) async throws -> [Output] {
    let queue = WorkQueue<Output>()
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let group = DispatchGroup()
        for _ in 0..<max(1, min(count, items.count)) {
            group.enter()
            let thread = Thread {
                while let index = queue.take(below: items.count) {
                    queue.put(index, body(items[index]))
                }
                group.leave()
            }
            thread.stackSize = 512 << 10
            thread.start()
        }
        group.notify(queue: .global()) { continuation.resume() }
    }
    return queue.ordered(count: items.count)
}

/// The shared cursor and results of ``onThreads`` (plain threads, so a lock rather than an actor).
final class WorkQueue<Output: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var results: [Int: Output] = [:]

    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        defer { next += 1 }
        return next
    }

    func put(_ index: Int, _ output: Output) {
        lock.lock()
        defer { lock.unlock() }
        results[index] = output
    }

    func ordered(count: Int) -> [Output] {
        lock.lock()
        defer { lock.unlock() }
        return (0..<count).compactMap { results[$0] }
    }
}

/// Blocking Unix-socket client operations for the abuse tests.
enum RawConnection {
    struct Exchange: Sendable {
        var answers: [String]
    }

    static func open(path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    static func setReceiveTimeout(_ fd: Int32, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The request that ends every exchange: answers come in request order, so its answer means every answer to the
    /// lines before it has arrived.
    static let sentinel = Array(#"{"jsonrpc":"2.0","id":"end-of-exchange","method":"status"}"#.utf8)

    /// Sends every line (newline added) and then the sentinel, and reads answer lines until the sentinel's answer
    /// (or until the server closes, e.g. after a line over the size limit). The sentinel's answer is not returned.
    static func exchange(path: String, lines: [[UInt8]]) -> Exchange {
        guard let fd = open(path: path) else { return Exchange(answers: []) }
        defer { close(fd) }
        setReceiveTimeout(fd, seconds: 20)
        // Answers are small and the socket buffers hold them until we read, so writing everything first is safe.
        for line in lines + [sentinel] where !send(fd, line + [UInt8(ascii: "\n")]) { break }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !String(decoding: received.suffix(4096), as: UTF8.self).contains(#""id":"end-of-exchange""#) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        let answers = received.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        return Exchange(answers: answers.filter { !$0.contains(#""id":"end-of-exchange""#) })
    }

    /// Sends `line`, half-closes the connection (as `printf … | nc -U` does), and reads until the server closes or
    /// the timeout passes.
    static func halfClosedExchange(path: String, line: [UInt8], timeoutSeconds: Int) -> [String] {
        guard let fd = open(path: path) else { return [] }
        defer { close(fd) }
        setReceiveTimeout(fd, seconds: timeoutSeconds)
        _ = send(fd, line + [UInt8(ascii: "\n")])
        shutdown(fd, Int32(SHUT_WR))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return received.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The first line the server sends, or nil when none came within the timeout (or it closed silently).
    static func readLine(_ fd: Int32, timeoutSeconds: Int) -> String? {
        setReceiveTimeout(fd, seconds: timeoutSeconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(UInt8(ascii: "\n")) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            received += buffer[0..<count]
        }
        return String(decoding: received.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// True once the server closed the connection (EOF or reset), false if it was still open after the timeout.
    static func waitForClose(_ fd: Int32, timeoutSeconds: Int) -> Bool {
        defer { close(fd) }
        setReceiveTimeout(fd, seconds: timeoutSeconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }
}

/// The fuzzer's input: a seeded mix of mutated valid requests, random bytes and pathological JSON.
enum FuzzLines {
    /// Requests safe to mutate: none of them, mutated or not, can start work.
    static let templates: [String] = [
        #"{"jsonrpc":"2.0","id":1,"method":"status"}"#,
        #"{"jsonrpc":"2.0","id":"a","method":"status","params":{"runId":12}}"#,
        #"{"jsonrpc":"2.0","id":null,"method":"rpc.discover"}"#,
        #"{"jsonrpc":"2.0","id":3,"method":"cancel","params":{"runId":424242}}"#,
        #"[{"jsonrpc":"2.0","id":1,"method":"status"},{"jsonrpc":"2.0","method":"status"}]"#,
        #"{"jsonrpc":"2.0","id":4.5,"method":"status","params":[]}"#,
    ]

    static func generate(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(max(1, n))) }
        var lines: [[UInt8]] = []
        for index in 0..<count {
            var line: [UInt8]
            switch index % 10 {
            case 0, 1, 2, 3, 4:  // mutated template: flips, deletions, insertions, truncation, duplication
                line = Array(templates[below(templates.count)].utf8)
                for _ in 0...below(6) {
                    guard !line.isEmpty else { break }
                    let at = below(line.count)
                    switch below(5) {
                    case 0: line[at] = UInt8(truncatingIfNeeded: random.next())
                    case 1: line.remove(at: at)
                    case 2: let punctuation = Array(#"{}[]",:0-e."#.utf8)
                        line.insert(punctuation[below(punctuation.count)], at: at)
                    case 3: line = Array(line[..<at])
                    default: line += line[at...]
                    }
                }
            case 5:  // random bytes
                line = (0..<below(300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case 6:  // deep nesting
                let depth = 1 + below(20_000)
                line = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
            case 7:  // absurd values in a well-formed envelope
                let values = [
                    String(repeating: "9", count: 5_000), "1e999999", "-0.0000000000000000001e-999", "\"\\ud800\"",
                    "\"" + String(repeating: "가", count: 20_000) + "\"", "{\"a\":" + String(repeating: "{\"a\":", count: 200) + "1"
                        + String(repeating: "}", count: 201), "true", "null",
                ]
                line = Array(#"{"jsonrpc":"2.0","id":"#.utf8) + Array(values[below(values.count)].utf8)
                    + Array(#","method":"status"}"#.utf8)
            case 8:  // batches: empty, oversized, of junk
                switch below(3) {
                case 0: line = Array("[]".utf8)
                case 1: line = Array(("[" + Array(repeating: templates[0], count: 150).joined(separator: ",") + "]").utf8)
                default: line = Array(("[1,\"x\",null,{}," + templates[0] + "]").utf8)
                }
            default:  // invalid UTF-8 inside strings, NULs, a line over the 1 MiB limit now and then
                if below(40) == 0 {
                    line = Array(#"{"jsonrpc":"2.0","id":1,"method":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 1 << 20 + 10)
                } else {
                    line = Array(#"{"jsonrpc":"2.0","id":1,"method":"st"#.utf8) + [0xC3, 0x28, 0x00, 0xFF] + Array(#"atus"}"#.utf8)
                }
            }
            lines.append(line.filter { $0 != UInt8(ascii: "\n") })
        }
        return lines
    }

    /// A JSON-RPC 2.0 response object, or a non-empty array of them.
    static func isResponse(_ text: String) -> Bool {
        guard let value = try? JSONValue(parsing: text) else { return false }
        func single(_ value: JSONValue) -> Bool {
            value["jsonrpc"] == .string("2.0") && (value["result"] != nil || value["error"] != nil) && value["id"] != nil
        }
        if case .array(let items) = value { return !items.isEmpty && items.allSatisfy(single) }
        return single(value)
    }
}
