import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// A load of `status` calls: `clients` connections, each with at most one call outstanding, driven by one thread with
/// poll(2) (epoll is not in Swift's Glibc module; for fifty descriptors poll costs nothing). Without a pace the load
/// is closed (each client calls again as soon as it has its answer: a saturation test, where latency is concurrency ÷
/// throughput); with one, each client starts a call every `pace` (a fixed offered load, as polling clients make).
/// A call's latency runs from opening its connection (or, on a kept one, writing its request) to reading the end of
/// its answer line.
struct StatusLoad {
    let socket: String
    let clients: Int
    let calls: Int
    let keepConnection: Bool
    /// Nanoseconds from one call's start to the same client's next; nil for a closed loop.
    let pace: UInt64?
    private(set) var latencies: [Double] = []  // milliseconds
    private(set) var failures = 0

    init(socket: String, clients: Int, calls: Int, keepConnection: Bool, pace: UInt64?) {
        self.socket = socket
        self.clients = clients
        self.calls = calls
        self.keepConnection = keepConnection
        self.pace = pace
        latencies.reserveCapacity(calls)
    }

    private struct Client {
        var fd: Int32 = -1
        var began: UInt64 = 0
        var answer: [UInt8] = []
    }

    private static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    mutating func run() throws {
        var inFlight: [Int32: Client] = [:]
        var waiting: [(at: UInt64, client: Client)] = []
        var started = 0

        // Opens a connection (unless kept), sends one request and watches for the answer; false if that failed.
        func startCall(_ previous: Client) -> Bool {
            started += 1
            var client = previous
            client.began = Self.now
            if client.fd < 0 {
                let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0, StatusCall.connectUnix(fd, socket) else {
                    if fd >= 0 { close(fd) }
                    return false
                }
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                client.fd = fd
            }
            client.answer.removeAll(keepingCapacity: true)
            let sent = StatusCall.request.withUnsafeBytes {
                send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent == StatusCall.request.count else {
                close(client.fd)
                return false
            }
            inFlight[client.fd] = client
            return true
        }

        // Starts the client's next call (now, or at its pace) until one succeeds or all calls are started.
        func next(_ client: Client, after began: UInt64) {
            var client = client
            if let pace, started < calls {
                waiting.append((max(Self.now, began + pace), client))
                return
            }
            while started < calls {
                if startCall(client) { return }
                failures += 1
                client.fd = -1
            }
            if client.fd >= 0 { close(client.fd) }
        }

        // Clients start spread over one pace (or at once), as independent pollers would.
        let count = min(clients, calls)
        let start = Self.now
        for index in 0..<count {
            waiting.append((start + (pace ?? 0) * UInt64(index) / UInt64(count), Client()))
        }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !inFlight.isEmpty || !waiting.isEmpty {
            let now = Self.now
            var due: [Client] = []
            waiting.removeAll { entry in
                guard entry.at <= now else { return false }
                due.append(entry.client)
                return true
            }
            for client in due {
                if started < calls {
                    if !startCall(client) {
                        failures += 1
                        next(Client(), after: now)
                    }
                } else if client.fd >= 0 {
                    close(client.fd)
                }
            }
            if inFlight.isEmpty && waiting.isEmpty { break }  // the last clients were just closed
            let timeout = waiting.map { Int(($0.at > now ? $0.at - now : 0) / 1_000_000) + 1 }.min() ?? 10_000
            var watched = inFlight.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&watched, nfds_t(watched.count), Int32(min(timeout, 10_000)))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 || !waiting.isEmpty else { throw StatusLoadError("no answer from \(socket) within 10 s") }
            for entry in watched where entry.revents != 0 {
                let fd = entry.fd
                guard var client = inFlight[fd] else { continue }
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0, errno == EAGAIN || errno == EINTR { continue }
                var complete = false
                if count > 0 {
                    client.answer += buffer[0..<count]
                    complete = buffer[0..<count].contains(UInt8(ascii: "\n"))
                    if !complete {
                        inFlight[fd] = client
                        continue
                    }
                }
                let succeeded = complete && Self.isResult(client.answer)
                if succeeded {
                    latencies.append(Double(Self.now - client.began) / 1e6)
                } else {
                    failures += 1
                }
                inFlight[fd] = nil
                if !keepConnection || !succeeded {
                    close(fd)
                    client.fd = -1
                }
                next(client, after: client.began)
            }
        }
    }

    private static func isResult(_ answer: [UInt8]) -> Bool {
        String(decoding: answer.prefix(64), as: UTF8.self).contains(#""result":"#)
    }
}

struct StatusLoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
