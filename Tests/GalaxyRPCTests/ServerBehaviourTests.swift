import GalaxyRPC
import NIOCore
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Control server: limits, listen modes, shutdown")
struct ServerBehaviourTests {
    @Test("a line over the limit gets -32001, then the connection is closed")
    func oversizedLine() async throws {
        try await withServer { _, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":1}"#)
                // 2 MiB inside a JSON string, sent in pieces as a real client would.
                try await connection.send(#"{"jsonrpc":"2.0","method":"get_data","id":2,"params":{"x":""#)
                let chunk = String(repeating: "a", count: 64 * 1024)
                // The server may close before the last pieces are written; the client then stops sending.
                sending: for _ in 0..<32 {
                    do { try await connection.send(chunk) } catch { break sending }
                }
                try? await connection.send("\"}}\n")
                let first = try await connection.readJSON()
                #expect(first["id"] == 1)
                let error = try await connection.readJSON()
                #expect(error["error"]?["code"] == .integer(-32001))
                #expect(error["error"]?["data"]?["maxLineBytes"] == .integer(1 << 20))
                #expect(error["id"] == .null)
                #expect(try await connection.readLine() == nil, "the connection stays open after an oversized line")
            }
        }
    }

    @Test("a configured smaller limit applies to a complete line too")
    func smallLimit() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxLineBytes = 100
        try await withServer(configuration: configuration) { _, path in
            try await withConnection(to: path) { connection in
                let padding = String(repeating: "x", count: 200)
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":2,"p":"\#(padding)"}"#)
                #expect(try await connection.readJSON()["error"]?["code"] == .integer(-32001))
                #expect(try await connection.readLine() == nil)
            }
        }
    }

    @Test("an idle client is closed after the idle timeout while another client is served")
    func idleClientClosed() async throws {
        var configuration = RPCServerConfiguration()
        // Generous, so that the served client's own connections are not idle before their request arrives on a
        // busy machine.
        configuration.idleTimeout = .seconds(5)
        try await withServer(configuration: configuration) { server, path in
            try await withConnection(to: path) { idle in
                let start = ContinuousClock.now
                // Meanwhile another client makes calls and is answered.
                let client = RPCClient(socketPath: path)
                for _ in 0..<5 {
                    let answer = try await client.call(method: "get_data")
                    #expect(answer == ["hello", 5])
                }
                let closed = try await idle.readLine()
                #expect(closed == nil)
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .seconds(4))
                #expect(elapsed < .seconds(30))
            }
            _ = server
        }
    }

    @Test("a client that starts a line and never finishes it is closed after the line timeout")
    func unfinishedLineClosed() async throws {
        var configuration = RPCServerConfiguration()
        configuration.lineTimeout = .milliseconds(300)
        configuration.idleTimeout = .seconds(120)
        try await withServer(configuration: configuration) { _, path in
            try await withConnection(to: path) { connection in
                let start = ContinuousClock.now
                try await connection.send(#"{"jsonrpc":"2.0","#)
                #expect(try await connection.readLine() == nil)
                // Closed by the line timeout, long before the idle timeout could have done it.
                #expect(ContinuousClock.now - start < .seconds(60))
            }
        }
    }

    @Test("a connection waiting for a slow handler is not closed as idle, and its answer arrives")
    func slowHandlerIsNotIdle() async throws {
        var configuration = RPCServerConfiguration()
        configuration.idleTimeout = .seconds(5)
        let (gate, opener) = AsyncStream.makeStream(of: Void.self)
        var methods = specExampleMethods()
        methods.register("waitForGate", mutating: false) { _, _ in
            for await _ in gate { break }
            return "released"
        }
        try await withServer(methods: methods, configuration: configuration) { _, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"waitForGate","id":1}"#)
                // Longer than the idle timeout, with the request outstanding.
                try await Task.sleep(for: .seconds(6))
                opener.yield()
                #expect(try await connection.readJSON()["result"] == "released")
            }
        }
    }

    @Test("a slow request on one connection does not hold up another connection")
    func slowHandlerDoesNotStallOthers() async throws {
        let (gate, opener) = AsyncStream.makeStream(of: Void.self)
        var methods = specExampleMethods()
        methods.register("waitForGate", mutating: false) { _, _ in
            for await _ in gate { break }
            return "released"
        }
        try await withServer(methods: methods) { _, path in
            try await withConnection(to: path) { slow in
                try await slow.sendLine(#"{"jsonrpc":"2.0","method":"waitForGate","id":1}"#)
                // The slow request is held until the other client has been served three times.
                for _ in 0..<3 {
                    let answer = try await RPCClient(socketPath: path).call(method: "get_data")
                    #expect(answer == ["hello", 5])
                }
                opener.yield()
                #expect(try await slow.readJSON()["result"] == "released")
            }
        }
    }

    @Test("pipelined requests on one connection are answered in order")
    func pipelinedInOrder() async throws {
        try await withServer { _, path in
            try await withConnection(to: path) { connection in
                var lines = ""
                for (index, ms) in [300, 10, 150, 0, 50].enumerated() {
                    lines += #"{"jsonrpc":"2.0","method":"sleep","params":{"ms":\#(ms)},"id":\#(index)}"# + "\n"
                }
                try await connection.send(lines)
                for index in 0..<5 {
                    #expect(try await connection.readJSON()["id"] == .integer(Int64(index)))
                }
            }
        }
    }

    @Test("100 concurrent clients are all answered correctly")
    func hundredConcurrentClients() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxConnections = 128
        try await withServer(configuration: configuration) { _, path in
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let a = Int64(index * 3)
                        let result = try await RPCClient(socketPath: path).call(
                            method: "subtract", params: ["minuend": .integer(a), "subtrahend": 1])
                        return result == .integer(a - 1)
                    }
                }
                var correct = 0
                for try await ok in group where ok { correct += 1 }
                #expect(correct == 100)
            }
            // Only a pathological stall fails this; the machine running the suite may be busy.
            #expect(ContinuousClock.now - start < .seconds(60))
        }
    }

    @Test("a connection over the limit gets -32000 and is closed; the others are served")
    func tooManyConnections() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxConnections = 2
        try await withServer(configuration: configuration) { server, path in
            try await withConnection(to: path) { first in
                try await withConnection(to: path) { second in
                    try await first.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":1}"#)
                    try await second.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":2}"#)
                    #expect(try await first.readJSON()["id"] == 1)
                    #expect(try await second.readJSON()["id"] == 2)
                    try await withConnection(to: path) { third in
                        let refusal = try await third.readJSON()
                        #expect(refusal["error"]?["code"] == .integer(-32000))
                        #expect(try await third.readLine() == nil)
                    }
                    #expect(server.connectionCount == 2)
                }
            }
        }
    }

    @Test("the socket file is created with mode 0660 and removed at shutdown")
    func socketModeAndCleanup() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/control.sock"
        let server = try await RPCServer.bind(
            .path(path), methods: specExampleMethods(),
            authorisation: RPCAuthorisationPolicy(adminGroupID: nil), logger: testLogger)
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o660)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            #expect(try await RPCClient(socketPath: path).call(method: "get_data") == ["hello", 5])
            server.shutdown()
            try await group.waitForAll()
        }
        #expect(lstat(path, &info) != 0, "the socket file is left behind")
    }

    @Test("a stale socket file is replaced; a live server's socket is not")
    func staleAndLiveSockets() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/control.sock"
        // A stale socket: bound, never listening, closed.
        let stale = try makeUnixSocket(path: path, listening: false)
        close(stale)
        try await withServer { _, livePath in
            // Binding the path of a live server fails and leaves it serving.
            await #expect(throws: RPCListenError.self) {
                _ = try await RPCServer.bind(
                    .path(livePath), methods: MethodRegistry(), authorisation: .init(adminGroupID: nil),
                    logger: testLogger)
            }
            let answer = try await RPCClient(socketPath: livePath).call(method: "get_data")
            #expect(answer == ["hello", 5])
        }
        let server = try await RPCServer.bind(
            .path(path), methods: specExampleMethods(), authorisation: .init(adminGroupID: nil), logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            #expect(try await RPCClient(socketPath: path).call(method: "get_data") == ["hello", 5])
            server.shutdown()
            try await group.waitForAll()
        }
        // A regular file is never removed.
        let file = directory.path + "/not-a-socket"
        close(open(file, O_CREAT | O_WRONLY, 0o600))
        await #expect(throws: RPCListenError.self) {
            _ = try await RPCServer.bind(
                .path(file), methods: MethodRegistry(), authorisation: .init(adminGroupID: nil), logger: testLogger)
        }
        var info = stat()
        #expect(lstat(file, &info) == 0)
    }

    @Test("an inherited listening socket (socket activation) is adopted, and its file is left alone")
    func adoptedSocket() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/activated.sock"
        let fd = try makeUnixSocket(path: path, listening: true)
        let server = try await RPCServer.bind(
            .adopted(fileDescriptor: fd), methods: specExampleMethods(), authorisation: .init(adminGroupID: nil),
            logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            #expect(try await RPCClient(socketPath: path).call(method: "get_data") == ["hello", 5])
            server.shutdown()
            try await group.waitForAll()
        }
        var info = stat()
        #expect(lstat(path, &info) == 0, "systemd's socket file was removed")
    }

    @Test("shutdown answers requests already received, then run() returns")
    func gracefulShutdown() async throws {
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        var methods = specExampleMethods()
        methods.register("slowJob", mutating: false) { _, _ in
            startedContinuation.yield()
            try await Task.sleep(for: .milliseconds(300))
            return "finished"
        }
        try await withServer(methods: methods) { server, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"slowJob","id":1}"#)
                var iterator = started.makeAsyncIterator()
                _ = await iterator.next()
                server.shutdown()
                #expect(try await connection.readJSON()["result"] == "finished")
                #expect(try await connection.readLine() == nil)
            }
            await #expect(throws: RPCClientError.self) {
                _ = try await RPCClient(socketPath: path, timeout: .seconds(2)).call(method: "get_data")
            }
        }
    }

    @Test("the client returns results, throws server errors as JSONRPCError, and decodes typed results")
    func client() async throws {
        try await withServer { _, path in
            let client = RPCClient(socketPath: path)
            #expect(try await client.call(method: "subtract", params: [42, 23]) == 19)
            do {
                _ = try await client.call(method: "nope")
                Issue.record("no error thrown")
            } catch let error as JSONRPCError {
                #expect(error.code == JSONRPCError.Code.methodNotFound)
            }
            let started: RunStartedResult = try await client.call(
                method: GalaxyMethod.runDaily, params: RunDailyParams(date: .init(year: 2024, month: 3, day: 9)))
            #expect(started.runId == 9)
            let cancelled = try await client.call(
                method: GalaxyMethod.cancel, params: CancelParams(runId: 7), as: CancelResult.self)
            #expect(cancelled == CancelResult(runId: 7, state: "cancelling"))
            await #expect(throws: JSONRPCError.notFound("run 8 not found")) {
                _ = try await client.call(method: GalaxyMethod.cancel, params: CancelParams(runId: 8),
                                          as: CancelResult.self)
            }
            try await client.notify(method: "update")
        }
        await #expect(throws: RPCClientError.self) {
            _ = try await RPCClient(socketPath: "/tmp/no-such-dir-galaxy/x.sock").call(method: "status")
        }
    }
}

/// A Unix stream socket bound at `path` (and listening, if asked), made with plain system calls as systemd would.
func makeUnixSocket(path: String, listening: Bool) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw TestFailure("bind \(path) failed: errno \(errno)") }
    if listening { guard listen(fd, 16) == 0 else { throw TestFailure("listen failed") } }
    return fd
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
