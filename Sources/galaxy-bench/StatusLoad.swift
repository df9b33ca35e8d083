import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// A closed-loop load of `status` calls: `clients` connections, each with exactly one call outstanding, driven by one
/// thread with poll(2) (epoll is not in Swift's Glibc module; for fifty descriptors poll costs nothing). A call's latency runs from writing its request to reading the end of its answer line.
struct StatusLoad {
    let socket: String
    let clients: Int
    let calls: Int
    let keepConnection: Bool
    private(set) var latencies: [Double] = []  // milliseconds
    private(set) var failures = 0

    init(socket: String, clients: Int, calls: Int, keepConnection: Bool) {
        self.socket = socket
        self.clients = clients
        self.calls = calls
        self.keepConnection = keepConnection
        latencies.reserveCapacity(calls)
    }

    private struct Client {
        var fd: Int32 = -1
        var began: UInt64 = 0
        var answer: [UInt8] = []
    }

    mutating func run() throws {
        var clientsByFD: [Int32: Client] = [:]
        var started = 0

        // Opens a connection (unless kept), sends one request and watches the answer; false if that failed.
        func startCall(_ previous: Client?) -> Bool {
            started += 1
            var client = previous ?? Client()
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
            client.began = DispatchTime.now().uptimeNanoseconds
            let sent = StatusCall.request.withUnsafeBytes {
                send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent == StatusCall.request.count else {
                close(client.fd)
                return false
            }
            clientsByFD[client.fd] = client
            return true
        }

        for _ in 0..<min(clients, calls) where !startCall(nil) { failures += 1 }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !clientsByFD.isEmpty {
            var watched = clientsByFD.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&watched, nfds_t(watched.count), 10_000)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { throw StatusLoadError("no answer from \(socket) within 10 s") }
            for entry in watched where entry.revents != 0 {
                let fd = entry.fd
                guard var client = clientsByFD[fd] else { continue }
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0, errno == EAGAIN || errno == EINTR { continue }
                var complete = false
                if count > 0 {
                    client.answer += buffer[0..<count]
                    complete = buffer[0..<count].contains(UInt8(ascii: "\n"))
                    if !complete {
                        clientsByFD[fd] = client
                        continue
                    }
                }
                let succeeded = complete && Self.isResult(client.answer)
                if succeeded {
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - client.began) / 1e6)
                } else {
                    failures += 1
                }
                clientsByFD[fd] = nil
                if !keepConnection || !succeeded {
                    close(fd)
                    client.fd = -1
                }
                while started < calls {
                    if startCall(client) { break }
                    failures += 1
                    client.fd = -1
                }
                if client.fd >= 0 && clientsByFD[client.fd] == nil { close(client.fd) }
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
